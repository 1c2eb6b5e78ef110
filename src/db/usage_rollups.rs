//! The daily rollups (`usage_daily`): what each UTC day's events add up to,
//! per meter and external customer id. Written in the same statement as the
//! events they summarise, so they can never disagree with them.

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
         JOIN meters m ON m.tenant_id = $1 AND m.event_name = e.event_name
             AND m.aggregation <> 'UNIQUE_COUNT' AND {meter_condition}
         CROSS JOIN LATERAL (SELECT billgraph_number(e.properties ->> m.property) AS num) n
         CROSS JOIN LATERAL (SELECT m.aggregation = 'COUNT' OR n.num IS NOT NULL AS counts, n.num) v
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

/// Rolls up the events a new meter already has.
pub async fn backfill_meter(conn: &mut AsyncPgConnection, tenant_id: Uuid, meter_id: Uuid) -> QueryResult<usize> {
    let select = rollup_select(
        "(SELECT * FROM events WHERE tenant_id = $1 AND event_name = (SELECT event_name FROM meters WHERE tenant_id = $1 AND id = $2))",
        "m.id = $2",
    );
    diesel::sql_query(rollup_upsert(&select))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(meter_id)
        .execute(conn)
        .await
}
