//! The outbox_events table.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::outbox_events;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = outbox_events, check_for_backend(Pg))]
pub struct OutboxEventRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub event_type: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &OutboxEventRow) -> QueryResult<()> {
    diesel::insert_into(outbox_events::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}
