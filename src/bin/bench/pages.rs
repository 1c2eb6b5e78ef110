//! The dashboard pages: each measured alone (median of five) and at
//! concurrency 16, beside the same page written as one hand-made SQL
//! statement that returns the same JSON: the database's own limit, alone
//! and (where one run is short enough) at concurrency 16.
//!
//! "Alone" is a server that has been serving a while: it is measured after
//! the concurrent run, when every pooled connection has run the page's
//! statements more than five times. Before that PostgreSQL plans each
//! prepared statement anew for its values (its first five runs on a
//! connection), which a long-running server no longer pays; the first
//! request is reported on its own (`first_request_ms`). The hand-written
//! statement is prepared too, and warmed the same way where a run is short.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join_all;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::{Api, alone, load, median, median_ms};
use billgraph::db::StatementCounter;
use billgraph::db::prepared::PreparedExt;

/// Page A: relations of 50 roots.
pub const PAGE_A: &str = "query {
    customers(first: 50, filter: { rootsOnly: true }) { edges { node {
        id name
        children(first: 20) { edges { node { id name } } }
        subscriptions(first: 5) { edges { node { id status } } }
        invoices(first: 3) { edges { node { number total lineItems { description amount } } } }
        wallets { id balance }
    } } }
}";

/// Page B: usage of 50 roots' subtrees and of their children's.
pub const PAGE_B: &str = "query($from: DateTime!, $to: DateTime!) {
    customers(first: 50, filter: { rootsOnly: true }) { edges { node {
        id name
        usage(from: $from, to: $to) { value eventCount }
        children(first: 20) { edges { node { id name usage(from: $from, to: $to) { value eventCount } } } }
    } } }
}";

const PAGE_A_SQL: &str = include_str!("page_a.sql");
const PAGE_B_SQL: &str = include_str!("page_b.sql");

#[derive(diesel::QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    json: String,
}

/// The hand-written statement of a page, with its parameters.
pub enum HandSql {
    /// Page A as of the instant given.
    Relations { now: DateTime<Utc> },
    /// Page B over [from, to).
    Usage { from: DateTime<Utc>, to: DateTime<Utc> },
}

impl HandSql {
    async fn run(&self, conn: &mut AsyncPgConnection, tenant: Uuid) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.json_text(conn, tenant).await?)?)
    }

    /// The page's JSON as the database writes it.
    async fn json_text(&self, conn: &mut AsyncPgConnection, tenant: Uuid) -> anyhow::Result<String> {
        let row: Json = match self {
            HandSql::Relations { now } => {
                diesel::sql_query(PAGE_A_SQL)
                    .bind::<SqlUuid, _>(tenant)
                    .bind::<Timestamptz, _>(now)
                    .prepared()
                    .get_result(conn)
                    .await?
            }
            HandSql::Usage { from, to } => {
                diesel::sql_query(PAGE_B_SQL)
                    .bind::<SqlUuid, _>(tenant)
                    .bind::<Timestamptz, _>(from)
                    .bind::<Timestamptz, _>(to)
                    .prepared()
                    .get_result(conn)
                    .await?
            }
        };
        Ok(row.json)
    }

    /// Requests per second of the statement on `concurrency` connections of
    /// its own for `seconds`: the most the database gives the page on this
    /// machine, with no server in between.
    async fn requests_per_s(&self, url: &str, tenant: Uuid, concurrency: usize, seconds: u64) -> anyhow::Result<f64> {
        let mut connections = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            connections.push(AsyncPgConnection::establish(url).await?);
        }
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let runs = try_join_all(connections.iter_mut().map(async |conn| {
            let mut runs = 0u64;
            while Instant::now() < deadline {
                self.json_text(conn, tenant).await?;
                runs += 1;
            }
            anyhow::Ok(runs)
        }))
        .await?;
        Ok(runs.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64())
    }
}

/// How every page is measured.
pub struct Yardstick<'a> {
    pub statements: &'a StatementCounter,
    /// The cluster, for the hand-written statements' own connections.
    pub database_url: &'a str,
    /// How long each page runs at concurrency 16.
    pub seconds: u64,
}

/// One page: its GraphQL request and its hand-written twin.
pub struct Page {
    pub name: &'static str,
    pub query: &'static str,
    pub vars: Value,
    pub hand: HandSql,
    /// Whether the hand-written statement is short enough to be warmed
    /// before it is timed and to run at concurrency 16 too (page B's takes
    /// seconds: 16 of them would outlast the run by far).
    pub hand_under_load: bool,
}

/// Measures the page for `tenant` and its hand-written twin; checks both
/// answer alike.
pub async fn measure(
    yardstick: &Yardstick<'_>,
    api: &Api,
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    page: Page,
) -> anyhow::Result<Value> {
    let Page {
        name,
        query,
        vars,
        hand,
        hand_under_load,
    } = page;
    let (statements, seconds) = (yardstick.statements, yardstick.seconds);
    let (first_ms, per_request) = alone(api, statements, query, vars.clone()).await?;
    let loaded = load(api, query, vars.clone(), 16, seconds).await?;
    let mut report = loaded.report(16);
    eprintln!(
        "  {name} at concurrency 16: {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms; CPU per request: billgraph+client {:.1} ms, PostgreSQL {:.1} ms",
        loaded.requests_per_s(),
        report["p50_ms"].as_f64().unwrap_or(0.0),
        report["p99_ms"].as_f64().unwrap_or(0.0),
        report["billgraph_and_client_cpu_ms_per_request"]
            .as_f64()
            .unwrap_or(0.0),
        report["postgres_cpu_ms_per_request"].as_f64().unwrap_or(0.0),
    );
    let (api_ms, answer) = median_ms(5, async || api.gql(query, vars.clone()).await).await?;
    if hand_under_load {
        // Past the five runs PostgreSQL plans for their values.
        median_ms(6, async || hand.run(conn, tenant).await).await?;
    }
    let (sql_ms, hand_answer) = median_ms(5, async || hand.run(conn, tenant).await).await?;
    let same = normalized(&answer) == normalized(&hand_answer);
    if !same {
        eprintln!(
            "  {name}: the API and the hand-written statement differ\n  api:  {}\n  hand: {}",
            excerpt(&answer),
            excerpt(&hand_answer)
        );
    }
    eprintln!(
        "  {name} alone: {api_ms:.1} ms ({per_request} statements; the first request {first_ms:.1} ms); hand-written SQL {sql_ms:.1} ms"
    );
    if hand_under_load {
        let hand_per_s = hand.requests_per_s(yardstick.database_url, tenant, 16, seconds).await?;
        eprintln!(
            "  {name}'s hand-written SQL at concurrency 16: {hand_per_s:.1} requests/s (the API gives {:.2}x)",
            loaded.requests_per_s() / hand_per_s
        );
        report["hand_sql_requests_per_s"] = json!(hand_per_s);
        report["requests_per_s_vs_hand_sql"] = json!(loaded.requests_per_s() / hand_per_s);
    }
    report["first_request_ms"] = json!(first_ms);
    report["statements_per_request"] = json!(per_request);
    report["alone_median_ms"] = json!(api_ms);
    report["hand_sql_median_ms"] = json!(sql_ms);
    report["alone_vs_hand_sql"] = json!(api_ms / sql_ms);
    report["same_answer_as_hand_sql"] = json!(same);
    Ok(report)
}

/// How much slower a page is alone on the `scaled` tenant than on the
/// `normal` one: the medians of requests sent to each in turn, so that the
/// machine's drift (up to ±20% between two runs minutes apart here) weighs
/// on both alike.
pub async fn alone_growth(normal: &Api, scaled: &Api, query: &str, vars: &Value) -> anyhow::Result<Value> {
    const RUNS: usize = 9;
    let mut times = [Vec::with_capacity(RUNS), Vec::with_capacity(RUNS)];
    for _ in 0..RUNS {
        for (api, times) in [normal, scaled].into_iter().zip(times.iter_mut()) {
            let started = Instant::now();
            api.gql(query, vars.clone()).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let [normal_ms, scaled_ms] = times.map(median);
    Ok(json!({ "normal_median_ms": normal_ms, "scaled_median_ms": scaled_ms, "growth": scaled_ms / normal_ms }))
}

/// Numbers written as decimal strings compare by value ("36" = "36.0").
fn normalized(value: &Value) -> Value {
    match value {
        Value::String(s) => match s.parse::<Decimal>() {
            Ok(d) if s.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') => {
                Value::String(d.normalize().to_string())
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalized(v))).collect()),
        _ => value.clone(),
    }
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(600).collect()
}
