//! The daily rollups (`usage_daily`): what each UTC day's events add up to,
//! per meter and external customer id.
//!
//! A day is rolled up once it has ended (`roll_up_day`, by the worker);
//! from then on the statement that inserts a late event for that day also
//! updates its rollups. `usage_days` records which days are rolled up.
//! Ingestion holds the tenant's ingestion lock shared and rolling up holds
//! it exclusively, so no event can fall between the two.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Rollup rows for the events of relation `source` (event_id, event_name,
/// external_customer_id, "timestamp", properties) and the meters matching
/// `meter_condition`; sorted, so concurrent upserts lock rows in one order.
pub fn rollup_select(source: &str, meter_condition: &str) -> String {
    format!(
        "SELECT $1::uuid AS tenant_id, m.id AS meter_id, e.external_customer_id,
                date_trunc('day', e.\"timestamp\", 'UTC') AS day,
                count(*) FILTER (WHERE v.counts) AS event_count,
                count(*) FILTER (WHERE NOT v.counts) AS skipped,
                sum(v.num) AS total,
                max(v.num) AS maximum,
                (array_agg(e.\"timestamp\" ORDER BY e.\"timestamp\" DESC, e.event_id DESC)
                    FILTER (WHERE v.counts AND m.aggregation = 'LATEST'))[1] AS latest_at,
                (array_agg(e.event_id ORDER BY e.\"timestamp\" DESC, e.event_id DESC)
                    FILTER (WHERE v.counts AND m.aggregation = 'LATEST'))[1] AS latest_event_id,
                (array_agg(v.num ORDER BY e.\"timestamp\" DESC, e.event_id DESC)
                    FILTER (WHERE v.counts AND m.aggregation = 'LATEST'))[1] AS latest_value
         FROM {source} e
         JOIN meters m ON m.tenant_id = $1 AND m.event_name = e.event_name AND {meter_condition}
         CROSS JOIN LATERAL (
             SELECT e.properties ->> m.property AS raw_value,
                    CASE WHEN m.aggregation IN ('SUM', 'MAX', 'AVG', 'LATEST')
                         THEN billgraph_number(e.properties ->> m.property) END AS num
         ) n
         CROSS JOIN LATERAL (
             SELECT CASE m.aggregation
                        WHEN 'COUNT' THEN true
                        WHEN 'UNIQUE_COUNT' THEN n.raw_value IS NOT NULL
                        ELSE n.num IS NOT NULL
                    END AS counts,
                    n.num
         ) v
         WHERE billgraph_filters_match(m.filters, e.properties)
         GROUP BY m.id, e.external_customer_id, date_trunc('day', e.\"timestamp\", 'UTC')
         ORDER BY m.id, e.external_customer_id, date_trunc('day', e.\"timestamp\", 'UTC')"
    )
}

/// Adds rollup rows into `usage_daily`.
pub fn rollup_upsert(select: &str) -> String {
    const NEWER: &str = "EXCLUDED.latest_at IS NOT NULL AND (u.latest_at IS NULL
        OR (EXCLUDED.latest_at, EXCLUDED.latest_event_id) > (u.latest_at, u.latest_event_id))";
    format!(
        "INSERT INTO usage_daily AS u (tenant_id, meter_id, external_customer_id, day, event_count, skipped,
                                       total, maximum, latest_at, latest_event_id, latest_value)
         {select}
         ON CONFLICT (tenant_id, meter_id, external_customer_id, day) DO UPDATE SET
             event_count = u.event_count + EXCLUDED.event_count,
             skipped = u.skipped + EXCLUDED.skipped,
             total = CASE WHEN u.total IS NULL THEN EXCLUDED.total
                          WHEN EXCLUDED.total IS NULL THEN u.total
                          ELSE u.total + EXCLUDED.total END,
             maximum = GREATEST(u.maximum, EXCLUDED.maximum),
             latest_at = CASE WHEN {NEWER} THEN EXCLUDED.latest_at ELSE u.latest_at END,
             latest_event_id = CASE WHEN {NEWER} THEN EXCLUDED.latest_event_id ELSE u.latest_event_id END,
             latest_value = CASE WHEN {NEWER} THEN EXCLUDED.latest_value ELSE u.latest_value END"
    )
}

/// Stores the distinct values of UNIQUE_COUNT meters per customer and day
/// for the events of `source`, like [`rollup_select`].
pub fn values_insert(source: &str, meter_condition: &str) -> String {
    format!(
        "INSERT INTO usage_daily_values (tenant_id, meter_id, external_customer_id, day, value)
         SELECT DISTINCT $1::uuid, m.id, e.external_customer_id, date_trunc('day', e.\"timestamp\", 'UTC'),
                e.properties ->> m.property
         FROM {source} e
         JOIN meters m ON m.tenant_id = $1 AND m.event_name = e.event_name
             AND m.aggregation = 'UNIQUE_COUNT' AND {meter_condition}
         WHERE e.properties ->> m.property IS NOT NULL AND billgraph_filters_match(m.filters, e.properties)
         ORDER BY 2, 3, 4, 5
         ON CONFLICT DO NOTHING"
    )
}

/// Ingestion holds this lock shared; creating a meter holds it exclusively
/// while it backfills, so no batch can slip between the backfill's snapshot
/// and the meter becoming visible.
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

/// Rolls up, for a new meter, the events of the days already rolled up.
pub async fn backfill_meter(conn: &mut AsyncPgConnection, tenant_id: Uuid, meter_id: Uuid) -> QueryResult<usize> {
    let source = "(SELECT ev.* FROM events ev
          JOIN usage_days d ON d.tenant_id = ev.tenant_id AND d.rolled_up
              AND d.day = date_trunc('day', ev.\"timestamp\", 'UTC')
          WHERE ev.tenant_id = $1
            AND ev.event_name = (SELECT event_name FROM meters WHERE tenant_id = $1 AND id = $2))";
    let mut rows = 0;
    for sql in [
        rollup_upsert(&rollup_select(source, "m.id = $2")),
        values_insert(source, "m.id = $2"),
    ] {
        rows += diesel::sql_query(sql)
            .bind::<SqlUuid, _>(tenant_id)
            .bind::<SqlUuid, _>(meter_id)
            .execute(conn)
            .await?;
    }
    Ok(rows)
}

/// The SQL that stores a batch of events (arrays $2..$7 for tenant $1),
/// records their days, and updates the rollups of days already rolled up.
/// Returns the ids of the events actually inserted.
pub fn insert_events_sql() -> String {
    let late_events = "(SELECT i.* FROM inserted i
          JOIN usage_days d ON d.tenant_id = $1 AND d.rolled_up
              AND d.day = date_trunc('day', i.\"timestamp\", 'UTC'))";
    let late = rollup_upsert(&rollup_select(late_events, "true"));
    let late_values = values_insert(late_events, "true");
    format!(
        "WITH inserted AS (
             INSERT INTO events (tenant_id, event_id, event_name, external_customer_id, \"timestamp\", properties, source)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[])
             ON CONFLICT (tenant_id, event_id) DO NOTHING
             RETURNING event_id, event_name, external_customer_id, \"timestamp\", properties
         ), days AS (
             INSERT INTO usage_days (tenant_id, day)
             SELECT DISTINCT $1::uuid, date_trunc('day', \"timestamp\", 'UTC') FROM inserted ORDER BY 2
             ON CONFLICT (tenant_id, day) DO NOTHING
         ), late AS (
             {late}
         ), late_values AS (
             {late_values}
         )
         SELECT event_id FROM inserted"
    )
}

#[derive(QueryableByName, Debug, Clone, Copy)]
pub struct PendingDay {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub day: chrono::DateTime<chrono::Utc>,
}

/// Days not rolled up yet that started before `before`, oldest first.
pub async fn pending_days(
    conn: &mut AsyncPgConnection,
    before: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<Vec<PendingDay>> {
    diesel::sql_query(
        "SELECT tenant_id, day FROM usage_days WHERE NOT rolled_up AND day < $1 ORDER BY day, tenant_id LIMIT $2",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// Rolls up one day of one tenant for every meter; call inside a
/// transaction holding the exclusive ingestion lock. Returns false when the
/// day was rolled up already (by another instance).
pub async fn roll_up_day(conn: &mut AsyncPgConnection, day: PendingDay) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        rolled_up: bool,
    }
    let claimed: Option<Claimed> =
        diesel::sql_query("SELECT rolled_up FROM usage_days WHERE tenant_id = $1 AND day = $2 FOR UPDATE")
            .bind::<SqlUuid, _>(day.tenant_id)
            .bind::<diesel::sql_types::Timestamptz, _>(day.day)
            .get_result(conn)
            .await
            .optional()?;
    if claimed.is_none_or(|c| c.rolled_up) {
        return Ok(false);
    }
    let source = "(SELECT * FROM events WHERE tenant_id = $1 AND \"timestamp\" >= $2 AND \"timestamp\" < $2 + interval '24 hours')";
    for sql in [
        rollup_upsert(&rollup_select(source, "true")),
        values_insert(source, "true"),
    ] {
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(day.tenant_id)
            .bind::<diesel::sql_types::Timestamptz, _>(day.day)
            .execute(conn)
            .await?;
    }
    diesel::sql_query("UPDATE usage_days SET rolled_up = true WHERE tenant_id = $1 AND day = $2")
        .bind::<SqlUuid, _>(day.tenant_id)
        .bind::<diesel::sql_types::Timestamptz, _>(day.day)
        .execute(conn)
        .await?;
    Ok(true)
}
