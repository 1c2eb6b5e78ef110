//! Usage aggregation: for many customers (each with or without its
//! subtree) and many meters, one statement.
//!
//! An event names its customer by external id. Since archiving frees an
//! external id for reuse, an event belongs to the customer that held the id
//! at the event's time: an archived holder up to its archiving, the next
//! holder from then on. Events that arrived before any customer held the id
//! belong to its first holder.
//!
//! Whole UTC days that are rolled up come from the dyadic day buckets
//! (`usage_buckets`: a handful of rows per meter, customer and range, see
//! `domain::usage::day_buckets`), and so do the rolled-up hours of the
//! first day not rolled up whole (today, usually) when the range covers
//! them. The whole rolled-up hours of the partial days at the ends of the
//! range come from the hour buckets (one index range scan per stretch);
//! the partial hours at the ends, what is not rolled up yet and days rolled
//! up before hours were kept come from raw events. Hourly series read the
//! hour buckets (and raw events) only; daily series read the whole days at
//! level 0, one index range scan per stretch.
//! Distinct counts union the buckets' value-id bitmaps and arrays with the
//! raw events' values. Each stretch of one customer is aggregated once and
//! then added into every key whose subtree holds it. The value rules
//! (`billgraph_property_number`, `billgraph_filters_match`) are SQL
//! functions of the schema, shared with the rollups.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::generic_plan::{self, Planning};
use crate::db::meters::MeterRow;
use crate::db::prepared::PreparedExt;
use crate::db::schema::meters;
use crate::db::usage_raw::{EVENT_NAMES, METER_IDS, METERS_PER_STATEMENT, raw_parts_sql};
use crate::db::usage_rollups::BITMAP_IDS;
use crate::domain::meter::Aggregation;
use crate::domain::stored::RecordStatus;

/// One aggregate: the whole range (`bucket` None) or one window of it.
#[derive(Debug, Clone, QueryableByName)]
pub struct UsageRow {
    /// The group of the ranges it aggregates; past the given groups, a
    /// primed child (see `UsageSpec::prime_children`).
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    /// The customer of the group.
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub meter_id: Uuid,
    #[diesel(sql_type = Text)]
    pub aggregation: Aggregation,
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
    /// With `include_children`: also answer, as groups numbered after the
    /// given ones, the subtree of each group's first `PRIMED_CHILDREN`
    /// children (in id order) that is not a given customer itself. Their
    /// stretches are part of their parents', so this adds only the per-key
    /// sums. Each group must then have one customer.
    pub prime_children: bool,
}

/// See `UsageSpec::prime_children`.
pub const PRIMED_CHILDREN: i64 = 100;

/// The usage `spec` asks for, its meters read first.
pub async fn aggregate(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    spec: &UsageSpec<'_>,
) -> QueryResult<Vec<UsageRow>> {
    let meters = meters_to_report(conn, tenant_id, spec.meter_ids).await?;
    aggregate_for(conn, tenant_id, spec, &meters).await
}

/// The usage `spec` asks for, of `meters` (from [`meters_to_report`]).
pub async fn aggregate_for(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    spec: &UsageSpec<'_>,
    meters: &[MeterRow],
) -> QueryResult<Vec<UsageRow>> {
    let mut rows = Vec::new();
    // Each chunk's meters follow the last chunk's in id order, so a group's
    // rows stay in meter order.
    for chunk in meters.chunks(METERS_PER_STATEMENT) {
        rows.extend(aggregate_meters(conn, tenant_id, spec, chunk).await?);
    }
    Ok(rows)
}

/// The meters a usage request reports, in id order: those asked for (of
/// the tenant, any status), or every active one.
pub async fn meters_to_report(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    meter_ids: &[Uuid],
) -> QueryResult<Vec<MeterRow>> {
    let mut query = meters::table.filter(meters::tenant_id.eq(tenant_id)).into_boxed();
    query = if meter_ids.is_empty() {
        query.filter(meters::status.eq(RecordStatus::Active))
    } else {
        query.filter(meters::id.eq_any(meter_ids))
    };
    query.order(meters::id).select(MeterRow::as_select()).load(conn).await
}

async fn aggregate_meters(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    spec: &UsageSpec<'_>,
    meters: &[MeterRow],
) -> QueryResult<Vec<UsageRow>> {
    let grouping = if spec.window.is_some() {
        "GROUPING SETS ((s.idx, p.meter_id), (s.idx, p.meter_id, p.bucket))"
    } else {
        "s.idx, p.meter_id, p.bucket"
    };
    let event_bucket = match spec.window {
        Some(_) => "date_trunc($7, ev.\"timestamp\", 'UTC')",
        None => "NULL::timestamptz",
    };
    let hour_bucket = match spec.window {
        Some(_) => "date_trunc($7, 'epoch'::timestamptz + ub.start_day * interval '1 hour', 'UTC')",
        None => "NULL::timestamptz",
    };
    let raw_parts = raw_parts_sql(meters, event_bucket);
    // The whole days read from the buckets, cut into the windows.
    let pieces = match spec.window {
        Some(_) => {
            "SELECT w.g AT TIME ZONE 'UTC' AS bucket,
                    GREATEST(w.g AT TIME ZONE 'UTC', u.d_from) AS p_from,
                    LEAST((w.g + ('1 ' || $7)::interval) AT TIME ZONE 'UTC', u.d_to) AS p_to
             FROM generate_series(date_trunc($7, u.d_from, 'UTC') AT TIME ZONE 'UTC',
                                  (u.d_to AT TIME ZONE 'UTC') - interval '1 microsecond',
                                  ('1 ' || $7)::interval) w(g)
             WHERE u.d_from < u.d_to"
        }
        None => "SELECT NULL::timestamptz AS bucket, u.d_from AS p_from, u.d_to AS p_to WHERE u.d_from < u.d_to",
    };
    // The latest value among a stretch's day buckets, for LATEST meters.
    let day_latest = if meters.iter().any(|m| m.aggregation == Aggregation::Latest) {
        let latest = |column: &str| {
            format!(
                "(array_agg(ub.{column} ORDER BY ub.latest_at DESC, ub.latest_event_id DESC) \
                 FILTER (WHERE ub.latest_at IS NOT NULL))[1]"
            )
        };
        format!(
            "{} AS latest_at, {} AS latest_event_id, {} AS latest_value",
            latest("latest_at"),
            latest("latest_event_id"),
            latest("latest_value")
        )
    } else {
        "NULL::timestamptz AS latest_at, NULL::text AS latest_event_id, NULL::numeric AS latest_value".to_string()
    };
    // The rows of the day buckets, and the CTEs they need. A daily series
    // reads each unit's days at level 0, one index range scan per unit;
    // otherwise each unit is cut into windows (pieces) and each piece into
    // dyadic buckets, one lookup each, added up per meter as they are read:
    // what follows meets one row per piece and meter, not one per bucket and
    // meter (a quarter of the rows for a month). Every bucket read keeps the
    // meters asked for with `array_position`, which no index can use: the
    // lookup stays one descent (`meter_id = ANY` could become one per
    // meter), and the rows need no second materialized pass to drop other
    // meters.
    let (day_ctes, day_rows) = if spec.window == Some("day") {
        (
            String::new(),
            "SELECT u.ext, u.t_from, u.t_to, b.*
             FROM units u
             CROSS JOIN LATERAL (
                 SELECT 'epoch'::timestamptz + ub.start_day * interval '1 day' AS bucket,
                        ub.meter_id, ub.event_count, ub.skipped, ub.total, ub.maximum,
                        ub.latest_at, ub.latest_event_id, ub.latest_value, ub.value_bits, ub.value_ids
                 FROM usage_buckets ub
                 WHERE ub.tenant_id = $1 AND ub.external_customer_id = u.ext AND ub.level = 0
                   AND ub.start_day >= floor(extract(epoch FROM u.d_from) / 86400)::int
                   AND ub.start_day < floor(extract(epoch FROM u.d_to) / 86400)::int
                   AND array_position($3::uuid[], ub.meter_id) IS NOT NULL
                 OFFSET 0
             ) b
             WHERE u.d_from < u.d_to"
                .to_string(),
        )
    } else {
        (
            format!(
                "pieces AS MATERIALIZED (
             SELECT u.ext, u.t_from, u.t_to, pc.bucket,
                    floor(extract(epoch FROM pc.p_from) / 86400)::int AS from_day,
                    floor(extract(epoch FROM pc.p_to) / 86400)::int AS to_day
             FROM units u
             CROSS JOIN LATERAL ({pieces}) pc
         ), piece_buckets AS MATERIALIZED (
             -- The buckets of each distinct piece, as arrays.
             SELECT p.from_day, p.to_day, array_agg(db.level) AS levels, array_agg(db.start_day) AS starts
             FROM (SELECT DISTINCT from_day, to_day FROM pieces) p
             CROSS JOIN LATERAL billgraph_day_buckets(p.from_day, p.to_day) db
             GROUP BY p.from_day, p.to_day
         ), "
            ),
            format!(
                "SELECT p.ext, p.t_from, p.t_to, p.bucket, b.*
             FROM pieces p
             JOIN piece_buckets pb ON pb.from_day = p.from_day AND pb.to_day = p.to_day
             CROSS JOIN bitmap z
             CROSS JOIN LATERAL (
                 SELECT ub.meter_id, sum(ub.event_count)::bigint AS event_count,
                        sum(ub.skipped)::bigint AS skipped, sum(ub.total) AS total, max(ub.maximum) AS maximum,
                        {day_latest},
                        bit_or(ub.value_bits || substring(z.zeros FROM 1 FOR bit_length(z.zeros) - bit_length(ub.value_bits)))
                            AS value_bits,
                        billgraph_ids_cat(ub.value_ids) AS value_ids
                 FROM unnest(pb.levels, pb.starts) d(level, start_day)
                 CROSS JOIN LATERAL (
                     SELECT ub.meter_id, ub.event_count, ub.skipped, ub.total, ub.maximum, ub.latest_at,
                            ub.latest_event_id, ub.latest_value, ub.value_bits, ub.value_ids
                     FROM usage_buckets ub
                     WHERE ub.tenant_id = $1 AND ub.external_customer_id = p.ext
                       AND ub.level = d.level AND ub.start_day = d.start_day
                       AND array_position($3::uuid[], ub.meter_id) IS NOT NULL
                     OFFSET 0
                 ) ub
                 GROUP BY ub.meter_id
             ) b"
            ),
        )
    };
    // Hourly series cannot come from day buckets, only from hour buckets.
    let use_day_buckets = spec.window != Some("hour");
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
        "WITH RECURSIVE given AS (
             SELECT * FROM unnest($2::uuid[], $9::int8[], $5::timestamptz[], $6::timestamptz[])
                 AS r(root, idx, r_from, r_to)
         ), primed AS (
             SELECT c.parent_idx, c.id,
                    (SELECT max(idx) FROM given) + row_number() OVER (ORDER BY c.parent_idx, c.id) AS idx
             FROM (
                 SELECT DISTINCT g.idx AS parent_idx, ch.id FROM given g
                 CROSS JOIN LATERAL (
                     SELECT c.id FROM customers c
                     WHERE c.tenant_id = $1 AND c.parent_customer_id = g.root
                     ORDER BY c.id LIMIT {PRIMED_CHILDREN}
                 ) ch
                 WHERE $4 AND $10 AND ch.id <> ALL($2::uuid[])
             ) c
         ), req AS (
             SELECT root, idx, r_from, r_to FROM given
             UNION ALL
             SELECT p.id, p.idx, g.r_from, g.r_to FROM primed p JOIN given g ON g.idx = p.parent_idx
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
             -- What each key adds up: stretches of one external id's events.
             SELECT * FROM (
                 SELECT t.idx, h.external_customer_id AS ext,
                        GREATEST(h.valid_from, t.r_from) AS t_from, LEAST(h.valid_to, t.r_to) AS t_to
                 FROM tree t JOIN holders h ON h.id = t.id
             ) s WHERE t_from < t_to
         ), horizon AS (
             -- The buckets hold every event before the first day not rolled
             -- up whole, and that day's events before head_to (unless a
             -- slice of it is being rolled up).
             SELECT COALESCE(p.day, 'infinity') AS day, COALESCE(p.head_to, 'infinity') AS head_to
             FROM (SELECT 1) one
             LEFT JOIN LATERAL (
                 SELECT day, CASE WHEN rolling_to = rolled_to THEN rolled_to ELSE day END AS head_to
                 FROM usage_days WHERE tenant_id = $1 AND NOT rolled_up ORDER BY day LIMIT 1
             ) p ON true
         ), units AS (
             -- Each stretch is aggregated once, however many keys share it
             -- (a subtree contains its children's subtrees). The days
             -- [d_from, d_to) come from the buckets (the last one maybe only
             -- up to tail_from); [t_from, d_from) and [tail_from, t_to) from
             -- raw events.
             SELECT ext, t_from, t_to,
                    CASE WHEN ok THEN first_day ELSE t_to END AS d_from,
                    CASE WHEN ok THEN b_to ELSE t_to END AS d_to,
                    CASE WHEN ok THEN tail_from ELSE t_to END AS tail_from
             FROM (
                 SELECT c.*, $8 AND c.first_day < c.b_to AS ok FROM (
                     SELECT b.*,
                            CASE WHEN head THEN h_day + interval '24 hours' ELSE end_day END AS b_to,
                            CASE WHEN head THEN head_to ELSE end_day END AS tail_from
                     FROM (
                         SELECT a.*, first_day <= h_day AND date_trunc('day', t_to, 'UTC') >= h_day
                                     AND head_to > h_day AND t_to >= head_to AS head
                         FROM (
                             SELECT DISTINCT s.ext, s.t_from, s.t_to,
                                    CASE WHEN date_trunc('day', s.t_from, 'UTC') = s.t_from THEN s.t_from
                                         ELSE date_trunc('day', s.t_from, 'UTC') + interval '24 hours' END AS first_day,
                                    LEAST(date_trunc('day', s.t_to, 'UTC'), h.day) AS end_day,
                                    h.day AS h_day, h.head_to
                             FROM scope s CROSS JOIN horizon h
                         ) a
                     ) b
                 ) c
             ) d
         ), spans AS (
             -- What the day buckets leave: the partial first day, and what
             -- follows the last day bucket.
             SELECT ext, t_from, t_to, t_from AS a, d_from AS b FROM units WHERE t_from < d_from
             UNION ALL
             SELECT ext, t_from, t_to, tail_from, t_to FROM units WHERE tail_from < t_to
         ), hour_spans AS MATERIALIZED (
             -- The whole hours [ha, hb) of a span that the hour buckets hold:
             -- rolled up (before head_to), on days that keep their hours.
             -- The ranges of a page share their spans, so this is read once.
             SELECT s.a, s.b, h.ha, h.hb,
                    floor(extract(epoch FROM h.ha) / 3600)::int AS from_hour,
                    floor(extract(epoch FROM h.hb) / 3600)::int AS to_hour
             FROM (SELECT DISTINCT a, b FROM spans) s
             CROSS JOIN horizon z
             CROSS JOIN LATERAL (
                 SELECT CASE WHEN date_trunc('hour', s.a, 'UTC') = s.a THEN s.a
                             ELSE date_trunc('hour', s.a, 'UTC') + interval '1 hour' END AS ha,
                        date_trunc('hour', LEAST(s.b, z.head_to), 'UTC') AS hb
             ) h
             WHERE h.ha < h.hb AND NOT EXISTS (
                 SELECT 1 FROM usage_days d
                 WHERE d.tenant_id = $1 AND d.day >= date_trunc('day', h.ha, 'UTC') AND d.day < h.hb
                   AND NOT d.hourly
             )
         ), split AS MATERIALIZED (
             -- Each span with the hours the hour buckets hold of it, if any.
             SELECT s.*, h.ha, h.hb, h.from_hour, h.to_hour
             FROM spans s LEFT JOIN hour_spans h ON h.a = s.a AND h.b = s.b
         ), raw_ranges AS (
             -- The spans without those hours.
             SELECT * FROM (
                 SELECT ext, t_from, t_to, a AS r_from, COALESCE(ha, b) AS r_to FROM split
                 UNION ALL
                 SELECT ext, t_from, t_to, hb, b FROM split WHERE hb IS NOT NULL
             ) r
             WHERE r_from < r_to
         ), m AS (
             SELECT * FROM unnest({METER_IDS}, {EVENT_NAMES}, $14::text[]) AS m(id, event_name, aggregation)
         ), bitmap AS MATERIALIZED (
             -- Distinct counts OR bitmaps of value ids, as wide as the
             -- meters' ids need rather than {BITMAP_IDS} bits: every
             -- operation copies them whole. Every id this statement sees is
             -- below its meter's next_id in the same snapshot (ids and
             -- counter are written together), and so is every bucket's
             -- bitmap length (its top id + 1).
             SELECT substring(B'0'::bit({BITMAP_IDS}) FROM 1
                        FOR GREATEST(1, LEAST({BITMAP_IDS}, COALESCE(max(c.next_id), 0))))::bit varying AS zeros
             FROM usage_value_counters c
             WHERE c.tenant_id = $1 AND c.meter_id = ANY({METER_IDS})
         ), raw_parts AS MATERIALIZED (
             {raw_parts}
         ), raw_vals AS MATERIALIZED (
             SELECT p.ext, p.t_from, p.t_to, p.meter_id, p.bucket, x AS raw_value
             FROM raw_parts p CROSS JOIN LATERAL unnest(p.vals) x
         ), raw_dict AS MATERIALIZED (
             -- Dictionary ids of the distinct values read from raw events,
             -- per meter; a value without one is in no bucket.
             SELECT v.meter_id, jsonb_object_agg(v.raw_value, d.id) AS ids
             FROM (SELECT DISTINCT meter_id, raw_value FROM raw_vals) v
             CROSS JOIN LATERAL (
                 SELECT d.id FROM usage_value_ids d
                 WHERE d.tenant_id = $1 AND d.meter_id = v.meter_id AND d.value = v.raw_value
                 OFFSET 0
             ) d
             GROUP BY v.meter_id
         ), raw_uniq AS MATERIALIZED (
             SELECT v.ext, v.t_from, v.t_to, v.meter_id, v.bucket, v.raw_value, (d.ids ->> v.raw_value)::int AS id
             FROM raw_vals v LEFT JOIN raw_dict d ON d.meter_id = v.meter_id
         ), {day_ctes}rolled AS MATERIALIZED (
             {day_rows}
             UNION ALL
             -- The hours: one index range scan per span. An hour keeps all
             -- its value ids in value_ids; they are split here as the day
             -- buckets keep them.
             SELECT s.ext, s.t_from, s.t_to, b.*
             FROM split s
             CROSS JOIN bitmap z
             CROSS JOIN LATERAL (
                 SELECT {hour_bucket} AS bucket, ub.meter_id, ub.event_count, ub.skipped, ub.total, ub.maximum,
                        ub.latest_at, ub.latest_event_id, ub.latest_value,
                        (SELECT bit_or(set_bit(z.zeros, x, 1)) FROM unnest(ub.value_ids) x
                         WHERE x < {BITMAP_IDS}) AS value_bits,
                        CASE WHEN ub.value_ids IS NOT NULL
                             THEN ARRAY(SELECT x FROM unnest(ub.value_ids) x WHERE x >= {BITMAP_IDS}) END AS value_ids
                 FROM usage_buckets ub
                 WHERE ub.tenant_id = $1 AND ub.external_customer_id = s.ext AND ub.level = -1
                   AND ub.start_day >= s.from_hour AND ub.start_day < s.to_hour
                   AND array_position($3::uuid[], ub.meter_id) IS NOT NULL
                 OFFSET 0
             ) b
             WHERE s.from_hour IS NOT NULL
         ), unit_parts AS (
             -- Per stretch, meter and window: counts, sums, maxima and the
             -- bitmap of value ids below {BITMAP_IDS}.
             SELECT ext, t_from, t_to, meter_id, bucket, sum(event_count) AS event_count, sum(skipped) AS skipped,
                    sum(total) AS total, max(maximum) AS maximum, bit_or(bits) AS bits
             FROM (
                 SELECT ext, t_from, t_to, meter_id, bucket, event_count, skipped, total, maximum,
                        value_bits || substring(z.zeros FROM 1 FOR bit_length(z.zeros) - bit_length(value_bits)) AS bits
                 FROM rolled CROSS JOIN bitmap z
                 UNION ALL
                 SELECT ext, t_from, t_to, meter_id, bucket, event_count, skipped, total, maximum, NULL
                 FROM raw_parts
                 UNION ALL
                 SELECT ext, t_from, t_to, meter_id, bucket, 0, 0, NULL, NULL, set_bit(z.zeros, id, 1)
                 FROM raw_uniq CROSS JOIN bitmap z WHERE id < {BITMAP_IDS}
             ) parts
             GROUP BY ext, t_from, t_to, meter_id, bucket
         ), unit_tokens AS (
             -- The other distinct values: ids from {BITMAP_IDS} on, and values
             -- without an id (never equal to a value with one).
             SELECT DISTINCT ext, t_from, t_to, meter_id, bucket, token FROM (
                 SELECT r.ext, r.t_from, r.t_to, r.meter_id, r.bucket, 'i' || x AS token
                 FROM rolled r CROSS JOIN LATERAL unnest(r.value_ids) x
                 UNION ALL
                 SELECT ext, t_from, t_to, meter_id, bucket,
                        CASE WHEN id IS NULL THEN 'v' || raw_value ELSE 'i' || id END
                 FROM raw_uniq WHERE id IS NULL OR id >= {BITMAP_IDS}
             ) t
         ), agg AS (
             SELECT s.idx, p.meter_id, p.bucket,
                    CASE min(m.aggregation)
                        WHEN 'COUNT' THEN sum(p.event_count)
                        WHEN 'SUM' THEN COALESCE(sum(p.total), 0)
                        WHEN 'MAX' THEN max(p.maximum)
                        WHEN 'AVG' THEN sum(p.total) / NULLIF(sum(p.event_count), 0)
                        WHEN 'UNIQUE_COUNT' THEN COALESCE(bit_count(bit_or(p.bits)), 0)
                    END AS value,
                    sum(p.event_count) AS event_count,
                    sum(p.skipped) AS skipped
             FROM scope s
             JOIN unit_parts p ON p.ext = s.ext AND p.t_from = s.t_from AND p.t_to = s.t_to
             JOIN m ON m.id = p.meter_id
             GROUP BY {grouping}
         ), uniq AS (
             SELECT s.idx, p.meter_id, p.bucket, count(DISTINCT p.token) AS value
             FROM scope s
             JOIN unit_tokens p ON p.ext = s.ext AND p.t_from = s.t_from AND p.t_to = s.t_to
             GROUP BY {grouping}
         ), unit_latest AS MATERIALIZED (
             -- The latest value of each stretch first: the join with the keys
             -- below then meets one row per stretch and LATEST meter, never
             -- every bucket row, whatever join the planner picks (without
             -- statistics it picked a nested loop over all of `rolled`).
             SELECT DISTINCT ON (ext, t_from, t_to, meter_id, bucket) ext, t_from, t_to, meter_id, bucket, at, id, value
             FROM (
                 SELECT ext, t_from, t_to, meter_id, bucket, latest_at AS at, latest_event_id AS id,
                        latest_value AS value
                 FROM rolled WHERE latest_at IS NOT NULL
                 UNION ALL
                 SELECT ext, t_from, t_to, meter_id, bucket, latest_at, latest_event_id, latest_value
                 FROM raw_parts WHERE latest_at IS NOT NULL
             ) c
             ORDER BY ext, t_from, t_to, meter_id, bucket, at DESC, id DESC
         ), latest_rows AS (
             SELECT DISTINCT ON (s.idx, c.meter_id, c.bucket) s.idx, c.meter_id, c.bucket, c.at, c.id, c.value
             FROM scope s
             JOIN unit_latest c ON c.ext = s.ext AND c.t_from = s.t_from AND c.t_to = s.t_to
             ORDER BY s.idx, c.meter_id, c.bucket, c.at DESC, c.id DESC
         ), latest AS (
             SELECT idx, meter_id, bucket, value FROM latest_rows
             {latest_totals}
         )
         -- Every requested customer gets a row for every meter, events or not.
         SELECT req.idx, req.root AS customer_id, m.id AS meter_id, m.aggregation, a.bucket,
                (CASE WHEN m.aggregation = 'UNIQUE_COUNT' THEN a.value + COALESCE(u.value, 0)
                      ELSE COALESCE(a.value, l.value) END)::text AS value,
                COALESCE(a.event_count, 0)::bigint AS event_count, COALESCE(a.skipped, 0)::bigint AS skipped
         FROM (SELECT DISTINCT idx, root FROM req) req CROSS JOIN m
         LEFT JOIN agg a ON a.idx = req.idx AND a.meter_id = m.id
         LEFT JOIN uniq u ON u.idx = a.idx AND u.meter_id = a.meter_id AND u.bucket IS NOT DISTINCT FROM a.bucket
         LEFT JOIN latest l ON l.idx = a.idx AND l.meter_id = a.meter_id AND l.bucket IS NOT DISTINCT FROM a.bucket
         ORDER BY idx, meter_id, bucket NULLS FIRST"
    );
    let customer_ids: Vec<Uuid> = spec.ranges.iter().map(|r| r.customer_id).collect();
    let groups: Vec<i64> = spec.ranges.iter().map(|r| r.group).collect();
    let froms: Vec<DateTime<Utc>> = spec.ranges.iter().map(|r| r.from).collect();
    let tos: Vec<DateTime<Utc>> = spec.ranges.iter().map(|r| r.to).collect();
    let meter_ids: Vec<Uuid> = meters.iter().map(|m| m.id).collect();
    let event_names: Vec<&str> = meters.iter().map(|m| m.event_name.as_str()).collect();
    let properties: Vec<Option<&str>> = meters.iter().map(|m| m.property.as_deref()).collect();
    let filters: Vec<&serde_json::Value> = meters.iter().map(|m| &m.filters).collect();
    let aggregations: Vec<&str> = meters.iter().map(|m| m.aggregation.as_str()).collect();
    let query = diesel::sql_query(sql.as_str())
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(customer_ids)
        .bind::<Array<SqlUuid>, _>(meter_ids)
        .bind::<Bool, _>(spec.include_children)
        .bind::<Array<Timestamptz>, _>(froms)
        .bind::<Array<Timestamptz>, _>(tos)
        .bind::<Text, _>(spec.window.unwrap_or("day"))
        .bind::<Bool, _>(use_day_buckets)
        .bind::<Array<BigInt>, _>(groups)
        .bind::<Bool, _>(spec.prime_children)
        .bind::<Array<Text>, _>(event_names)
        .bind::<Array<Nullable<Text>>, _>(properties)
        .bind::<Array<Jsonb>, _>(filters)
        .bind::<Array<Text>, _>(aggregations);
    let planning = generic_plan::open(conn, &sql).await?;
    let rows = if planning == Planning::Kept {
        query.prepared().load(conn).await
    } else {
        query.load(conn).await
    };
    generic_plan::close(conn, planning, rows).await
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
            prime_children: false,
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
