//! The subscription_phases table: a subscription's plan and quantities over time.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::subscription_phases;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscription_phases, check_for_backend(Pg))]
pub struct PhaseRow {
    pub tenant_id: Uuid,
    pub subscription_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub plan_id: Uuid,
    /// Per fixed price id, a decimal string.
    pub quantities: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The phases of the given subscriptions, by subscription then start.
pub async fn phases_of(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<PhaseRow>> {
    subscription_phases::table
        .filter(subscription_phases::tenant_id.eq(tenant_id))
        .filter(subscription_phases::subscription_id.eq_any(ids))
        .order((subscription_phases::subscription_id, subscription_phases::starts_at))
        .select(PhaseRow::as_select())
        .load(conn)
        .await
}

/// Writes phases; one starting when another does replaces it.
pub async fn upsert(conn: &mut AsyncPgConnection, rows: &[PhaseRow]) -> QueryResult<()> {
    diesel::insert_into(subscription_phases::table)
        .values(rows)
        .on_conflict((
            subscription_phases::tenant_id,
            subscription_phases::subscription_id,
            subscription_phases::starts_at,
        ))
        .do_update()
        .set((
            subscription_phases::plan_id.eq(excluded(subscription_phases::plan_id)),
            subscription_phases::quantities.eq(excluded(subscription_phases::quantities)),
            subscription_phases::created_at.eq(excluded(subscription_phases::created_at)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes the phases of a subscription that start after `at`.
pub async fn delete_after(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    subscription_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        subscription_phases::table
            .filter(subscription_phases::tenant_id.eq(tenant_id))
            .filter(subscription_phases::subscription_id.eq(subscription_id))
            .filter(subscription_phases::starts_at.gt(at)),
    )
    .execute(conn)
    .await
}
