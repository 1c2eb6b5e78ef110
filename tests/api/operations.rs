//! Operations: one log line per request (checked on the real binary's
//! stderr) and the Prometheus exposition at /metrics.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};

use crate::support::TestApp;

/// The samples of an exposition page, by name with labels. Panics on a
/// line that is not in the text format, or a sample of an undeclared family.
fn parse_exposition(page: &str) -> HashMap<String, f64> {
    let mut families: HashMap<&str, &str> = HashMap::new();
    let mut samples = HashMap::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a name and a text");
            assert!(is_metric_name(name) && !help.is_empty(), "bad HELP line {line:?}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert!(is_metric_name(name), "bad TYPE line {line:?}");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "bad TYPE line {line:?}"
            );
            assert!(families.insert(name, kind).is_none(), "family declared twice: {line:?}");
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample {line:?}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let name = series.split('{').next().unwrap();
            assert!(is_metric_name(name), "bad sample name in {line:?}");
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                let labels = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("bad labels in {line:?}"));
                for label in labels.split(',') {
                    let (key, quoted) = label.split_once('=').unwrap_or_else(|| panic!("bad label in {line:?}"));
                    assert!(is_metric_name(key), "bad label name in {line:?}");
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "{line:?}"
                    );
                }
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|base| families.get(base) == Some(&"histogram"))
                })
                .unwrap_or(name);
            assert!(families.contains_key(family), "sample before its TYPE: {line:?}");
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "repeated series {line:?}"
            );
        }
    }
    samples
}

fn is_metric_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

async fn scrape(app: &TestApp) -> (String, HashMap<String, f64>) {
    let (status, headers, body) = app.respond(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    let page = String::from_utf8(body).unwrap();
    let samples = parse_exposition(&page);
    (page, samples)
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// Counters are process-wide and other tests run beside this one, so a
/// counter is checked to have moved by at least what this test did.
fn assert_grew(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str, by: f64) {
    let (b, a) = (value(before, series), value(after, series));
    assert!(a - b >= by, "{series} went from {b} to {a}, expected at least +{by}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_parse_and_move_with_requests_errors_events_and_billing() {
    let app = TestApp::new().await;
    let (_, before) = scrape(&app).await;

    app.ok("query { customers(first: 1) { totalCount } }", json!({})).await;
    app.gql("query { customers(first: 1) { totalCount unknownField } }", json!({}))
        .await
        .assert_error("VALIDATION", None);
    let unauthenticated = app.gql_as(None, "{ customers { totalCount } }", json!({})).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(Request::get("/no/such/path/1234").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let result = app
        .ok(
            "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted duplicates refused } }",
            json!({ "events": [
                { "eventId": "m-1", "eventName": "api_call", "externalCustomerId": "c-1" },
                { "eventId": "m-2", "eventName": "api_call", "externalCustomerId": "c-1" },
                { "eventId": "m-1", "eventName": "api_call", "externalCustomerId": "c-1" },
                { "eventName": "api_call", "externalCustomerId": "c-1",
                  "timestamp": (Utc::now() + Duration::days(1)).to_rfc3339() },
            ] }),
        )
        .await;
    assert_eq!(
        result["ingestEvents"],
        json!({ "accepted": 2, "duplicates": 1, "refused": 1 })
    );

    let plan = app
        .ok(
            "mutation { createPlan(input: { name: \"Daily\", prices: [{ currency: \"USD\", billingPeriod: DAILY,
                type: FIXED, amount: \"2\", invoiceCadence: ADVANCE }] }) { id } }",
            json!({}),
        )
        .await["createPlan"]["id"]
        .clone();
    let customer = app.create_customer("billed", None).await;
    app.ok(
        "mutation($c: UUID!, $p: UUID!, $s: DateTime!) {
            createSubscription(input: { customerId: $c, planId: $p, startAt: $s }) { id } }",
        json!({ "c": customer, "p": plan, "s": (Utc::now() - Duration::hours(49)).to_rfc3339() }),
    )
    .await;
    let summary =
        billgraph::billing::run::run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
            .await
            .unwrap();
    assert_eq!(summary.invoices_created, 3);

    let (page, after) = scrape(&app).await;
    assert_grew(
        &before,
        &after,
        r#"billgraph_http_requests_total{route="/graphql",status="200"}"#,
        6.0,
    );
    assert_grew(
        &before,
        &after,
        r#"billgraph_http_requests_total{route="/graphql",status="401"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"billgraph_http_requests_total{route="unmatched",status="404"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"billgraph_http_request_duration_seconds_count{route="/graphql"}"#,
        7.0,
    );
    assert_grew(
        &before,
        &after,
        r#"billgraph_http_request_duration_seconds_bucket{route="/graphql",le="+Inf"}"#,
        7.0,
    );
    assert_grew(
        &before,
        &after,
        r#"billgraph_graphql_errors_total{code="VALIDATION"}"#,
        1.0,
    );
    assert_grew(&before, &after, r#"billgraph_events_total{outcome="accepted"}"#, 2.0);
    assert_grew(&before, &after, r#"billgraph_events_total{outcome="duplicate"}"#, 1.0);
    assert_grew(&before, &after, r#"billgraph_events_total{outcome="refused"}"#, 1.0);
    assert_grew(&before, &after, "billgraph_billing_runs_total", 1.0);
    assert_grew(&before, &after, "billgraph_billing_invoices_created_total", 3.0);
    assert_eq!(
        value(&after, r#"billgraph_db_pool_connections{pool="main",state="max"}"#),
        8.0
    );
    assert!(after.contains_key(r#"billgraph_db_pool_connections{pool="main",state="in_use"}"#));
    assert!(after.contains_key(r#"billgraph_db_pool_waiting{pool="auth"}"#));
    assert!(after.contains_key("billgraph_billing_invoices_finalized_total"));

    // Nothing that names a tenant or what it asked for.
    let tenant = tenant_id(&app, "acme").await;
    for secret in [tenant.as_str(), app.key.as_str(), "/no/such/path", "c-1", "billed"] {
        assert!(!page.contains(secret), "the metrics page shows {secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollup_lag_shows_usage_waiting_to_be_rolled_up() {
    let app = TestApp::new().await;
    let (_, samples) = scrape(&app).await;
    assert_eq!(value(&samples, "billgraph_rollup_lag_seconds"), 0.0);
    let three_hours_ago = Utc::now() - Duration::hours(3);
    app.ok(
        "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted } }",
        json!({ "events": [{ "eventName": "api_call", "externalCustomerId": "c-1", "timestamp": three_hours_ago.to_rfc3339() }] }),
    )
    .await;
    let (_, samples) = scrape(&app).await;
    let lag = value(&samples, "billgraph_rollup_lag_seconds");
    // The event's quarter hour ended over 2.5 hours ago and was due 10 minutes later.
    assert!(lag >= 3600.0, "lag {lag}");
    billgraph::usage::rollups::roll_up_ended_days(&app.state.pool, Utc::now())
        .await
        .unwrap();
    let (_, samples) = scrape(&app).await;
    assert_eq!(value(&samples, "billgraph_rollup_lag_seconds"), 0.0);
}

async fn tenant_id(app: &TestApp, name: &str) -> String {
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    billgraph::db::tenants::ensure_tenant(&mut conn, name)
        .await
        .unwrap()
        .id
        .to_string()
}

/// The server binary, killed when dropped.
struct Server {
    child: Child,
    /// Kept open: a closed pipe would fail the server's next print.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    api: String,
    metrics: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(app: &TestApp, log_format: &str, stderr: std::fs::File) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billgraph"))
        .arg("serve")
        .env("DATABASE_URL", &app.url)
        .env("BILLGRAPH_LISTEN", "127.0.0.1:0")
        .env("BILLGRAPH_METRICS_LISTEN", "127.0.0.1:0")
        .env("BILLGRAPH_LOG_FORMAT", log_format)
        .env("BILLGRAPH_DEV_TENANT", "false")
        .env("BILLGRAPH_SECRET_KEY", billgraph::secrets::TEST_KEY)
        .env("BILLGRAPH_ROLLUP_INTERVAL_SECS", "0")
        .env("BILLGRAPH_BILLING_INTERVAL_SECS", "0")
        .env("BILLGRAPH_WEBHOOK_WORKERS", "0")
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("starting the server binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut api, mut metrics) = (None, None);
    for line in stdout.by_ref() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("billgraph listening on ") {
            api = Some(addr.trim().to_string());
        } else if let Some(url) = line.trim().strip_prefix("metrics:") {
            metrics = Some(url.trim().to_string());
        }
        if api.is_some() && metrics.is_some() {
            break;
        }
    }
    Server {
        child,
        _stdout: stdout,
        api: api.expect("the server printed its address"),
        metrics: metrics.expect("the server printed its metrics address"),
    }
}

async fn probe(server: &Server, key: &str, request_id: &str) {
    let client = billgraph::outbound::client(std::time::Duration::from_secs(10));
    let answer = client
        .post(format!("{}/graphql", server.api))
        .header("x-api-key", key)
        .header("x-request-id", request_id)
        .header("content-type", "application/json")
        .body(json!({ "query": "query OpsProbe { customers(first: 1) { totalCount } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let refused = client
        .post(format!("{}/graphql", server.api))
        .header("x-request-id", format!("{request_id}-nokey"))
        .header("content-type", "application/json")
        .body(json!({ "query": "{ customers { totalCount } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // /metrics lives on its own listener when one is set.
    let on_api = client.get(format!("{}/metrics", server.api)).send().await.unwrap();
    assert_eq!(on_api.status(), 404);
    let page = client.get(&server.metrics).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let samples = parse_exposition(&page.text().await.unwrap());
    assert!(
        value(
            &samples,
            r#"billgraph_http_requests_total{route="/graphql",status="200"}"#
        ) >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_logs_one_line_without_colour_codes_when_stderr_is_a_file() {
    let app = TestApp::new().await;
    let tenant = tenant_id(&app, "acme").await;
    let dir = std::env::temp_dir().join(format!("billgraph-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();

    let text_log = dir.join("text.log");
    let server = start_server(&app, "text", std::fs::File::create(&text_log).unwrap());
    let request_id = format!("ops-{}", uuid::Uuid::new_v4().simple());
    probe(&server, &app.key, &request_id).await;
    drop(server);
    let log = std::fs::read_to_string(&text_log).unwrap();
    assert!(!log.contains('\u{1b}'), "ANSI escape codes in a log file:\n{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("request_id={request_id} ")))
        .collect();
    assert_eq!(lines.len(), 1, "one line for the request:\n{log}");
    for part in [
        " INFO ",
        "method=POST",
        "path=/graphql",
        "operation=\"OpsProbe\"",
        "status=200",
        "latency_ms=",
        &format!("tenant_id={tenant}"),
    ] {
        assert!(lines[0].contains(part), "{part:?} missing from {:?}", lines[0]);
    }
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("request_id={request_id}-nokey")))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(
        refused[0].contains("status=401") && !refused[0].contains("tenant_id"),
        "{}",
        refused[0]
    );

    let json_log = dir.join("json.log");
    let server = start_server(&app, "json", std::fs::File::create(&json_log).unwrap());
    let request_id = format!("ops-{}", uuid::Uuid::new_v4().simple());
    probe(&server, &app.key, &request_id).await;
    drop(server);
    let log = std::fs::read_to_string(&json_log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .filter(|l: &Value| l["fields"]["request_id"] == request_id.as_str())
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    let fields = &lines[0]["fields"];
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["path"], "/graphql");
    assert_eq!(fields["operation"], "OpsProbe");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["tenant_id"], tenant.as_str());
    assert!(fields["latency_ms"].as_f64().is_some(), "{fields}");
    let _ = std::fs::remove_dir_all(&dir);
}
