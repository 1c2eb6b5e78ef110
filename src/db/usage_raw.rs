//! The raw-event part of usage aggregation: the events of the stretches
//! that no bucket covers (partial days at the ends of a range, and what is
//! not rolled up yet), aggregated in one pass over each stretch's events.
//!
//! The SQL is written for the meters at hand: each event is read once and
//! every meter's value is one column of it, so an event costs one row
//! rather than one row per meter, and no statement-wide sort of events by
//! stretch and meter is needed. Joining the events with a generic table of
//! meters cost three to four times as much. The value rules are those of
//! the rollups (`billgraph_json_number`, which `billgraph_property_number`
//! applies, and `billgraph_filters_match`).

use std::fmt::Write;

use crate::db::meters::MeterRow;
use crate::domain::meter::Aggregation;

/// Where the statement binds the meters' fields, as arrays in meter order.
pub const METER_IDS: &str = "$3::uuid[]";
pub const EVENT_NAMES: &str = "$11::text[]";
pub const PROPERTIES: &str = "$12::text[]";
pub const FILTERS: &str = "$13::jsonb[]";

/// More meters than this go in several statements: each meter adds a few
/// aggregate columns, and PostgreSQL allows at most 1,664 per row.
pub const METERS_PER_STATEMENT: usize = 32;

/// One meter's aggregate columns beside its counts; NULL where its
/// aggregation needs none.
struct Aggregates {
    total: String,
    maximum: String,
    latest_at: String,
    latest_event_id: String,
    latest_value: String,
    vals: String,
}

impl Aggregates {
    fn none() -> Self {
        let null = || "NULL".to_string();
        Aggregates {
            total: null(),
            maximum: null(),
            latest_at: null(),
            latest_event_id: null(),
            latest_value: null(),
            vals: null(),
        }
    }
}

/// A CTE body (for `raw_parts AS MATERIALIZED (...)`) giving, per stretch
/// of `raw_ranges` (ext, t_from, t_to, r_from, r_to), meter and window
/// (`bucket`, from `bucket_expr` over `ev."timestamp"`), the columns the
/// buckets have: event_count, skipped, total, maximum, the latest value and
/// the distinct values (`vals`) of UNIQUE_COUNT meters. Only meters with a
/// matching event get a row. `$1` is the tenant.
pub fn raw_parts_sql(meters: &[MeterRow], bucket_expr: &str) -> String {
    let mut columns = String::new();
    let mut values = String::new();
    let mut aggregates = String::new();
    let mut rows = Vec::with_capacity(meters.len());
    for (i, meter) in meters.iter().enumerate() {
        let k = i + 1;
        let filters = if meter.filters.as_array().is_some_and(|f| f.is_empty()) {
            String::new()
        } else {
            format!(" AND billgraph_filters_match(({FILTERS})[{k}], ev.properties)")
        };
        let _ = write!(columns, ", ev.event_name = ({EVENT_NAMES})[{k}]{filters} AS m{k}");
        // A numeric meter's property is extracted once below and its rule
        // applied above: inlined on the event row, the rule would look the
        // property up again for each of its parts.
        let (below, above) = match meter.aggregation {
            Aggregation::Count => (format!("NULL::numeric AS v{k}"), format!("e.v{k}")),
            Aggregation::UniqueCount => (
                format!("ev.properties ->> ({PROPERTIES})[{k}] AS v{k}"),
                format!("e.v{k}"),
            ),
            _ => (
                format!("ev.properties -> ({PROPERTIES})[{k}] AS j{k}"),
                format!("billgraph_json_number(e.j{k}) AS v{k}"),
            ),
        };
        let _ = write!(columns, ", {below}");
        let _ = write!(values, ", e.m{k}, {above}");
        let counts = match meter.aggregation {
            Aggregation::Count => format!("e.m{k}"),
            _ => format!("e.m{k} AND e.v{k} IS NOT NULL"),
        };
        let _ = write!(
            aggregates,
            ", count(*) FILTER (WHERE {counts}) AS c{k}, count(*) FILTER (WHERE e.m{k} AND NOT ({counts})) AS s{k}"
        );
        let latest = |column: &str| {
            format!("(array_agg({column} ORDER BY e.at DESC, e.event_id DESC) FILTER (WHERE {counts}))[1]")
        };
        let a = match meter.aggregation {
            Aggregation::Sum | Aggregation::Avg => Aggregates {
                total: format!("sum(e.v{k}) FILTER (WHERE e.m{k})"),
                ..Aggregates::none()
            },
            Aggregation::Max => Aggregates {
                maximum: format!("max(e.v{k}) FILTER (WHERE e.m{k})"),
                ..Aggregates::none()
            },
            Aggregation::Latest => Aggregates {
                latest_at: latest("e.at"),
                latest_event_id: latest("e.event_id"),
                latest_value: latest(&format!("e.v{k}")),
                ..Aggregates::none()
            },
            Aggregation::UniqueCount => Aggregates {
                vals: format!("array_agg(DISTINCT e.v{k}) FILTER (WHERE {counts})"),
                ..Aggregates::none()
            },
            Aggregation::Count => Aggregates::none(),
        };
        let _ = write!(
            aggregates,
            ", {} AS t{k}, {} AS x{k}, {} AS la{k}, {} AS li{k}, {} AS lv{k}, {} AS u{k}",
            a.total, a.maximum, a.latest_at, a.latest_event_id, a.latest_value, a.vals
        );
        rows.push(format!(
            "(({METER_IDS})[{k}], x.c{k}, x.s{k}, x.t{k}::numeric, x.x{k}::numeric, x.la{k}::timestamptz, \
             x.li{k}::text, x.lv{k}::numeric, x.u{k}::text[])"
        ));
    }
    let rows = rows.join(",\n                 ");
    let events = stretch_events_sql(meters);
    format!(
        "SELECT r.ext, r.t_from, r.t_to, u.meter_id, x.bucket, u.event_count, u.skipped, u.total, u.maximum,
                u.latest_at, u.latest_event_id, u.latest_value, u.vals
         FROM raw_ranges r
         CROSS JOIN LATERAL (
             SELECT e.bucket{aggregates}
             FROM (
                 -- The meters' values, each computed once (OFFSET 0: the
                 -- aggregates read them several times).
                 SELECT e.bucket, e.at, e.event_id{values}
                 FROM (
                     -- An index range scan per stretch and event name
                     -- (OFFSET 0 keeps it one, whatever the statistics say).
                     SELECT {bucket_expr} AS bucket, ev.\"timestamp\" AS at, ev.event_id{columns}
                     FROM {events}
                     OFFSET 0
                 ) e
                 OFFSET 0
             ) e
             GROUP BY e.bucket
         ) x
         CROSS JOIN LATERAL (VALUES
                 {rows}
         ) u(meter_id, event_count, skipped, total, maximum, latest_at, latest_event_id, latest_value, vals)
         WHERE u.event_count > 0 OR u.skipped > 0"
    )
}

/// The FROM clause of one stretch's events (`r`) of the meters' event
/// names. Each name is an equality in the index condition, never `= ANY`:
/// the planner may leave an array out of it, and without statistics it did,
/// reading all of a customer's events for every stretch (24 ms against 55
/// ms for a page's statement on the bench seed, and growing with the
/// customer's history). Meters mostly share one event name, which is then
/// bound as it is; several names get a scan each.
fn stretch_events_sql(meters: &[MeterRow]) -> String {
    let range = "ev.tenant_id = $1 AND ev.external_customer_id = r.ext
                       AND ev.\"timestamp\" >= r.r_from AND ev.\"timestamp\" < r.r_to";
    let first = meters.first().map(|m| m.event_name.as_str());
    if meters.iter().all(|m| Some(m.event_name.as_str()) == first) {
        format!("events ev WHERE {range} AND ev.event_name = ({EVENT_NAMES})[1]")
    } else {
        format!(
            "(SELECT DISTINCT unnest({EVENT_NAMES}) AS name) n
                     CROSS JOIN LATERAL (
                         SELECT ev.event_name, ev.properties, ev.\"timestamp\", ev.event_id FROM events ev
                         WHERE {range} AND ev.event_name = n.name
                         OFFSET 0
                     ) ev"
        )
    }
}
