//! Usage aggregation: for many customers (each with or without its
//! subtree) and many meters, one statement.
//!
//! An event names its customer by external id. Since archiving frees an
//! external id for reuse, an event belongs to the customer that held the id
//! at the event's time: an archived holder up to its archiving, the next
//! holder from then on. Events that arrived before any customer held the id
//! belong to its first holder.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// One aggregate: the whole range (`bucket` None) or one window of it.
#[derive(Debug, Clone, QueryableByName)]
pub struct UsageRow {
    /// 1-based position of the customer in the request.
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

pub struct UsageSpec<'a> {
    pub customer_ids: &'a [Uuid],
    /// Empty: every active meter.
    pub meter_ids: &'a [Uuid],
    pub include_children: bool,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// date_trunc unit ("hour", "day", "month") for a time series.
    pub window: Option<&'static str>,
}

/// A property value PostgreSQL can read as NUMERIC (JSON numbers, and
/// strings holding one).
/// A property value counted as a number: plain decimal notation with at
/// most 15 integer and 12 fraction digits (PostgreSQL prints JSON numbers
/// this way). Bigger magnitudes would overflow the aggregates.
const NUMBER_PATTERN: &str = r"^\s*[-+]?([0-9]{1,15}(\.[0-9]{0,12})?|\.[0-9]{1,12})\s*$";

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
    // With windows, the latest value of the whole range is the latest of its windows.
    let latest_totals = if spec.window.is_some() {
        "UNION ALL
         SELECT * FROM (
             SELECT DISTINCT ON (idx, meter_id) idx, meter_id, NULL::timestamptz, num FROM latest_rows
             ORDER BY idx, meter_id, \"timestamp\" DESC, event_id DESC
         ) totals"
    } else {
        ""
    };
    let bucket = if spec.window.is_some() {
        "date_trunc($7, \"timestamp\", 'UTC')"
    } else {
        "NULL::timestamptz"
    };
    let sql = format!(
        "WITH RECURSIVE req AS (
             SELECT r.root, r.idx FROM unnest($2::uuid[]) WITH ORDINALITY AS r(root, idx)
         ), tree(idx, id, lvl) AS (
             SELECT idx, root, 1 FROM req
             UNION ALL
             SELECT t.idx, c.id, t.lvl + 1 FROM tree t
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
                    GREATEST(h.valid_from, $5) AS t_from, LEAST(h.valid_to, $6) AS t_to
             FROM tree t JOIN holders h ON h.id = t.id
         ), m AS (
             SELECT id, event_name, aggregation, property, filters FROM meters
             WHERE tenant_id = $1
               AND CASE WHEN cardinality($3) = 0 THEN status = 'ACTIVE' ELSE id = ANY($3) END
         ), matched AS (
             SELECT s.idx, m.id AS meter_id, m.aggregation, e.\"timestamp\", e.event_id,
                    e.properties ->> m.property AS raw_value
             FROM scope s
             CROSS JOIN m
             JOIN events e ON e.tenant_id = $1 AND e.external_customer_id = s.external_customer_id
                 AND e.event_name = m.event_name
                 AND e.\"timestamp\" >= s.t_from AND e.\"timestamp\" < s.t_to
             WHERE CASE WHEN m.filters = '[]'::jsonb THEN true ELSE NOT EXISTS (
                 SELECT 1 FROM jsonb_array_elements(m.filters) f
                 WHERE NOT COALESCE(
                     (e.properties ->> (f ->> 'key')) = ANY (ARRAY(SELECT jsonb_array_elements_text(f -> 'values'))),
                     false)
             ) END
         ), checked AS (
             SELECT *, aggregation IN ('SUM', 'MAX', 'AVG', 'LATEST')
                       AND COALESCE(raw_value ~ '{NUMBER_PATTERN}', false) AS is_number
             FROM matched
         ), valued AS (
             SELECT idx, meter_id, aggregation, \"timestamp\", event_id, raw_value, {bucket} AS bucket,
                    CASE WHEN is_number THEN raw_value::numeric END AS num,
                    CASE aggregation
                        WHEN 'COUNT' THEN true
                        WHEN 'UNIQUE_COUNT' THEN raw_value IS NOT NULL
                        ELSE is_number
                    END AS counts
             FROM checked
         ), agg AS (
             -- Counts, sums, maxima and averages: one hash aggregation.
             SELECT idx, meter_id, bucket,
                    CASE min(aggregation)
                        WHEN 'COUNT' THEN count(*)::numeric
                        WHEN 'SUM' THEN COALESCE(sum(num), 0)
                        WHEN 'MAX' THEN max(num)
                        WHEN 'AVG' THEN avg(num)
                    END AS value,
                    count(*) FILTER (WHERE counts) AS event_count,
                    count(*) FILTER (WHERE NOT counts) AS skipped
             FROM valued
             GROUP BY {grouping}
         ), uniq_rows AS (
             -- Distinct values: deduplicate first, so the count sorts little.
             SELECT DISTINCT idx, meter_id, bucket, raw_value FROM valued
             WHERE aggregation = 'UNIQUE_COUNT' AND counts
         ), uniq AS (
             SELECT idx, meter_id, bucket, count(DISTINCT raw_value)::numeric AS value
             FROM uniq_rows GROUP BY {grouping}
         ), latest_rows AS (
             SELECT DISTINCT ON (idx, meter_id, bucket) idx, meter_id, bucket, \"timestamp\", event_id, num
             FROM valued WHERE aggregation = 'LATEST' AND counts
             ORDER BY idx, meter_id, bucket, \"timestamp\" DESC, event_id DESC
         ), latest AS (
             SELECT idx, meter_id, bucket, num AS value FROM latest_rows
             {latest_totals}
         )
         -- Every requested customer gets a row for every meter, events or not.
         SELECT req.idx, m.id AS meter_id, m.aggregation, a.bucket,
                COALESCE(a.value, u.value, l.value)::text AS value,
                COALESCE(a.event_count, 0) AS event_count, COALESCE(a.skipped, 0) AS skipped
         FROM req CROSS JOIN m
         LEFT JOIN agg a ON a.idx = req.idx AND a.meter_id = m.id
         LEFT JOIN uniq u ON u.idx = a.idx AND u.meter_id = a.meter_id AND u.bucket IS NOT DISTINCT FROM a.bucket
         LEFT JOIN latest l ON l.idx = a.idx AND l.meter_id = a.meter_id AND l.bucket IS NOT DISTINCT FROM a.bucket
         ORDER BY idx, meter_id, bucket NULLS FIRST"
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(spec.customer_ids)
        .bind::<Array<SqlUuid>, _>(spec.meter_ids)
        .bind::<Bool, _>(spec.include_children)
        .bind::<Timestamptz, _>(spec.from)
        .bind::<Timestamptz, _>(spec.to)
        .bind::<Text, _>(spec.window.unwrap_or("day"))
        .load(conn)
        .await
}
