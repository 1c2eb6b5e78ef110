//! Usage aggregation: for many customers (each with or without its
//! subtree) and many meters, one statement.
//!
//! An event names its customer by external id. Since archiving frees an
//! external id for reuse, an event belongs to the customer that held the id
//! at the event's time: an archived holder up to its archiving, the next
//! holder from then on. Events that arrived before any customer held the id
//! belong to its first holder.
//!
//! Whole UTC days that are rolled up come from the daily rollups
//! (`usage_daily`, and `usage_daily_values` for distinct counts); the
//! partial days at the ends of the range, days not rolled up yet and hourly
//! series come from raw events. The value rules (`billgraph_number`, `billgraph_filters_match`)
//! are SQL functions of the schema, shared with the rollups.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

/// One aggregate: the whole range (`bucket` None) or one window of it.
#[derive(Debug, Clone, QueryableByName)]
pub struct UsageRow {
    /// The group of the ranges it aggregates.
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(sql_type = SqlUuid)]
    pub meter_id: Uuid,
    #[diesel(sql_type = Text)]
    pub aggregation: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub bucket: Option<DateTime<Utc>>,
    /// As text: an average can have more digits than a Decimal holds, and
    /// is rounded when parsed.
    #[diesel(sql_type = Nullable<Text>)]
    pub value: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub event_count: i64,
    #[diesel(sql_type = BigInt)]
    pub skipped: i64,
}

/// One stretch of time to aggregate for a customer. Ranges sharing a
/// `group` are added up into one result (they must not overlap), so usage
/// over a period with gaps (pauses) is still one value per meter.
#[derive(Debug, Clone, Copy)]
pub struct UsageRange {
    /// The result's `idx`: 1-based, dense.
    pub group: i64,
    pub customer_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

pub struct UsageSpec<'a> {
    pub ranges: &'a [UsageRange],
    /// Empty: every active meter.
    pub meter_ids: &'a [Uuid],
    pub include_children: bool,
    /// date_trunc unit ("hour", "day", "month") for a time series.
    pub window: Option<&'static str>,
}

/// A property value PostgreSQL can read as NUMERIC (JSON numbers, and
/// strings holding one).
pub async fn aggregate(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    spec: &UsageSpec<'_>,
) -> QueryResult<Vec<UsageRow>> {
    let grouping = if spec.window.is_some() {
        "GROUPING SETS ((idx, meter_id), (idx, meter_id, bucket))"
    } else {
        "idx, meter_id, bucket"
    };
    let (event_bucket, day_bucket, value_bucket) = match spec.window {
        Some(_) => (
            "date_trunc($7, e.\"timestamp\", 'UTC')",
            "date_trunc($7, u.day, 'UTC')",
            "date_trunc($7, dv.day, 'UTC')",
        ),
        None => ("NULL::timestamptz", "NULL::timestamptz", "NULL::timestamptz"),
    };
    // Hourly series cannot come from daily rollups: read raw events only.
    let use_rollups = spec.window != Some("hour");
    // With windows, the latest value of the whole range is the latest of its windows.
    let latest_totals = if spec.window.is_some() {
        "UNION ALL
         SELECT * FROM (
             SELECT DISTINCT ON (idx, meter_id) idx, meter_id, NULL::timestamptz, value FROM latest_rows
             ORDER BY idx, meter_id, at DESC, id DESC
         ) totals"
    } else {
        ""
    };
    let sql = format!(
        "WITH RECURSIVE req AS (
             SELECT * FROM unnest($2::uuid[], $9::int8[], $5::timestamptz[], $6::timestamptz[])
                 AS r(root, idx, r_from, r_to)
         ), tree(idx, id, lvl, r_from, r_to) AS (
             SELECT idx, root, 1, r_from, r_to FROM req
             UNION ALL
             SELECT t.idx, c.id, t.lvl + 1, t.r_from, t.r_to FROM tree t
             JOIN customers c ON c.tenant_id = $1 AND c.parent_customer_id = t.id
             WHERE $4 AND t.lvl < 64
         ), holders AS (
             SELECT c.id, c.external_customer_id,
                    COALESCE(lag(c.archived_at) OVER w, '-infinity') AS valid_from,
                    COALESCE(c.archived_at, 'infinity') AS valid_to
             FROM customers c
             WHERE c.tenant_id = $1 AND c.external_customer_id IN (
                 SELECT c2.external_customer_id FROM tree t JOIN customers c2 ON c2.tenant_id = $1 AND c2.id = t.id
             )
             WINDOW w AS (PARTITION BY c.external_customer_id ORDER BY c.archived_at NULLS LAST, c.id)
         ), scope AS (
             SELECT t.idx, h.external_customer_id,
                    GREATEST(h.valid_from, t.r_from) AS t_from, LEAST(h.valid_to, t.r_to) AS t_to
             FROM tree t JOIN holders h ON h.id = t.id
         ), horizon AS (
             -- Rollups are complete below the first day not rolled up.
             SELECT COALESCE(min(day), 'infinity'::timestamptz) AS day FROM usage_days
             WHERE tenant_id = $1 AND NOT rolled_up
         ), days AS (
             SELECT s.*,
                    CASE WHEN date_trunc('day', t_from, 'UTC') = t_from THEN t_from
                         ELSE date_trunc('day', t_from, 'UTC') + interval '24 hours' END AS first_day,
                    LEAST(date_trunc('day', t_to, 'UTC'), (SELECT day FROM horizon)) AS end_day
             FROM scope s WHERE t_from < t_to
         ), spans AS (
             -- Whole UTC days of the range come from the rollups [d_from, d_to);
             -- the partial days at its ends from raw events.
             SELECT idx, external_customer_id, t_from, t_to,
                    CASE WHEN $8 AND first_day < end_day THEN first_day ELSE t_to END AS d_from,
                    CASE WHEN $8 AND first_day < end_day THEN end_day ELSE t_to END AS d_to
             FROM days
         ), raw_ranges AS (
             SELECT idx, external_customer_id, t_from AS r_from, d_from AS r_to FROM spans WHERE t_from < d_from
             UNION ALL
             SELECT idx, external_customer_id, d_to, t_to FROM spans WHERE d_to < t_to
         ), m AS (
             SELECT id, event_name, aggregation, property, filters FROM meters
             WHERE tenant_id = $1
               AND CASE WHEN cardinality($3) = 0 THEN status = 'ACTIVE' ELSE id = ANY($3) END
         ), valued AS (
             SELECT r.idx, m.id AS meter_id, m.aggregation, e.\"timestamp\", e.event_id, {event_bucket} AS bucket,
                    v.raw_value, v.num,
                    CASE m.aggregation
                        WHEN 'COUNT' THEN true
                        WHEN 'UNIQUE_COUNT' THEN v.raw_value IS NOT NULL
                        ELSE v.num IS NOT NULL
                    END AS counts
             FROM raw_ranges r
             CROSS JOIN m
             -- Each lookup is an index range scan, whatever the statistics
             -- say (OFFSET 0 keeps the planner from flattening it).
             CROSS JOIN LATERAL (
                 SELECT ev.\"timestamp\", ev.event_id, ev.properties FROM events ev
                 WHERE ev.tenant_id = $1 AND ev.external_customer_id = r.external_customer_id
                   AND ev.event_name = m.event_name
                   AND ev.\"timestamp\" >= r.r_from AND ev.\"timestamp\" < r.r_to
                 OFFSET 0
             ) e
             CROSS JOIN LATERAL (
                 SELECT e.properties ->> m.property AS raw_value,
                        CASE WHEN m.aggregation IN ('SUM', 'MAX', 'AVG', 'LATEST')
                             THEN billgraph_number(e.properties ->> m.property) END AS num
             ) v
             WHERE billgraph_filters_match(m.filters, e.properties)
         ), rolled AS (
             SELECT s.idx, u.meter_id, {day_bucket} AS bucket, u.event_count, u.skipped, u.total, u.maximum,
                    u.latest_at, u.latest_event_id, u.latest_value
             FROM spans s
             CROSS JOIN m
             CROSS JOIN LATERAL (
                 SELECT * FROM usage_daily ud
                 WHERE ud.tenant_id = $1 AND ud.meter_id = m.id
                   AND ud.external_customer_id = s.external_customer_id
                   AND ud.day >= s.d_from AND ud.day < s.d_to
                 OFFSET 0
             ) u
         ), parts AS (
             SELECT idx, meter_id, bucket, event_count, skipped, total, maximum FROM rolled
             UNION ALL
             SELECT idx, meter_id, bucket, count(*) FILTER (WHERE counts), count(*) FILTER (WHERE NOT counts),
                    sum(num), max(num)
             FROM valued GROUP BY idx, meter_id, bucket
         ), agg AS (
             SELECT idx, meter_id, bucket,
                    CASE min(m.aggregation)
                        WHEN 'COUNT' THEN sum(p.event_count)
                        WHEN 'SUM' THEN COALESCE(sum(p.total), 0)
                        WHEN 'MAX' THEN max(p.maximum)
                        WHEN 'AVG' THEN sum(p.total) / NULLIF(sum(p.event_count), 0)
                    END AS value,
                    sum(p.event_count) AS event_count,
                    sum(p.skipped) AS skipped
             FROM parts p JOIN m ON m.id = p.meter_id
             GROUP BY {grouping}
         ), uniq_rows AS (
             -- Distinct values: deduplicate first, so the count sorts little.
             SELECT idx, meter_id, bucket, raw_value FROM valued
             WHERE aggregation = 'UNIQUE_COUNT' AND counts
             UNION
             SELECT s.idx, m.id, {value_bucket}, dv.value
             FROM spans s
             JOIN m ON m.aggregation = 'UNIQUE_COUNT'
             CROSS JOIN LATERAL (
                 SELECT v.day, v.value FROM usage_daily_values v
                 WHERE v.tenant_id = $1 AND v.meter_id = m.id
                   AND v.external_customer_id = s.external_customer_id
                   AND v.day >= s.d_from AND v.day < s.d_to
                 OFFSET 0
             ) dv
         ), uniq AS (
             SELECT idx, meter_id, bucket, count(DISTINCT raw_value)::numeric AS value
             FROM uniq_rows GROUP BY {grouping}
         ), latest_rows AS (
             SELECT DISTINCT ON (idx, meter_id, bucket) idx, meter_id, bucket, at, id, value FROM (
                 SELECT idx, meter_id, bucket, latest_at AS at, latest_event_id AS id, latest_value AS value
                 FROM rolled WHERE latest_at IS NOT NULL
                 UNION ALL
                 SELECT idx, meter_id, bucket, \"timestamp\", event_id, num FROM valued
                 WHERE aggregation = 'LATEST' AND counts
             ) candidates
             ORDER BY idx, meter_id, bucket, at DESC, id DESC
         ), latest AS (
             SELECT idx, meter_id, bucket, value FROM latest_rows
             {latest_totals}
         )
         -- Every requested customer gets a row for every meter, events or not.
         SELECT req.idx, m.id AS meter_id, m.aggregation, a.bucket,
                COALESCE(a.value, u.value, l.value)::text AS value,
                COALESCE(a.event_count, 0)::bigint AS event_count, COALESCE(a.skipped, 0)::bigint AS skipped
         FROM (SELECT DISTINCT idx FROM req) req CROSS JOIN m
         LEFT JOIN agg a ON a.idx = req.idx AND a.meter_id = m.id
         LEFT JOIN uniq u ON u.idx = a.idx AND u.meter_id = a.meter_id AND u.bucket IS NOT DISTINCT FROM a.bucket
         LEFT JOIN latest l ON l.idx = a.idx AND l.meter_id = a.meter_id AND l.bucket IS NOT DISTINCT FROM a.bucket
         ORDER BY idx, meter_id, bucket NULLS FIRST"
    );
    let customer_ids: Vec<Uuid> = spec.ranges.iter().map(|r| r.customer_id).collect();
    let groups: Vec<i64> = spec.ranges.iter().map(|r| r.group).collect();
    let froms: Vec<DateTime<Utc>> = spec.ranges.iter().map(|r| r.from).collect();
    let tos: Vec<DateTime<Utc>> = spec.ranges.iter().map(|r| r.to).collect();
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(customer_ids)
        .bind::<Array<SqlUuid>, _>(spec.meter_ids)
        .bind::<Bool, _>(spec.include_children)
        .bind::<Array<Timestamptz>, _>(froms)
        .bind::<Array<Timestamptz>, _>(tos)
        .bind::<Text, _>(spec.window.unwrap_or("day"))
        .bind::<Bool, _>(use_rollups)
        .bind::<Array<BigInt>, _>(groups)
        .load(conn)
        .await
}

/// An aggregate from PostgreSQL; digits beyond a Decimal's 28 are rounded.
pub fn parse_value(text: Option<&str>) -> Option<Decimal> {
    let text = text?;
    match text.parse::<Decimal>() {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(value = text, error = %e, "usage value out of range");
            None
        }
    }
}

/// The usage of one customer (not its subtree) over stretches of time that
/// are added up, e.g. a billing period minus its pauses.
pub struct QuantityRequest<'a> {
    pub customer_id: Uuid,
    /// Sorted, disjoint, half-open.
    pub intervals: &'a [(DateTime<Utc>, DateTime<Utc>)],
    pub meter_ids: &'a [Uuid],
}

/// The quantity per requested meter of each request (0 when nothing was
/// used), all in one statement.
pub async fn quantities(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    requests: &[QuantityRequest<'_>],
) -> QueryResult<Vec<HashMap<Uuid, Decimal>>> {
    let mut ranges = Vec::new();
    let mut meter_ids: Vec<Uuid> = Vec::new();
    for (group, request) in (1..).zip(requests) {
        meter_ids.extend(request.meter_ids);
        ranges.extend(request.intervals.iter().map(|(from, to)| UsageRange {
            group,
            customer_id: request.customer_id,
            from: *from,
            to: *to,
        }));
    }
    meter_ids.sort();
    meter_ids.dedup();
    let mut found: Vec<HashMap<Uuid, Decimal>> = vec![HashMap::new(); requests.len()];
    // No time or no meters: nothing to read (and an empty meter list would
    // mean every meter to the aggregation).
    if !ranges.is_empty() && !meter_ids.is_empty() {
        let spec = UsageSpec {
            ranges: &ranges,
            meter_ids: &meter_ids,
            include_children: false,
            window: None,
        };
        for row in aggregate(conn, tenant_id, &spec).await? {
            if let Some(value) = parse_value(row.value.as_deref()) {
                found[(row.idx - 1) as usize].insert(row.meter_id, value);
            }
        }
    }
    Ok(requests
        .iter()
        .zip(found)
        .map(|(request, mut found)| {
            request
                .meter_ids
                .iter()
                .map(|m| (*m, found.remove(m).unwrap_or(Decimal::ZERO)))
                .collect()
        })
        .collect())
}
