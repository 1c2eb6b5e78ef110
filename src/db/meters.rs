//! The meters table.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::meters;
use crate::domain::meter::Aggregation;
use crate::domain::stored::RecordStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = meters, check_for_backend(Pg))]
pub struct MeterRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub event_name: String,
    pub aggregation: Aggregation,
    pub property: Option<String>,
    pub filters: serde_json::Value,
    pub status: RecordStatus,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &MeterRow) -> QueryResult<MeterRow> {
    diesel::insert_into(meters::table)
        .values(row)
        .returning(MeterRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<MeterRow>> {
    meters::table
        .filter(meters::tenant_id.eq(tenant_id))
        .filter(meters::id.eq_any(ids))
        .select(MeterRow::as_select())
        .load(conn)
        .await
}

/// One page in creation order; `status` None lists all.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    status: Option<RecordStatus>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<MeterRow>> {
    let mut query = meters::table.filter(meters::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(status) = status {
        query = query.filter(meters::status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(meters::id.gt(after));
    }
    query
        .order(meters::id)
        .limit(limit)
        .select(MeterRow::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, tenant_id: Uuid, status: Option<RecordStatus>) -> QueryResult<i64> {
    let mut query = meters::table.filter(meters::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(status) = status {
        query = query.filter(meters::status.eq(status));
    }
    query.count().get_result(conn).await
}

/// The ids of the tenant's active meters, for usage without a meter list.
pub async fn active_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    meters::table
        .filter(meters::tenant_id.eq(tenant_id))
        .filter(meters::status.eq(RecordStatus::Active))
        .order(meters::id)
        .select(meters::id)
        .load(conn)
        .await
}

/// Archives the meter (idempotent); None when it does not exist.
pub async fn archive(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<MeterRow>> {
    let target = meters::table
        .filter(meters::tenant_id.eq(tenant_id))
        .filter(meters::id.eq(id));
    diesel::update(target.filter(meters::status.eq(RecordStatus::Active)))
        .set((
            meters::status.eq(RecordStatus::Archived),
            meters::archived_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    target.select(MeterRow::as_select()).first(conn).await.optional()
}
