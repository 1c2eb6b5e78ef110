//! The webhook_endpoints, webhook_deliveries and webhook_delivery_attempts
//! tables: endpoints, the delivery queue the workers claim from, and the
//! record of every attempt.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::outbox::OutboxEventRow;
use crate::db::prepared::{
    PageOrder, ParentPage, PreparedExt, load_parent_pages, load_rows_of_keys, parent_pages_sql, rows_of_keys_sql,
};
use crate::db::schema::{webhook_deliveries, webhook_delivery_attempts, webhook_endpoints};
use crate::domain::webhook::{AttemptOutcome, DeliveryStatus, EndpointStatus};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(Pg))]
pub struct WebhookEndpointRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Event type names, or `["*"]` for all.
    pub event_types: Vec<String>,
    pub status: EndpointStatus,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub secret_sealed: Vec<u8>,
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(Pg))]
pub struct WebhookDeliveryRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub leased_until: Option<DateTime<Utc>>,
    pub last_response_code: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = webhook_delivery_attempts, check_for_backend(Pg))]
pub struct WebhookAttemptRow {
    pub tenant_id: Uuid,
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub status: AttemptOutcome,
    pub response_code: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    pub attempted_at: DateTime<Utc>,
}

/// Returns the row as stored (timestamps at PostgreSQL's precision).
pub async fn insert_endpoint(
    conn: &mut AsyncPgConnection,
    row: &WebhookEndpointRow,
) -> QueryResult<WebhookEndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .returning(WebhookEndpointRow::as_returning())
        .get_result(conn)
        .await
}

/// The endpoint, locked until the transaction ends.
pub async fn endpoint_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<WebhookEndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .filter(webhook_endpoints::id.eq(id))
        .select(WebhookEndpointRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes back every field an endpoint's owner or its failures change, and
/// returns the row as stored (timestamps at PostgreSQL's precision).
pub async fn save_endpoint(conn: &mut AsyncPgConnection, row: &WebhookEndpointRow) -> QueryResult<WebhookEndpointRow> {
    diesel::update(webhook_endpoints::table)
        .filter(webhook_endpoints::tenant_id.eq(row.tenant_id))
        .filter(webhook_endpoints::id.eq(row.id))
        .set((
            webhook_endpoints::url.eq(&row.url),
            webhook_endpoints::description.eq(&row.description),
            webhook_endpoints::event_types.eq(&row.event_types),
            webhook_endpoints::status.eq(row.status),
            webhook_endpoints::disabled_at.eq(row.disabled_at),
            webhook_endpoints::disabled_reason.eq(&row.disabled_reason),
            webhook_endpoints::secret_sealed.eq(&row.secret_sealed),
            webhook_endpoints::previous_secret_sealed.eq(&row.previous_secret_sealed),
            webhook_endpoints::previous_secret_expires_at.eq(row.previous_secret_expires_at),
            webhook_endpoints::failing_since.eq(row.failing_since),
            webhook_endpoints::updated_at.eq(row.updated_at),
        ))
        .returning(WebhookEndpointRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the endpoint with its deliveries and their attempts.
pub async fn delete_endpoint(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table)
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .filter(webhook_endpoints::id.eq(id))
        .execute(conn)
        .await
}

pub async fn endpoints_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<WebhookEndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .filter(webhook_endpoints::id.eq_any(ids))
        .select(WebhookEndpointRow::as_select())
        .load(conn)
        .await
}

/// A page of the tenant's endpoints, oldest first.
pub async fn endpoint_page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WebhookEndpointRow>> {
    let mut query = webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .select(WebhookEndpointRow::as_select())
        .order(webhook_endpoints::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    query.load(conn).await
}

pub async fn endpoint_count(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<i64> {
    webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)
        .await
}

/// A new time-ordered (version 7) UUID, written in SQL for the rows an
/// INSERT ... SELECT creates (PostgreSQL 18 has `uuidv7()`; older ones do
/// not): the millisecond clock over the first 48 bits of a random UUID,
/// whose version nibble 4 becomes 7.
const UUID_V7_SQL: &str = "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) \
     placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) \
     FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid";

/// Queues a delivery of each event (its tenant, id and type) to every
/// enabled endpoint of its tenant subscribed to its type, due at `due`:
/// one statement for any number of events, which finds nothing to insert
/// (through the primary key) when the tenant has no endpoint.
pub async fn queue_deliveries(
    conn: &mut AsyncPgConnection,
    tenant_ids: &[Uuid],
    event_ids: &[Uuid],
    event_types: &[&str],
    due: DateTime<Utc>,
) -> QueryResult<usize> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO webhook_deliveries (tenant_id, id, event_id, endpoint_id, next_attempt_at)
             SELECT e.tenant_id, {UUID_V7_SQL}, ev.id, e.id, $4
             FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS ev(tenant_id, id, event_type)
             JOIN webhook_endpoints e ON e.tenant_id = ev.tenant_id
             WHERE e.status = 'ENABLED' AND (e.event_types = '{{*}}' OR ev.event_type = ANY (e.event_types))"
        )
    });
    diesel::sql_query(SQL.as_str())
        .bind::<Array<SqlUuid>, _>(tenant_ids)
        .bind::<Array<SqlUuid>, _>(event_ids)
        .bind::<Array<Text>, _>(event_types)
        .bind::<Timestamptz, _>(due)
        .prepared()
        .execute(conn)
        .await
}

/// A new delivery of an event already delivered (a replay), due at `due`.
pub async fn insert_delivery(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    event_id: Uuid,
    endpoint_id: Uuid,
    due: DateTime<Utc>,
) -> QueryResult<WebhookDeliveryRow> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::tenant_id.eq(tenant_id),
            webhook_deliveries::id.eq(Uuid::now_v7()),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::endpoint_id.eq(endpoint_id),
            webhook_deliveries::status.eq(DeliveryStatus::Pending),
            webhook_deliveries::next_attempt_at.eq(due),
        ))
        .returning(WebhookDeliveryRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn deliveries_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<WebhookDeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::id.eq_any(ids))
        .select(WebhookDeliveryRow::as_select())
        .load(conn)
        .await
}

/// Which of the tenant's deliveries a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
}

fn filtered_deliveries(tenant_id: Uuid, filter: DeliveryFilter) -> webhook_deliveries::BoxedQuery<'static, Pg> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(endpoint) = filter.endpoint_id {
        query = query.filter(webhook_deliveries::endpoint_id.eq(endpoint));
    }
    if let Some(event) = filter.event_id {
        query = query.filter(webhook_deliveries::event_id.eq(event));
    }
    if let Some(status) = filter.status {
        query = query.filter(webhook_deliveries::status.eq(status));
    }
    query
}

/// A page of the tenant's deliveries through `filter`, newest first.
pub async fn delivery_page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: DeliveryFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WebhookDeliveryRow>> {
    let mut query = filtered_deliveries(tenant_id, filter)
        .select(WebhookDeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(webhook_deliveries::id.lt(after));
    }
    query.load(conn).await
}

pub async fn delivery_count(conn: &mut AsyncPgConnection, tenant_id: Uuid, filter: DeliveryFilter) -> QueryResult<i64> {
    filtered_deliveries(tenant_id, filter).count().get_result(conn).await
}

/// A row answering the `idx`-th requested page (1-based).
#[derive(QueryableByName)]
pub struct IndexedDelivery {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub delivery: WebhookDeliveryRow,
}

/// Pages of deliveries, newest first, for many endpoints at once.
pub async fn delivery_pages_of_endpoints(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    pages: impl IntoIterator<Item = ParentPage>,
) -> QueryResult<Vec<IndexedDelivery>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        parent_pages_sql::<WebhookDeliveryRow>("webhook_deliveries", "endpoint_id", PageOrder::Descending)
    });
    load_parent_pages(conn, &SQL, tenant_id, pages).await
}

#[derive(QueryableByName)]
struct EndpointCount {
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many deliveries each endpoint has.
pub async fn delivery_counts_of_endpoints(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    endpoint_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64)>> {
    let rows: Vec<EndpointCount> = diesel::sql_query(
        "SELECT k.endpoint_id, n.count FROM unnest($2::uuid[]) AS k(endpoint_id)
         CROSS JOIN LATERAL (
             SELECT count(*) AS count FROM webhook_deliveries d
             WHERE d.tenant_id = $1 AND d.endpoint_id = k.endpoint_id
         ) n",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(endpoint_ids)
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.endpoint_id, r.count)).collect())
}

/// The attempts of many deliveries, in order.
pub async fn attempts_of_deliveries(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    delivery_ids: &[Uuid],
) -> QueryResult<Vec<WebhookAttemptRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        rows_of_keys_sql::<WebhookAttemptRow>("webhook_delivery_attempts", "delivery_id", "r.delivery_id, r.attempt")
    });
    load_rows_of_keys(conn, &SQL, tenant_id, delivery_ids).await
}

/// A delivery a worker has claimed, with what sending it takes.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedDelivery {
    #[diesel(embed)]
    pub event: OutboxEventRow,
    #[diesel(sql_type = SqlUuid)]
    pub delivery_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    /// Attempts made before this one.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Bytea)]
    pub secret_sealed: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub previous_secret_sealed: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// An endpoint and how many of its deliveries this worker is sending.
#[derive(Debug, Clone, Copy)]
pub struct BusyEndpoint {
    pub endpoint_id: Uuid,
    pub in_flight: i64,
}

/// Leases up to `limit` deliveries due at `now` until `lease_until`, at
/// most `per_endpoint` per endpoint counting those in `busy`, oldest due
/// first, skipping rows another worker is claiming. One statement: once it
/// commits no other worker takes these deliveries before the lease ends.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
    per_endpoint: i64,
    busy: &[BusyEndpoint],
) -> QueryResult<Vec<ClaimedDelivery>> {
    let busy_ids: Vec<Uuid> = busy.iter().map(|b| b.endpoint_id).collect();
    let busy_counts: Vec<i64> = busy.iter().map(|b| b.in_flight).collect();
    diesel::sql_query(
        "WITH candidates AS (
             SELECT d.tenant_id, d.id, d.next_attempt_at,
                    row_number() OVER (PARTITION BY d.tenant_id, d.endpoint_id ORDER BY d.next_attempt_at, d.id)
                      + COALESCE(b.in_flight, 0) AS slot
             FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
             LEFT JOIN unnest($5::uuid[], $6::int8[]) AS b(endpoint_id, in_flight) ON b.endpoint_id = d.endpoint_id
             WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1
               AND (d.leased_until IS NULL OR d.leased_until <= $1)
               AND e.status = 'ENABLED'
         ),
         picked AS (
             SELECT d.tenant_id, d.id FROM webhook_deliveries d
             WHERE (d.tenant_id, d.id) IN (
                 SELECT tenant_id, id FROM candidates WHERE slot <= $4 ORDER BY next_attempt_at LIMIT $3
             )
               -- Checked again on the row as locked: another worker may have
               -- claimed it, or sent it and scheduled its next attempt, since.
               AND d.status = 'PENDING' AND d.next_attempt_at <= $1
               AND (d.leased_until IS NULL OR d.leased_until <= $1)
             FOR UPDATE OF d SKIP LOCKED
         ),
         claimed AS (
             UPDATE webhook_deliveries d SET leased_until = $2
             FROM picked p WHERE d.tenant_id = p.tenant_id AND d.id = p.id
             RETURNING d.tenant_id, d.id, d.event_id, d.endpoint_id, d.attempts
         )
         SELECT o.tenant_id, o.id, o.event_type, o.object_type, o.object_id, o.occurred_at, o.data,
                c.id AS delivery_id, c.endpoint_id, c.attempts, e.url, e.secret_sealed,
                e.previous_secret_sealed, e.previous_secret_expires_at
         FROM claimed c
         JOIN outbox_events o ON o.tenant_id = c.tenant_id AND o.id = c.event_id
         JOIN webhook_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(per_endpoint)
    .bind::<Array<SqlUuid>, _>(busy_ids)
    .bind::<Array<BigInt>, _>(busy_counts)
    .prepared()
    .load(conn)
    .await
}

/// Records an attempt. False when that attempt number was recorded
/// already (a worker whose lease ran out answering late): nothing changes.
pub async fn insert_attempt(conn: &mut AsyncPgConnection, row: &WebhookAttemptRow) -> QueryResult<bool> {
    let inserted = diesel::insert_into(webhook_delivery_attempts::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// The delivery after `attempt`: its outcome, the next attempt (None when
/// settled), and the lease released.
pub async fn settle_attempt(
    conn: &mut AsyncPgConnection,
    attempt: &WebhookAttemptRow,
    status: DeliveryStatus,
    next_attempt_at: Option<DateTime<Utc>>,
) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table)
        .filter(webhook_deliveries::tenant_id.eq(attempt.tenant_id))
        .filter(webhook_deliveries::id.eq(attempt.delivery_id))
        .filter(webhook_deliveries::attempts.eq(attempt.attempt - 1))
        .set((
            webhook_deliveries::attempts.eq(attempt.attempt),
            webhook_deliveries::status.eq(status),
            webhook_deliveries::next_attempt_at.eq(next_attempt_at),
            webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::last_response_code.eq(attempt.response_code),
            webhook_deliveries::last_duration_ms.eq(attempt.duration_ms),
            webhook_deliveries::last_error.eq(&attempt.error),
            webhook_deliveries::last_attempted_at.eq(attempt.attempted_at),
        ))
        .execute(conn)
        .await
}
