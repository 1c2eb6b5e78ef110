use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::tenants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// The tenant of that name, created when missing (safe under concurrency).
pub async fn ensure_tenant(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values((tenants::id.eq(Uuid::now_v7()), tenants::name.eq(name)))
        .on_conflict(tenants::name)
        .do_nothing()
        .execute(conn)
        .await?;
    tenants::table
        .filter(tenants::name.eq(name))
        .select(Tenant::as_select())
        .get_result(conn)
        .await
}
