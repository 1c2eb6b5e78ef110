//! The events table: bulk idempotent inserts and the raw-event listing.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::events;
use crate::db::usage_rollups::insert_events_sql;
use crate::domain::event::ValidEvent;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(Pg))]
pub struct EventRow {
    pub tenant_id: Uuid,
    pub event_id: String,
    pub event_name: String,
    pub external_customer_id: String,
    pub timestamp: DateTime<Utc>,
    pub properties: serde_json::Value,
    pub source: Option<String>,
    pub ingested_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = Text)]
    event_id: String,
}

/// Inserts a batch in one statement; events whose id the tenant already
/// has are skipped. Returns the ids actually inserted.
pub async fn insert_batch(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    batch: &[ValidEvent],
) -> QueryResult<Vec<String>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
    let names: Vec<&str> = batch.iter().map(|e| e.event_name.as_str()).collect();
    let customers: Vec<&str> = batch.iter().map(|e| e.external_customer_id.as_str()).collect();
    let timestamps: Vec<DateTime<Utc>> = batch.iter().map(|e| e.timestamp).collect();
    let properties: Vec<&serde_json::Value> = batch.iter().map(|e| &e.properties).collect();
    let sources: Vec<Option<&str>> = batch.iter().map(|e| e.source.as_deref()).collect();
    let sql = insert_events_sql();
    let rows: Vec<InsertedId> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(names)
        .bind::<Array<Text>, _>(customers)
        .bind::<Array<Timestamptz>, _>(timestamps)
        .bind::<Array<Jsonb>, _>(properties)
        .bind::<Array<Nullable<Text>>, _>(sources)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.event_id).collect())
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub external_customer_id: Option<String>,
    pub event_name: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Position in the listing: newest first, ties by event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPosition {
    pub timestamp: DateTime<Utc>,
    pub event_id: String,
}

fn filtered(tenant_id: Uuid, filter: &EventFilter) -> events::BoxedQuery<'static, Pg> {
    let mut query = events::table.filter(events::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(customer) = &filter.external_customer_id {
        query = query.filter(events::external_customer_id.eq(customer.clone()));
    }
    if let Some(name) = &filter.event_name {
        query = query.filter(events::event_name.eq(name.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(events::timestamp.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(events::timestamp.lt(to));
    }
    query
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &EventFilter,
    after: Option<&EventPosition>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = filtered(tenant_id, filter);
    if let Some(after) = after {
        query = query.filter(
            events::timestamp.lt(after.timestamp).or(events::timestamp
                .eq(after.timestamp)
                .and(events::event_id.lt(after.event_id.clone()))),
        );
    }
    query
        .order((events::timestamp.desc(), events::event_id.desc()))
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, tenant_id: Uuid, filter: &EventFilter) -> QueryResult<i64> {
    filtered(tenant_id, filter).count().get_result(conn).await
}

/// Whether any event names this external customer id.
pub async fn exist_for_customer(conn: &mut AsyncPgConnection, tenant_id: Uuid, external_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        events::table
            .filter(events::tenant_id.eq(tenant_id))
            .filter(events::external_customer_id.eq(external_id)),
    ))
    .get_result(conn)
    .await
}
