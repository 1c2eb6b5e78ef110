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

/// The statement behind a page of events, newest first. Its parameters
/// are, in order: the tenant, the page size, then those the filter uses
/// (the object id, the types) and the cursor when there is one. Each shape
/// walks one index and reads at most a page of entries per range, whatever
/// the tenant's number of events: one object's events by
/// `outbox_events_object`; some types by `outbox_events_type`, one range
/// per type merged by id; everything by the primary key.
pub fn page_statement(filter: &EventFilter, after: bool) -> String {
    let mut n = 2;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    match (&filter.types, filter.object_id) {
        (Some(_), None) => {
            let types = next();
            let after = if after {
                format!(" AND e.id < {}", next())
            } else {
                String::new()
            };
            format!(
                "SELECT p.* FROM unnest({types}::text[]) AS t(event_type)
                 CROSS JOIN LATERAL (
                     SELECT e.* FROM outbox_events e
                     WHERE e.tenant_id = $1 AND e.event_type = t.event_type{after}
                     ORDER BY e.id DESC LIMIT $2
                 ) p
                 ORDER BY p.id DESC LIMIT $2"
            )
        }
        (types, object_id) => {
            let mut sql = String::from("SELECT e.* FROM outbox_events e WHERE e.tenant_id = $1");
            if object_id.is_some() {
                sql.push_str(&format!(" AND e.object_id = {}", next()));
            }
            if types.is_some() {
                sql.push_str(&format!(" AND e.event_type = ANY({}::text[])", next()));
            }
            if after {
                sql.push_str(&format!(" AND e.id < {}", next()));
            }
            sql.push_str(" ORDER BY e.id DESC LIMIT $2");
            sql
        }
    }
}

/// One page of a tenant's events through `filter` (see [`page_statement`]),
/// after the event `after` (exclusive).
pub async fn page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OutboxEventRow>> {
    let mut query = diesel::sql_query(page_statement(filter, after.is_some()))
        .into_boxed::<Pg>()
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<BigInt, _>(limit);
    if let Some(object_id) = filter.object_id {
        query = query.bind::<SqlUuid, _>(object_id);
    }
    if let Some(types) = &filter.types {
        query = query.bind::<Array<Text>, _>(types.clone());
    }
    if let Some(after) = after {
        query = query.bind::<SqlUuid, _>(after);
    }
    query.load(conn).await
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

/// Events of the tenant by id, in no order.
pub async fn events_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<OutboxEventRow>> {
    outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant_id))
        .filter(outbox_events::id.eq_any(ids))
        .select(OutboxEventRow::as_select())
        .load(conn)
        .await
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
