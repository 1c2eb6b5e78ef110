//! Process-wide counters and histograms, rendered in the Prometheus text
//! exposition format. They live in one static because ingestion, billing
//! runs and workers count outside any request. Recording is a few atomic
//! additions: no lock and no allocation on the request path. Labels never
//! carry tenant data: routes are the router's templates (`/v1/customers/{id}`),
//! never the requested path.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorCode;

pub static METRICS: Metrics = Metrics::new();

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BOUNDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Distinct routes counted; more fall into the `other` route.
const ROUTE_SLOTS: usize = 64;
/// Distinct statuses counted per route; more are counted as `other`.
const STATUS_SLOTS: usize = 16;

/// Every error code, in the order of their counters.
const ERROR_CODES: [ErrorCode; 9] = [
    ErrorCode::Unauthenticated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::Validation,
    ErrorCode::Conflict,
    ErrorCode::InsufficientFunds,
    ErrorCode::RateLimited,
    ErrorCode::Timeout,
    ErrorCode::Internal,
];

fn error_code_index(code: ErrorCode) -> usize {
    // Exhaustive, so a new code cannot be left without a counter.
    match code {
        ErrorCode::Unauthenticated => 0,
        ErrorCode::Forbidden => 1,
        ErrorCode::NotFound => 2,
        ErrorCode::Validation => 3,
        ErrorCode::Conflict => 4,
        ErrorCode::InsufficientFunds => 5,
        ErrorCode::RateLimited => 6,
        ErrorCode::Timeout => 7,
        ErrorCode::Internal => 8,
    }
}

pub struct Metrics {
    routes: [RouteSlot; ROUTE_SLOTS],
    other_route: RouteStats,
    graphql_errors: [AtomicU64; ERROR_CODES.len()],
    events_accepted: AtomicU64,
    events_duplicate: AtomicU64,
    events_refused: AtomicU64,
    invoices_created: AtomicU64,
    invoices_finalized: AtomicU64,
    billing_runs: AtomicU64,
}

struct RouteSlot {
    route: OnceLock<Box<str>>,
    stats: RouteStats,
}

struct RouteStats {
    /// Status code 0 marks a free slot; a slot is claimed once, by CAS.
    statuses: [(AtomicU16, AtomicU64); STATUS_SLOTS],
    other_statuses: AtomicU64,
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_micros: AtomicU64,
}

impl RouteStats {
    const fn new() -> Self {
        RouteStats {
            statuses: [const { (AtomicU16::new(0), AtomicU64::new(0)) }; STATUS_SLOTS],
            other_statuses: AtomicU64::new(0),
            buckets: [const { AtomicU64::new(0) }; LATENCY_BOUNDS.len() + 1],
            sum_micros: AtomicU64::new(0),
        }
    }

    fn record(&self, status: u16, latency: Duration) {
        self.status_counter(status).fetch_add(1, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn status_counter(&self, status: u16) -> &AtomicU64 {
        for (code, count) in &self.statuses {
            match code.compare_exchange(0, status, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return count,
                Err(seen) if seen == status => return count,
                Err(_) => {}
            }
        }
        &self.other_statuses
    }
}

impl RouteSlot {
    const fn new() -> Self {
        RouteSlot {
            route: OnceLock::new(),
            stats: RouteStats::new(),
        }
    }
}

/// What one billing run did, as counted.
pub struct BillingCounts {
    pub invoices_created: u64,
    pub invoices_finalized: u64,
}

/// Point-in-time values read when the page is rendered.
pub struct Gauges {
    pub pools: Vec<PoolUse>,
    /// None when it could not be read (e.g. the database is down).
    pub rollup_lag: Option<Duration>,
}

pub struct PoolUse {
    pub name: &'static str,
    pub max_size: usize,
    pub size: usize,
    pub in_use: usize,
    pub waiting: usize,
}

impl Metrics {
    const fn new() -> Self {
        Metrics {
            routes: [const { RouteSlot::new() }; ROUTE_SLOTS],
            other_route: RouteStats::new(),
            graphql_errors: [const { AtomicU64::new(0) }; ERROR_CODES.len()],
            events_accepted: AtomicU64::new(0),
            events_duplicate: AtomicU64::new(0),
            events_refused: AtomicU64::new(0),
            invoices_created: AtomicU64::new(0),
            invoices_finalized: AtomicU64::new(0),
            billing_runs: AtomicU64::new(0),
        }
    }

    /// One answered request; `route` is the router's template.
    pub fn record_request(&self, route: &str, status: u16, latency: Duration) {
        self.route_stats(route).record(status, latency);
    }

    pub fn record_graphql_error(&self, code: ErrorCode) {
        self.graphql_errors[error_code_index(code)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_events(&self, accepted: u64, duplicate: u64, refused: u64) {
        self.events_accepted.fetch_add(accepted, Ordering::Relaxed);
        self.events_duplicate.fetch_add(duplicate, Ordering::Relaxed);
        self.events_refused.fetch_add(refused, Ordering::Relaxed);
    }

    pub fn record_billing_run(&self, counts: BillingCounts) {
        self.billing_runs.fetch_add(1, Ordering::Relaxed);
        self.invoices_created
            .fetch_add(counts.invoices_created, Ordering::Relaxed);
        self.invoices_finalized
            .fetch_add(counts.invoices_finalized, Ordering::Relaxed);
    }

    /// The route's counters, claiming a free slot the first time a route is
    /// seen. Slots are filled in order and never change, so two requests
    /// for the same new route end up in the same slot.
    fn route_stats(&self, route: &str) -> &RouteStats {
        for slot in &self.routes {
            if &**slot.route.get_or_init(|| route.into()) == route {
                return &slot.stats;
            }
        }
        &self.other_route
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let routes = || {
            self.routes
                .iter()
                .filter_map(|slot| slot.route.get().map(|route| (&**route, &slot.stats)))
                .chain(std::iter::once(("other", &self.other_route)))
        };

        header(
            &mut out,
            "billgraph_http_requests_total",
            "counter",
            "HTTP requests answered, by route template and status code.",
        );
        for (route, stats) in routes() {
            let route = escape(route);
            for (code, count) in &stats.statuses {
                let code = code.load(Ordering::Acquire);
                if code != 0 {
                    let count = count.load(Ordering::Relaxed);
                    let _ = writeln!(
                        out,
                        "billgraph_http_requests_total{{route=\"{route}\",status=\"{code}\"}} {count}"
                    );
                }
            }
            let other = stats.other_statuses.load(Ordering::Relaxed);
            if other > 0 {
                let _ = writeln!(
                    out,
                    "billgraph_http_requests_total{{route=\"{route}\",status=\"other\"}} {other}"
                );
            }
        }

        header(
            &mut out,
            "billgraph_http_request_duration_seconds",
            "histogram",
            "Time from receiving a request to its response headers, by route template.",
        );
        for (route, stats) in routes() {
            let counts: Vec<u64> = stats.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BOUNDS.iter().zip(&counts) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "billgraph_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "billgraph_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {total}"
            );
            let sum = stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "billgraph_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "billgraph_http_request_duration_seconds_count{{route=\"{route}\"}} {total}"
            );
        }

        header(
            &mut out,
            "billgraph_graphql_errors_total",
            "counter",
            "Errors in GraphQL responses, by extensions.code.",
        );
        for (code, count) in ERROR_CODES.iter().zip(&self.graphql_errors) {
            let _ = writeln!(
                out,
                "billgraph_graphql_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                count.load(Ordering::Relaxed)
            );
        }

        header(
            &mut out,
            "billgraph_events_total",
            "counter",
            "Usage events received, by outcome: accepted (stored), duplicate (id seen before), refused.",
        );
        for (outcome, count) in [
            ("accepted", &self.events_accepted),
            ("duplicate", &self.events_duplicate),
            ("refused", &self.events_refused),
        ] {
            let _ = writeln!(
                out,
                "billgraph_events_total{{outcome=\"{outcome}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }

        for (name, help, count) in [
            (
                "billgraph_billing_runs_total",
                "Billing runs completed by this process.",
                &self.billing_runs,
            ),
            (
                "billgraph_billing_invoices_created_total",
                "Invoices created by billing runs.",
                &self.invoices_created,
            ),
            (
                "billgraph_billing_invoices_finalized_total",
                "Draft invoices finalized by billing runs.",
                &self.invoices_finalized,
            ),
        ] {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", count.load(Ordering::Relaxed));
        }

        if let Some(lag) = gauges.rollup_lag {
            header(
                &mut out,
                "billgraph_rollup_lag_seconds",
                "gauge",
                "How long the oldest ended quarter hour of usage has waited to be rolled up; 0 when the rollups are current.",
            );
            let _ = writeln!(out, "billgraph_rollup_lag_seconds {}", lag.as_secs());
        }

        header(
            &mut out,
            "billgraph_db_pool_connections",
            "gauge",
            "Database connections of each pool, by state: open, in_use, max.",
        );
        for pool in &gauges.pools {
            for (state, value) in [("open", pool.size), ("in_use", pool.in_use), ("max", pool.max_size)] {
                let _ = writeln!(
                    out,
                    "billgraph_db_pool_connections{{pool=\"{}\",state=\"{state}\"}} {value}",
                    pool.name
                );
            }
        }
        header(
            &mut out,
            "billgraph_db_pool_waiting",
            "gauge",
            "Tasks waiting for a connection of each pool.",
        );
        for pool in &gauges.pools {
            let _ = writeln!(
                out,
                "billgraph_db_pool_waiting{{pool=\"{}\"}} {}",
                pool.name, pool.waiting
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_gauges() -> Gauges {
        Gauges {
            pools: vec![],
            rollup_lag: None,
        }
    }

    #[test]
    fn a_route_is_counted_by_status_with_a_cumulative_histogram() {
        let metrics = Metrics::new();
        metrics.record_request("/graphql", 200, Duration::from_millis(3));
        metrics.record_request("/graphql", 200, Duration::from_millis(30));
        metrics.record_request("/graphql", 400, Duration::from_secs(20));
        let page = metrics.render(&no_gauges());
        assert!(
            page.contains("billgraph_http_requests_total{route=\"/graphql\",status=\"200\"} 2\n"),
            "{page}"
        );
        assert!(
            page.contains("billgraph_http_requests_total{route=\"/graphql\",status=\"400\"} 1\n"),
            "{page}"
        );
        assert!(page.contains("_bucket{route=\"/graphql\",le=\"0.005\"} 1\n"), "{page}");
        assert!(page.contains("_bucket{route=\"/graphql\",le=\"0.05\"} 2\n"), "{page}");
        assert!(page.contains("_bucket{route=\"/graphql\",le=\"10\"} 2\n"), "{page}");
        assert!(page.contains("_bucket{route=\"/graphql\",le=\"+Inf\"} 3\n"), "{page}");
        assert!(
            page.contains("billgraph_http_request_duration_seconds_sum{route=\"/graphql\"} 20.033\n"),
            "{page}"
        );
        assert!(
            page.contains("billgraph_http_request_duration_seconds_count{route=\"/graphql\"} 3\n"),
            "{page}"
        );
    }

    #[test]
    fn routes_and_statuses_beyond_the_slots_are_counted_as_other() {
        let metrics = Metrics::new();
        for i in 0..ROUTE_SLOTS + 2 {
            metrics.record_request(&format!("/r{i}"), 200, Duration::ZERO);
        }
        for status in 200..200 + STATUS_SLOTS as u16 + 3 {
            metrics.record_request("/r0", status, Duration::ZERO);
        }
        let page = metrics.render(&no_gauges());
        assert!(page.contains("{route=\"other\",status=\"200\"} 2\n"), "{page}");
        assert!(page.contains("{route=\"/r0\",status=\"other\"} 3\n"), "{page}");
        assert!(page.contains("{route=\"/r0\",status=\"200\"} 2\n"), "{page}");
    }

    #[test]
    fn every_error_code_has_its_own_counter() {
        let metrics = Metrics::new();
        for (i, code) in ERROR_CODES.iter().enumerate() {
            assert_eq!(error_code_index(*code), i);
            metrics.record_graphql_error(*code);
        }
        let page = metrics.render(&no_gauges());
        for code in ERROR_CODES {
            assert!(page.contains(&format!(
                "billgraph_graphql_errors_total{{code=\"{}\"}} 1\n",
                code.as_str()
            )));
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn concurrent_first_requests_of_a_route_share_one_slot() {
        let metrics = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let metrics = metrics.clone();
                std::thread::spawn(move || {
                    for route in ["/a", "/b", "/c"] {
                        metrics.record_request(route, 200, Duration::ZERO);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let page = metrics.render(&no_gauges());
        for route in ["/a", "/b", "/c"] {
            let line = format!("billgraph_http_requests_total{{route=\"{route}\",status=\"200\"}} 8\n");
            assert_eq!(page.matches(&line).count(), 1, "{page}");
        }
    }
}
