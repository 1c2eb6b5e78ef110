//! The usage rollups (`usage_buckets`): what the events of dyadic day
//! buckets and of single hours add up to, per meter and external customer
//! id (see the migrations `usage_buckets` and `hour_buckets`, and
//! `domain::usage::day_buckets`).
//!
//! A day is rolled up in slices (the current day a quarter hour at a
//! time), each in two steps (`start_slice`, then `roll_up_slice`); once
//! the first step of a slice is done, the statement that inserts an event
//! before the slice's end also adds it to the buckets. `usage_days` records how far each day
//! is rolled up. Ingestion holds the tenant's ingestion lock shared; only
//! the first step (a one-row update) holds it exclusively, so no event can
//! fall between the worker and ingestion while ingestion hardly waits.

use diesel::prelude::*;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Value ids below this are kept as bits of a bitmap, the rest in an array.
pub const BITMAP_IDS: i32 = 4096;

/// Common table expressions (to put in a top-level WITH; names start with
/// `p`) that add the events of relation `source` (event_id, event_name,
/// external_customer_id, "timestamp", properties) for the meters matching
/// `meter_condition` to every level of their day's buckets and to their
/// hour's bucket, giving new UNIQUE_COUNT values their dictionary ids. Rows
/// are written in key order, so concurrent writers lock them in one order.
pub fn rollup_ctes(p: &str, source: &str, meter_condition: &str) -> String {
    const NEWER: &str = "EXCLUDED.latest_at IS NOT NULL AND (u.latest_at IS NULL
        OR (EXCLUDED.latest_at, EXCLUDED.latest_event_id) > (u.latest_at, u.latest_event_id))";
    const LATEST: &str = "FILTER (WHERE e.counts AND e.aggregation = 'LATEST'))[1]";
    // Adds up rows `d` of the bucket columns into a coarser bucket.
    const MERGED: &str = "sum(d.event_count) AS event_count, sum(d.skipped) AS skipped,
                    sum(d.total) AS total, max(d.maximum) AS maximum,
                    (array_agg(d.latest_at ORDER BY d.latest_at DESC, d.latest_event_id DESC)
                        FILTER (WHERE d.latest_at IS NOT NULL))[1] AS latest_at,
                    (array_agg(d.latest_event_id ORDER BY d.latest_at DESC, d.latest_event_id DESC)
                        FILTER (WHERE d.latest_at IS NOT NULL))[1] AS latest_event_id,
                    (array_agg(d.latest_value ORDER BY d.latest_at DESC, d.latest_event_id DESC)
                        FILTER (WHERE d.latest_at IS NOT NULL))[1] AS latest_value,
                    bit_or(d.bits) AS bits, max(d.top_id) AS top_id";
    format!(
        "{p}ev AS (
             SELECT e.external_customer_id AS ext,
                    floor(extract(epoch FROM e.\"timestamp\") / 86400)::int AS day_num,
                    floor(extract(epoch FROM e.\"timestamp\") / 3600)::int AS hour_num,
                    e.\"timestamp\" AS at, e.event_id, m.id AS meter_id, m.aggregation, v.raw_value, v.num, v.counts
             FROM {source} e
             JOIN meters m ON m.tenant_id = $1 AND m.event_name = e.event_name AND {meter_condition}
             CROSS JOIN LATERAL (
                 SELECT e.properties ->> m.property AS raw_value,
                        CASE WHEN m.aggregation IN ('SUM', 'MAX', 'AVG', 'LATEST')
                             THEN billgraph_property_number(e.properties, m.property) END AS num
             ) n
             CROSS JOIN LATERAL (
                 SELECT n.raw_value, n.num,
                        CASE m.aggregation
                            WHEN 'COUNT' THEN true
                            WHEN 'UNIQUE_COUNT' THEN n.raw_value IS NOT NULL
                            ELSE n.num IS NOT NULL
                        END AS counts
             ) v
             WHERE m.filters = '[]'::jsonb OR billgraph_filters_match(m.filters, e.properties)
         ), {p}vals AS (
             SELECT DISTINCT meter_id, raw_value FROM {p}ev WHERE aggregation = 'UNIQUE_COUNT' AND counts
         ), {p}known AS (
             SELECT v.meter_id, v.raw_value, d.id FROM {p}vals v
             JOIN usage_value_ids d ON d.tenant_id = $1 AND d.meter_id = v.meter_id AND d.value = v.raw_value
         ), {p}fresh AS (
             SELECT v.meter_id, v.raw_value,
                    row_number() OVER (PARTITION BY v.meter_id ORDER BY v.raw_value) AS n,
                    count(*) OVER (PARTITION BY v.meter_id) AS cnt
             FROM {p}vals v
             WHERE NOT EXISTS (SELECT 1 FROM {p}known k WHERE k.meter_id = v.meter_id AND k.raw_value = v.raw_value)
         ), {p}counters AS (
             -- Ids are taken from a per-meter counter; its row lock orders
             -- concurrent writers.
             INSERT INTO usage_value_counters AS c (tenant_id, meter_id, next_id)
             SELECT $1, meter_id, max(cnt) FROM {p}fresh GROUP BY meter_id ORDER BY meter_id
             ON CONFLICT (tenant_id, meter_id) DO UPDATE SET next_id = c.next_id + EXCLUDED.next_id
             RETURNING meter_id, next_id
         ), {p}assigned AS (
             -- A value given an id meanwhile by another writer keeps that id.
             INSERT INTO usage_value_ids AS d (tenant_id, meter_id, value, id)
             SELECT $1, f.meter_id, f.raw_value, (c.next_id - f.cnt + f.n - 1)::int
             FROM {p}fresh f JOIN {p}counters c ON c.meter_id = f.meter_id
             ORDER BY f.meter_id, f.raw_value
             ON CONFLICT (tenant_id, meter_id, value) DO UPDATE SET value = EXCLUDED.value
             RETURNING meter_id, value AS raw_value, id
         ), {p}ids AS (
             SELECT meter_id, raw_value, id FROM {p}known
             UNION ALL
             SELECT meter_id, raw_value, id FROM {p}assigned
         ), {p}valued AS (
             SELECT e.*, i.id AS value_id FROM {p}ev e
             LEFT JOIN {p}ids i ON e.aggregation = 'UNIQUE_COUNT' AND e.counts
                 AND i.meter_id = e.meter_id AND i.raw_value = e.raw_value
         ), {p}hours AS (
             SELECT e.meter_id, e.ext, e.day_num, e.hour_num,
                    count(*) FILTER (WHERE e.counts) AS event_count,
                    count(*) FILTER (WHERE NOT e.counts) AS skipped,
                    sum(e.num) AS total,
                    max(e.num) AS maximum,
                    (array_agg(e.at ORDER BY e.at DESC, e.event_id DESC) {LATEST} AS latest_at,
                    (array_agg(e.event_id ORDER BY e.at DESC, e.event_id DESC) {LATEST} AS latest_event_id,
                    (array_agg(e.num ORDER BY e.at DESC, e.event_id DESC) {LATEST} AS latest_value,
                    bit_or(set_bit(B'0'::bit({BITMAP_IDS}), CASE WHEN e.value_id < {BITMAP_IDS} THEN e.value_id END, 1))
                        FILTER (WHERE e.value_id < {BITMAP_IDS}) AS bits,
                    max(e.value_id) FILTER (WHERE e.value_id < {BITMAP_IDS}) AS top_id,
                    array_agg(DISTINCT e.value_id ORDER BY e.value_id) FILTER (WHERE e.value_id IS NOT NULL) AS ids
             FROM {p}valued e
             GROUP BY e.meter_id, e.ext, e.day_num, e.hour_num
         ), {p}days AS (
             SELECT d.meter_id, d.ext, d.day_num, {MERGED}
             FROM {p}hours d
             GROUP BY d.meter_id, d.ext, d.day_num
         ), {p}fan AS (
             SELECT d.meter_id, d.ext, l AS level, (d.day_num >> l) << l AS start_day, {MERGED}
             FROM {p}days d CROSS JOIN generate_series(0, 9) l
             GROUP BY 1, 2, 3, 4
         ), {p}fan_ids AS (
             SELECT e.meter_id, e.ext, l AS level, (e.day_num >> l) << l AS start_day,
                    array_agg(DISTINCT e.value_id ORDER BY e.value_id) AS ids
             FROM {p}valued e CROSS JOIN generate_series(0, 9) l
             WHERE e.value_id >= {BITMAP_IDS}
             GROUP BY 1, 2, 3, 4
         ), {p}written AS (
             INSERT INTO usage_buckets AS u (tenant_id, external_customer_id, level, start_day, meter_id,
                                             event_count, skipped, total, maximum, latest_at, latest_event_id,
                                             latest_value, value_bits, value_ids)
             SELECT $1::uuid, * FROM (
                 SELECT f.ext, f.level, f.start_day, f.meter_id, f.event_count, f.skipped, f.total, f.maximum,
                        f.latest_at, f.latest_event_id, f.latest_value,
                        substring(f.bits FROM 1 FOR f.top_id + 1) AS bits, fi.ids
                 FROM {p}fan f LEFT JOIN {p}fan_ids fi USING (meter_id, ext, level, start_day)
                 UNION ALL
                 SELECT h.ext, -1, h.hour_num, h.meter_id, h.event_count, h.skipped, h.total, h.maximum,
                        h.latest_at, h.latest_event_id, h.latest_value, NULL, h.ids
                 FROM {p}hours h
             ) r
             ORDER BY r.ext, r.level, r.start_day, r.meter_id
             ON CONFLICT (tenant_id, external_customer_id, level, start_day, meter_id) DO UPDATE SET
                 event_count = u.event_count + EXCLUDED.event_count,
                 skipped = u.skipped + EXCLUDED.skipped,
                 total = CASE WHEN u.total IS NULL THEN EXCLUDED.total
                              WHEN EXCLUDED.total IS NULL THEN u.total
                              ELSE u.total + EXCLUDED.total END,
                 maximum = GREATEST(u.maximum, EXCLUDED.maximum),
                 latest_at = CASE WHEN {NEWER} THEN EXCLUDED.latest_at ELSE u.latest_at END,
                 latest_event_id = CASE WHEN {NEWER} THEN EXCLUDED.latest_event_id ELSE u.latest_event_id END,
                 latest_value = CASE WHEN {NEWER} THEN EXCLUDED.latest_value ELSE u.latest_value END,
                 value_bits = billgraph_bits_or(u.value_bits, EXCLUDED.value_bits),
                 value_ids = billgraph_ids_union(u.value_ids, EXCLUDED.value_ids)
             RETURNING 1
         )"
    )
}

/// Ingestion holds this lock shared; creating a meter and the first step of
/// a day's rollup hold it exclusively.
pub async fn lock_ingestion(conn: &mut AsyncPgConnection, tenant_id: Uuid, exclusive: bool) -> QueryResult<()> {
    let function = if exclusive {
        "pg_advisory_xact_lock"
    } else {
        "pg_advisory_xact_lock_shared"
    };
    diesel::sql_query(format!(
        "SELECT {function}(hashtextextended('billgraph.ingestion:' || $1::text, 0))"
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .execute(conn)
    .await
    .map(drop)
}

/// Like [`lock_ingestion`] exclusively, but gives up (false) after
/// `timeout_ms`: while an exclusive request waits, new batches queue behind
/// it, so a worker must not wait long.
pub async fn lock_ingestion_within(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    timeout_ms: u32,
) -> QueryResult<bool> {
    diesel::sql_query(format!("SET LOCAL lock_timeout = {timeout_ms}"))
        .execute(conn)
        .await?;
    let locked = match lock_ingestion(conn, tenant_id, true).await {
        Ok(()) => true,
        Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("lock timeout") => false,
        Err(e) => return Err(e),
    };
    Ok(locked)
}

/// Rolls up, for a new meter, the events already in the buckets of other
/// meters: those before their day's rolled_to, and those that ingestion
/// added itself to a slice being rolled up (the worker adds the rest of the
/// slice, new meter included). Call holding the ingestion lock exclusively.
pub async fn backfill_meter(conn: &mut AsyncPgConnection, tenant_id: Uuid, meter_id: Uuid) -> QueryResult<usize> {
    let source = "(SELECT ev.* FROM events ev
          JOIN usage_days d ON d.tenant_id = ev.tenant_id AND d.rolling_to > d.day
              AND d.day = date_trunc('day', ev.\"timestamp\", 'UTC')
          WHERE ev.tenant_id = $1
            AND ev.event_name = (SELECT event_name FROM meters WHERE tenant_id = $1 AND id = $2)
            AND (ev.\"timestamp\" < d.rolled_to OR (ev.\"timestamp\" < d.rolling_to AND EXISTS (
                SELECT 1 FROM usage_rolling_events r
                WHERE r.tenant_id = $1 AND r.day = d.day AND r.event_id = ev.event_id))))";
    let sql = format!(
        "WITH {} SELECT count(*) AS n FROM b_written",
        rollup_ctes("b_", source, "m.id = $2")
    );
    let written: Count = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(meter_id)
        .get_result(conn)
        .await?;
    Ok(written.n as usize)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The SQL that stores a batch of events (arrays $2..$7 for tenant $1),
/// records their days, and adds the events of slices being rolled up or
/// rolled up already to the buckets (listing those of slices being rolled
/// up, which the worker must leave out). Returns the ids of the events
/// inserted.
pub fn insert_events_sql() -> String {
    let late_events = "(SELECT i.* FROM inserted i
          JOIN usage_days d ON d.tenant_id = $1 AND d.day = date_trunc('day', i.\"timestamp\", 'UTC')
              AND i.\"timestamp\" < d.rolling_to)";
    let late = rollup_ctes("late_", late_events, "true");
    format!(
        "WITH inserted AS (
             INSERT INTO events (tenant_id, event_id, event_name, external_customer_id, \"timestamp\", properties, source)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[])
             ON CONFLICT (tenant_id, event_id) DO NOTHING
             RETURNING event_id, event_name, external_customer_id, \"timestamp\", properties
         ), days AS (
             INSERT INTO usage_days (tenant_id, day, rolling_to, rolled_to)
             SELECT DISTINCT $1::uuid, date_trunc('day', \"timestamp\", 'UTC') AS day,
                    date_trunc('day', \"timestamp\", 'UTC'), date_trunc('day', \"timestamp\", 'UTC')
             FROM inserted ORDER BY 2
             ON CONFLICT (tenant_id, day) DO NOTHING
         ), rolling AS (
             INSERT INTO usage_rolling_events (tenant_id, day, event_id)
             SELECT $1, d.day, i.event_id FROM inserted i
             JOIN usage_days d ON d.tenant_id = $1 AND d.day = date_trunc('day', i.\"timestamp\", 'UTC')
                 AND i.\"timestamp\" >= d.rolled_to AND i.\"timestamp\" < d.rolling_to
             ORDER BY 2, 3
             ON CONFLICT DO NOTHING
         ), {late}
         SELECT event_id FROM inserted"
    )
}

#[derive(QueryableByName, Debug, Clone, Copy)]
pub struct PendingDay {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub day: chrono::DateTime<chrono::Utc>,
    /// The buckets hold the day's events before this instant.
    #[diesel(sql_type = Timestamptz)]
    pub rolled_to: chrono::DateTime<chrono::Utc>,
    /// Ingestion adds the day's new events before this instant itself.
    #[diesel(sql_type = Timestamptz)]
    pub rolling_to: chrono::DateTime<chrono::Utc>,
}

/// Days whose events before `cutoff` are not all rolled up, oldest first.
pub async fn pending_days(
    conn: &mut AsyncPgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<Vec<PendingDay>> {
    diesel::sql_query(
        "SELECT tenant_id, day, rolled_to, rolling_to FROM usage_days
         WHERE NOT rolled_up AND day < $1 AND rolled_to < LEAST(day + interval '24 hours', $1)
         ORDER BY day, tenant_id LIMIT $2",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// Where the earliest day with usage before `cutoff` still to roll up
/// stands (its `rolled_to`); None when the rollups are current. Reads only the
/// days not rolled up (the partial index `usage_days_pending`).
pub async fn oldest_pending(
    conn: &mut AsyncPgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Option<chrono::DateTime<chrono::Utc>>> {
    #[derive(QueryableByName)]
    struct Oldest {
        #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
        rolled_to: Option<chrono::DateTime<chrono::Utc>>,
    }
    let oldest: Oldest = diesel::sql_query(
        "SELECT min(rolled_to) AS rolled_to FROM usage_days
         WHERE NOT rolled_up AND day < $1 AND rolled_to < LEAST(day + interval '24 hours', $1)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .get_result(conn)
    .await?;
    Ok(oldest.rolled_to)
}

/// The first step of a slice: from now on ingestion adds the day's new
/// events before `to` to the buckets itself. The day's first slice also
/// marks it `hourly`: no bucket holds its events yet, and every writer from
/// now on writes their hours too. Call inside a transaction holding the
/// ingestion lock exclusively (no batch is then half-way), and commit at
/// once.
pub async fn start_slice(
    conn: &mut AsyncPgConnection,
    day: PendingDay,
    to: chrono::DateTime<chrono::Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE usage_days SET rolling_to = $3, hourly = hourly OR rolling_to = day
         WHERE tenant_id = $1 AND day = $2 AND rolling_to < $3",
    )
    .bind::<SqlUuid, _>(day.tenant_id)
    .bind::<Timestamptz, _>(day.day)
    .bind::<Timestamptz, _>(to)
    .execute(conn)
    .await
    .map(drop)
}

/// The second step: adds to the buckets the events of the slice
/// [rolled_to, rolling_to) that ingestion did not add, and moves rolled_to
/// on. Call inside a transaction holding the ingestion lock shared (so no
/// meter is created meanwhile), after [`start_slice`] committed. Returns
/// whether the day is now rolled up whole.
pub async fn roll_up_slice(conn: &mut AsyncPgConnection, day: PendingDay) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = Timestamptz)]
        rolled_to: chrono::DateTime<chrono::Utc>,
        #[diesel(sql_type = Timestamptz)]
        rolling_to: chrono::DateTime<chrono::Utc>,
    }
    // The row lock makes concurrent workers take turns.
    let claimed: Option<Claimed> =
        diesel::sql_query("SELECT rolled_to, rolling_to FROM usage_days WHERE tenant_id = $1 AND day = $2 FOR UPDATE")
            .bind::<SqlUuid, _>(day.tenant_id)
            .bind::<Timestamptz, _>(day.day)
            .get_result(conn)
            .await
            .optional()?;
    let Some(claimed) = claimed else {
        return Ok(false);
    };
    if claimed.rolled_to < claimed.rolling_to {
        let source = "(SELECT ev.* FROM events ev
              WHERE ev.tenant_id = $1 AND ev.\"timestamp\" >= $2 AND ev.\"timestamp\" < $3
                AND NOT EXISTS (SELECT 1 FROM usage_rolling_events r
                                WHERE r.tenant_id = $1 AND r.day = $4 AND r.event_id = ev.event_id))";
        let sql = format!(
            "WITH {} SELECT count(*) AS n FROM d_written",
            rollup_ctes("d_", source, "true")
        );
        let _: Count = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(day.tenant_id)
            .bind::<Timestamptz, _>(claimed.rolled_to)
            .bind::<Timestamptz, _>(claimed.rolling_to)
            .bind::<Timestamptz, _>(day.day)
            .get_result(conn)
            .await?;
    }
    let done = claimed.rolling_to >= day.day + chrono::Duration::days(1);
    diesel::sql_query(
        "WITH moved AS (
             UPDATE usage_days SET rolled_to = rolling_to, rolled_up = $3
             WHERE tenant_id = $1 AND day = $2
         )
         -- The listed events are all before rolled_to now (some listed by
         -- batches that saw the slice open may come after this).
         DELETE FROM usage_rolling_events WHERE tenant_id = $1 AND day = $2",
    )
    .bind::<SqlUuid, _>(day.tenant_id)
    .bind::<Timestamptz, _>(day.day)
    .bind::<diesel::sql_types::Bool, _>(done)
    .execute(conn)
    .await?;
    Ok(done)
}
