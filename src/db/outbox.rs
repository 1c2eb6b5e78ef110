//! The outbox_events table.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
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

/// Inserts many events in one statement (the billing run's batches).
pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[OutboxEventRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&OutboxEventRow) -> Uuid| rows.iter().map(f).collect::<Vec<Uuid>>();
    let text = |f: fn(&OutboxEventRow) -> &str| rows.iter().map(|r| f(r).to_string()).collect::<Vec<String>>();
    diesel::sql_query(
        "INSERT INTO outbox_events (tenant_id, id, event_type, object_type, object_id, occurred_at, data)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[], $7::jsonb[])",
    )
    .bind::<Array<SqlUuid>, _>(column(|r| r.tenant_id))
    .bind::<Array<SqlUuid>, _>(column(|r| r.id))
    .bind::<Array<Text>, _>(text(|r| &r.event_type))
    .bind::<Array<Text>, _>(text(|r| &r.object_type))
    .bind::<Array<SqlUuid>, _>(column(|r| r.object_id))
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| r.data.clone()).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(drop)
}

/// Which of a tenant's events a page holds. `types: None` is every type;
/// `Some` of an empty list matches nothing (the caller answers that itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventFilter {
    pub types: Option<Vec<String>>,
    pub object_id: Option<Uuid>,
}

/// One page of a tenant's events through `filter`, newest first, after
/// the event `after` (exclusive). Each shape walks one index and reads at
/// most `limit` entries per range, whatever the tenant's number of events:
/// one object's events by `outbox_events_object`; some types by
/// `outbox_events_type`, one range per type merged by id; everything by
/// the primary key.
pub async fn page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OutboxEventRow>> {
    use outbox_events as e;
    match (&filter.types, filter.object_id) {
        (Some(types), None) => page_of_types(conn, tenant_id, types, after, limit).await,
        (types, object_id) => {
            let mut query = e::table
                .filter(e::tenant_id.eq(tenant_id))
                .select(OutboxEventRow::as_select())
                .order(e::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(object_id) = object_id {
                query = query.filter(e::object_id.eq(object_id));
            }
            if let Some(types) = types {
                query = query.filter(e::event_type.eq_any(types.clone()));
            }
            if let Some(after) = after {
                query = query.filter(e::id.lt(after));
            }
            query.load(conn).await
        }
    }
}

/// The newest events of some types: the newest `limit` of each type (one
/// index range each), then the newest `limit` of those.
async fn page_of_types(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    types: &[String],
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OutboxEventRow>> {
    const SQL: &str = "SELECT p.* FROM unnest($2::text[]) AS t(event_type)
         CROSS JOIN LATERAL (
             SELECT e.* FROM outbox_events e
             WHERE e.tenant_id = $1 AND e.event_type = t.event_type {after}
             ORDER BY e.id DESC LIMIT $3
         ) p
         ORDER BY p.id DESC LIMIT $3";
    let query = |after: &str| diesel::sql_query(SQL.replace("{after}", after));
    match after {
        None => {
            query("")
                .bind::<SqlUuid, _>(tenant_id)
                .bind::<Array<Text>, _>(types)
                .bind::<BigInt, _>(limit)
                .load(conn)
                .await
        }
        Some(after) => {
            query("AND e.id < $4")
                .bind::<SqlUuid, _>(tenant_id)
                .bind::<Array<Text>, _>(types)
                .bind::<BigInt, _>(limit)
                .bind::<SqlUuid, _>(after)
                .load(conn)
                .await
        }
    }
}

/// How many of a tenant's events `filter` matches.
pub async fn count(conn: &mut AsyncPgConnection, tenant_id: Uuid, filter: &EventFilter) -> QueryResult<i64> {
    use outbox_events as e;
    let mut query = e::table
        .filter(e::tenant_id.eq(tenant_id))
        .select(diesel::dsl::count_star())
        .into_boxed();
    if let Some(object_id) = filter.object_id {
        query = query.filter(e::object_id.eq(object_id));
    }
    if let Some(types) = &filter.types {
        query = query.filter(e::event_type.eq_any(types.clone()));
    }
    query.get_result(conn).await
}

/// One tenant event by id.
pub async fn find(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<OutboxEventRow>> {
    outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant_id))
        .filter(outbox_events::id.eq(id))
        .select(OutboxEventRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Deletes at most `limit` events, of any tenant, that occurred before
/// `cutoff`; returns how many.
pub async fn delete_older_than(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM outbox_events o USING (
             SELECT tenant_id, id FROM outbox_events WHERE occurred_at < $1 LIMIT $2
         ) old
         WHERE o.tenant_id = old.tenant_id AND o.id = old.id",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}
