//! Usage of a customer and its subtree, for each aggregation, against
//! values computed by hand.

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::support::TestApp;

const CREATE_METER: &str = "mutation($input: CreateMeterInput!) { createMeter(input: $input) { id } }";
const INGEST: &str =
    "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted duplicates refused } }";
const USAGE: &str =
    "query($id: UUID!, $from: DateTime, $to: DateTime, $meters: [UUID!], $children: Boolean!, $window: UsageWindow) {
    customer(id: $id) { usage(from: $from, to: $to, meterIds: $meters, includeChildren: $children, window: $window) {
        meter { id } value eventCount skippedEvents windows { start end value eventCount }
    } }
}";

struct Tree {
    root: String,
    a: String,
    b: String,
    a1: String,
}

/// root -> (a -> a1), b
async fn tree(app: &TestApp) -> Tree {
    let root = app.create_customer("r", None).await;
    let a = app.create_customer("a", Some(&root)).await;
    let b = app.create_customer("b", Some(&root)).await;
    let a1 = app.create_customer("a1", Some(&a)).await;
    Tree { root, a, b, a1 }
}

async fn meter(app: &TestApp, name: &str, aggregation: &str, property: Option<&str>, filters: Value) -> String {
    meter_of(app, "api_call", name, aggregation, property, filters).await
}

/// A meter of the events named `event_name`.
async fn meter_of(
    app: &TestApp,
    event_name: &str,
    name: &str,
    aggregation: &str,
    property: Option<&str>,
    filters: Value,
) -> String {
    let input = json!({ "name": name, "eventName": event_name, "aggregation": aggregation,
        "property": property, "filters": filters });
    app.ok(CREATE_METER, json!({ "input": input })).await["createMeter"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn base() -> DateTime<Utc> {
    (Utc::now() - Duration::hours(3))
        .duration_trunc(Duration::hours(1))
        .unwrap()
}

fn event(id: &str, customer: &str, minutes: i64, properties: Value) -> Value {
    json!({ "eventId": id, "eventName": "api_call", "externalCustomerId": customer,
        "timestamp": (base() + Duration::minutes(minutes)).to_rfc3339(), "properties": properties })
}

/// The hand-computed data set: tokens per customer, a non-numeric and a
/// missing value, users for UNIQUE_COUNT, regions for filters.
fn events() -> Vec<Value> {
    vec![
        event("e1", "r", 10, json!({ "tokens": 10, "user": "u1", "region": "eu" })),
        event("e2", "r", 20, json!({ "tokens": "20", "user": "u2", "region": "us" })),
        event("e3", "a", 30, json!({ "tokens": 5, "user": "u1", "region": "eu" })),
        event("e4", "a", 40, json!({ "tokens": "abc", "user": "u1" })),
        event("e5", "a", 50, json!({ "user": "u1" })),
        event("e6", "b", 70, json!({ "tokens": 7.5, "user": "u2", "region": "eu" })),
        event("e7", "a1", 80, json!({ "tokens": 100, "user": "u3", "region": "apac" })),
        event("e8", "a1", 90, json!({ "tokens": 1, "user": "u1", "region": "eu" })),
        // Another event name: no meter counts it.
        json!({ "eventId": "e9", "eventName": "login", "externalCustomerId": "r",
            "timestamp": (base() + Duration::minutes(15)).to_rfc3339() }),
    ]
}

async fn usage(app: &TestApp, customer: &str, meters: &[&str], children: bool) -> Vec<Value> {
    let vars = json!({ "id": customer, "from": base().to_rfc3339(), "to": (base() + Duration::hours(3)).to_rfc3339(),
        "meters": meters, "children": children });
    app.ok(USAGE, vars).await["customer"]["usage"]
        .as_array()
        .unwrap()
        .clone()
}

fn decimal(v: &Value) -> Option<Decimal> {
    v.as_str().map(|s| s.parse::<Decimal>().unwrap().normalize())
}

/// value, eventCount and skippedEvents of one meter's usage.
fn totals(u: &Value) -> (Option<Decimal>, i64, i64) {
    (
        decimal(&u["value"]),
        u["eventCount"].as_i64().unwrap(),
        u["skippedEvents"].as_i64().unwrap(),
    )
}

/// value, eventCount and skippedEvents of a single-meter usage.
async fn one(app: &TestApp, customer: &str, meter: &str, children: bool) -> (Option<Decimal>, i64, i64) {
    let u = usage(app, customer, &[meter], children).await;
    assert_eq!(u.len(), 1, "{u:?}");
    assert_eq!(u[0]["meter"]["id"], meter);
    totals(&u[0])
}

fn d(s: &str) -> Option<Decimal> {
    Some(s.parse::<Decimal>().unwrap().normalize())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_aggregation_is_right_for_a_subtree() {
    let app = TestApp::new().await;
    let t = tree(&app).await;
    let count = meter(&app, "calls", "COUNT", None, json!([])).await;
    let sum = meter(&app, "tokens", "SUM", Some("tokens"), json!([])).await;
    let max = meter(&app, "peak", "MAX", Some("tokens"), json!([])).await;
    let avg = meter(&app, "mean", "AVG", Some("tokens"), json!([])).await;
    let unique = meter(&app, "users", "UNIQUE_COUNT", Some("user"), json!([])).await;
    let latest = meter(&app, "last", "LATEST", Some("tokens"), json!([])).await;
    let eu = meter(
        &app,
        "eu calls",
        "COUNT",
        None,
        json!([{ "key": "region", "values": ["eu", "apac"] }]),
    )
    .await;
    let res = app.ok(INGEST, json!({ "events": events() })).await;
    assert_eq!(res["ingestEvents"]["accepted"], 9);

    // COUNT adds up over the subtree.
    assert_eq!(one(&app, &t.root, &count, true).await, (d("8"), 8, 0));
    assert_eq!(one(&app, &t.a, &count, true).await, (d("5"), 5, 0));
    assert_eq!(one(&app, &t.a, &count, false).await, (d("3"), 3, 0));
    assert_eq!(one(&app, &t.b, &count, true).await, (d("1"), 1, 0));
    // SUM: 10 + 20 + 5 + 7.5 + 100 + 1; "abc" and the missing value are skipped.
    assert_eq!(one(&app, &t.root, &sum, true).await, (d("143.5"), 6, 2));
    assert_eq!(one(&app, &t.a, &sum, true).await, (d("106"), 3, 2));
    assert_eq!(one(&app, &t.root, &sum, false).await, (d("30"), 2, 0));
    // MAX is the maximum of the subtree.
    assert_eq!(one(&app, &t.root, &max, true).await, (d("100"), 6, 2));
    assert_eq!(one(&app, &t.b, &max, true).await, (d("7.5"), 1, 0));
    // AVG over all counted events of the subtree: 143.5 / 6 (not an average of averages).
    let (mean, n, skipped) = one(&app, &t.root, &avg, true).await;
    assert_eq!((n, skipped), (6, 2));
    assert_eq!(mean.unwrap().round_dp(10), Decimal::new(2391666666667, 11).round_dp(10));
    // UNIQUE_COUNT counts distinct users over the subtree: u1, u2, u3 (the
    // per-customer counts would add up to 6).
    assert_eq!(one(&app, &t.root, &unique, true).await, (d("3"), 8, 0));
    assert_eq!(one(&app, &t.a, &unique, true).await, (d("2"), 5, 0));
    // LATEST is the latest counted event across the subtree (a1's at +90 min).
    assert_eq!(one(&app, &t.root, &latest, true).await.0, d("1"));
    assert_eq!(one(&app, &t.b, &latest, true).await.0, d("7.5"));
    // Filters: region eu or apac.
    assert_eq!(one(&app, &t.root, &eu, true).await, (d("5"), 5, 0));
    // A customer without events: counts are 0, MAX has no value.
    let lonely = app.create_customer("lonely", None).await;
    assert_eq!(one(&app, &lonely, &count, true).await, (d("0"), 0, 0));
    assert_eq!(one(&app, &lonely, &max, true).await, (None, 0, 0));
    // Without meterIds: every active meter, in creation order.
    let all = usage(&app, &t.a1, &[], true).await;
    let ids: Vec<&str> = all.iter().map(|u| u["meter"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![&count, &sum, &max, &avg, &unique, &latest, &eu]);
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_split_the_range_into_a_time_series() {
    let app = TestApp::new().await;
    let t = tree(&app).await;
    let sum = meter(&app, "tokens", "SUM", Some("tokens"), json!([])).await;
    app.ok(INGEST, json!({ "events": events() })).await;
    let vars = json!({ "id": t.root, "from": base().to_rfc3339(), "to": (base() + Duration::hours(3)).to_rfc3339(),
        "meters": [sum], "children": true, "window": "HOUR" });
    let u = app.ok(USAGE, vars).await["customer"]["usage"][0].clone();
    assert_eq!(decimal(&u["value"]), d("143.5"));
    let windows = u["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2, "{windows:?}");
    // First hour: 10 + 20 + 5; second: 7.5 + 100 + 1.
    assert_eq!(decimal(&windows[0]["value"]), d("35"));
    assert_eq!(decimal(&windows[1]["value"]), d("108.5"));
    let start: DateTime<Utc> = windows[0]["start"].as_str().unwrap().parse().unwrap();
    let end: DateTime<Utc> = windows[0]["end"].as_str().unwrap().parse().unwrap();
    assert_eq!((start, end), (base(), base() + Duration::hours(1)));
    // Too many windows for the range is refused.
    let vars = json!({ "id": t.root, "from": (base() - Duration::days(100)).to_rfc3339(),
        "to": base().to_rfc3339(), "children": true, "window": "HOUR" });
    app.gql(USAGE, vars).await.assert_error("VALIDATION", Some("window"));
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_customers_still_count_for_their_ancestors_and_a_reused_id_starts_fresh() {
    let app = TestApp::new().await;
    let t = tree(&app).await;
    let count = meter(&app, "calls", "COUNT", None, json!([])).await;
    app.ok(INGEST, json!({ "events": events() })).await;
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": t.a1 }),
    )
    .await;
    assert_eq!(one(&app, &t.root, &count, true).await.1, 8);
    assert_eq!(one(&app, &t.a, &count, true).await.1, 5);

    // The freed id goes to a new customer under b; its events from now on are
    // its own, and a1's history stays with a.
    let newcomer = app.create_customer("a1", Some(&t.b)).await;
    let now_event = json!({ "eventId": "later", "eventName": "api_call", "externalCustomerId": "a1",
        "timestamp": (Utc::now() + Duration::seconds(2)).to_rfc3339() });
    app.ok(INGEST, json!({ "events": [now_event] })).await;
    let span = |id: &str| {
        json!({ "id": id, "from": base().to_rfc3339(), "to": (Utc::now() + Duration::minutes(5)).to_rfc3339(),
            "meters": [count], "children": true })
    };
    let count_of = |data: Value| data["customer"]["usage"][0]["eventCount"].as_i64().unwrap();
    assert_eq!(count_of(app.ok(USAGE, span(&newcomer)).await), 1);
    assert_eq!(count_of(app.ok(USAGE, span(&t.a)).await), 5);
    assert_eq!(count_of(app.ok(USAGE, span(&t.b)).await), 2);
    assert_eq!(count_of(app.ok(USAGE, span(&t.root)).await), 9);
}

const DASHBOARD: &str = "query($first: Int!, $from: DateTime!, $to: DateTime!) {
    customers(first: $first, filter: { rootsOnly: true }) { edges { node {
        usage(from: $from, to: $to) { value eventCount }
        children(first: 20) { edges { node { usage(from: $from, to: $to) { value } } } }
    } } }
}";

#[tokio::test(flavor = "multi_thread")]
async fn usage_of_a_page_and_its_children_is_one_statement_per_level() {
    let app = TestApp::new().await;
    meter(&app, "calls", "COUNT", None, json!([])).await;
    meter(&app, "tokens", "SUM", Some("tokens"), json!([])).await;
    let mut batch = Vec::new();
    for r in 0..30 {
        let root = app.create_customer(&format!("root{r}"), None).await;
        for c in 0..3 {
            let child = format!("child{r}-{c}");
            app.create_customer(&child, Some(&root)).await;
            batch.push(event(&format!("ev{r}-{c}"), &child, 5, json!({ "tokens": c + 1 })));
        }
    }
    app.ok(INGEST, json!({ "events": batch })).await;
    let vars = |first: usize| json!({ "first": first, "from": base().to_rfc3339(), "to": Utc::now().to_rfc3339() });

    let before = app.statements();
    let small = app.ok(DASHBOARD, vars(2)).await;
    let small_count = app.statements() - before;
    let before = app.statements();
    let large = app.ok(DASHBOARD, vars(30)).await;
    let large_count = app.statements() - before;
    assert_eq!(small["customers"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(large["customers"]["edges"].as_array().unwrap().len(), 30);
    assert_eq!(small_count, large_count, "usage statements grew with the page size");
    // auth, list, meters, usage of the roots and their children (two
    // halves side by side, each with its BEGIN and COMMIT: see
    // `db::generic_plan`), children.
    assert!(large_count <= 10, "{large_count} statements");
    // Each root sees its three children's 3 events, tokens 1 + 2 + 3.
    for edge in large["customers"]["edges"].as_array().unwrap() {
        let usage = &edge["node"]["usage"];
        assert_eq!(usage[0]["eventCount"], 3);
        assert_eq!(decimal(&usage[1]["value"]), d("6"));
    }
}

const FAMILY: &str = "query($first: Int!, $after: String, $window: UsageWindow) {
    customers(first: $first, filter: { rootsOnly: true }) { edges { node {
        id usage(window: $window) { meter { id } value eventCount skippedEvents windows { start value eventCount } }
        children(first: 100, after: $after) { edges { node {
            id usage(window: $window) { meter { id } value eventCount skippedEvents windows { start value eventCount } }
        } } }
    } } }
}";

/// The same children's usage, asked one customer at a time.
async fn usage_alone(app: &TestApp, customer: &str, window: Option<&str>) -> Value {
    let query = "query($id: UUID!, $window: UsageWindow) { customer(id: $id) {
        usage(window: $window) { meter { id } value eventCount skippedEvents windows { start value eventCount } }
    } }";
    app.ok(query, json!({ "id": customer, "window": window })).await["customer"]["usage"].clone()
}

/// The statement that aggregates the roots' subtrees also answers their
/// children's (the first 100 of each, in the children connection's order),
/// exactly as asking for each child alone does; children past those are
/// loaded by a statement of their own, and a mutation never uses a value
/// worked out before it wrote.
#[tokio::test(flavor = "multi_thread")]
async fn children_usage_comes_from_their_parents_statement_and_matches_asking_alone() {
    let app = TestApp::new().await;
    every_aggregation(&app).await;
    // big -> 102 children; small -> two children, each with two of its own.
    let big = app.create_customer("big", None).await;
    let mut externals = vec!["big".to_string()];
    let mut big_children = Vec::new();
    for c in 0..102 {
        let external = format!("big-{c}");
        big_children.push(app.create_customer(&external, Some(&big)).await);
        externals.push(external);
    }
    let small = app.create_customer("small", None).await;
    externals.push("small".to_string());
    for c in 0..2 {
        let child = app.create_customer(&format!("small-{c}"), Some(&small)).await;
        externals.push(format!("small-{c}"));
        for g in 0..2 {
            let external = format!("small-{c}-{g}");
            app.create_customer(&external, Some(&child)).await;
            externals.push(external);
        }
    }
    let names: Vec<&str> = externals.iter().map(String::as_str).collect();
    app.ok(INGEST, json!({ "events": spread_events("fam", &names, 600) }))
        .await;

    for window in [None, Some("HOUR"), Some("DAY")] {
        let before = app.statements();
        let page = app.ok(FAMILY, json!({ "first": 2, "window": window })).await;
        let primed = app.statements() - before;
        // auth, roots, meters to report, roots' and children's usage (two
        // halves, each with its BEGIN and COMMIT), children pages,
        // `meter { id }`.
        assert!(primed <= 11, "{window:?}: {primed} statements");
        let mut children_seen = 0;
        for root in page["customers"]["edges"].as_array().unwrap() {
            let node = &root["node"];
            let id = node["id"].as_str().unwrap();
            assert_eq!(
                node["usage"],
                usage_alone(&app, id, window).await,
                "{window:?} root {id}"
            );
            for child in node["children"]["edges"].as_array().unwrap() {
                let id = child["node"]["id"].as_str().unwrap();
                assert_eq!(
                    child["node"]["usage"],
                    usage_alone(&app, id, window).await,
                    "{window:?} child {id}"
                );
                children_seen += 1;
            }
        }
        assert_eq!(children_seen, 102, "{window:?}");

        // Past the first 100 children: the two left are loaded on their own.
        let cursor = {
            let query = "query($id: UUID!) { customer(id: $id) { children(first: 100) { pageInfo { endCursor } } } }";
            app.ok(query, json!({ "id": big })).await["customer"]["children"]["pageInfo"]["endCursor"].clone()
        };
        let before = app.statements();
        let rest = app
            .ok(FAMILY, json!({ "first": 2, "after": cursor, "window": window }))
            .await;
        // Their meters to report and usage (one statement, with its BEGIN
        // and COMMIT, for each of the two), and then `meter { id }`, in a
        // round of their own.
        assert_eq!(app.statements() - before, primed + 8, "{window:?}: the rest is loaded");
        let big_node = rest["customers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["id"] == json!(big))
            .unwrap();
        let last_two: Vec<&Value> = big_node["node"]["children"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(last_two.len(), 2);
        for (child, expected_id) in last_two.iter().zip(&big_children[100..]) {
            assert_eq!(child["node"]["id"], json!(expected_id));
            let alone = usage_alone(&app, expected_id, window).await;
            assert_eq!(child["node"]["usage"], alone, "{window:?} child {expected_id}");
        }
    }

    // In a mutation nothing is primed: the children's usage read after
    // ingesting shows the new event, though the same children were read
    // with their parent's subtree before it.
    let mutation = "mutation($events: [EventInput!]!, $id: UUID!) {
        before: updateCustomer(id: $id, input: { name: \"big\" }) {
            usage { eventCount } children(first: 1) { edges { node { usage { eventCount } } } }
        }
        ingestEvents(events: $events) { accepted }
        after: updateCustomer(id: $id, input: { name: \"big\" }) {
            usage { eventCount } children(first: 1) { edges { node { usage { eventCount } } } }
        }
    }";
    let late = vec![event("fam-late", "big-0", 1, json!({ "tokens": 1, "user": "u1" }))];
    let data = app.ok(mutation, json!({ "events": late, "id": big })).await;
    assert_eq!(data["ingestEvents"]["accepted"], 1);
    let counts = |usage: &Value| -> Vec<i64> {
        usage
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["eventCount"].as_i64().unwrap())
            .collect()
    };
    let child_counts = |side: &str| counts(&data[side]["children"]["edges"][0]["node"]["usage"]);
    // The event counts for every meter (a number of tokens, user u1).
    let expected: Vec<i64> = child_counts("before").iter().map(|n| n + 1).collect();
    assert_eq!(child_counts("after"), expected);
    let expected: Vec<i64> = counts(&data["before"]["usage"]).iter().map(|n| n + 1).collect();
    assert_eq!(counts(&data["after"]["usage"]), expected);
}

/// A page that lists parents and children side by side, each with its
/// children's usage: the children's usage on the nested level is the one
/// the page's own statement worked out.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_parents_and_children_answers_nested_children_usage_from_its_own_statement() {
    let app = TestApp::new().await;
    every_aggregation(&app).await;
    let t = tree(&app).await;
    app.ok(
        INGEST,
        json!({ "events": spread_events("side", &["r", "a", "b", "a1"], 200) }),
    )
    .await;
    let query = "{ customers(first: 10) { edges { node { id
        usage { meter { id } value eventCount skippedEvents }
        children(first: 10) { edges { node { id usage { meter { id } value eventCount skippedEvents } } } }
    } } } }";
    let before = app.statements();
    let page = app.ok(query, json!({})).await;
    let statements = app.statements() - before;
    // auth, list, meters to report, usage (two halves, each with its BEGIN
    // and COMMIT), children pages, `meter { id }`.
    assert!(statements <= 11, "{statements} statements");
    let mut nested = Vec::new();
    for edge in page["customers"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        for child in node["children"]["edges"].as_array().unwrap() {
            let id = child["node"]["id"].as_str().unwrap();
            let alone = usage_alone(&app, id, None).await;
            let alone: Vec<Value> = alone
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    json!({ "meter": u["meter"], "value": u["value"], "eventCount": u["eventCount"],
                    "skippedEvents": u["skippedEvents"] })
                })
                .collect();
            assert_eq!(child["node"]["usage"], json!(alone), "child {id}");
            nested.push(id.to_string());
        }
    }
    // r -> a, b; a -> a1.
    let mut expected = vec![t.a, t.b, t.a1];
    expected.sort();
    nested.sort();
    assert_eq!(nested, expected);
}

/// Usage with its default range ("the last 30 days up to now") and each
/// window: every customer of the request must get the same range, so the
/// loader still answers a level in one statement.
#[tokio::test(flavor = "multi_thread")]
async fn default_ranges_share_one_clock_so_usage_stays_one_statement_per_level() {
    let app = TestApp::new().await;
    meter(&app, "calls", "COUNT", None, json!([])).await;
    let mut batch = Vec::new();
    for r in 0..20 {
        let root = app.create_customer(&format!("root{r}"), None).await;
        for c in 0..2 {
            let child = format!("child{r}-{c}");
            app.create_customer(&child, Some(&root)).await;
            batch.push(event(&format!("ev{r}-{c}"), &child, 5, json!({})));
        }
    }
    app.ok(INGEST, json!({ "events": batch })).await;
    for window in ["", "(window: HOUR)", "(window: DAY)", "(window: MONTH)"] {
        let query = format!(
            "query($first: Int!) {{ customers(first: $first, filter: {{ rootsOnly: true }}) {{ edges {{ node {{
                usage{window} {{ eventCount windows {{ eventCount }} }}
                children(first: 20) {{ edges {{ node {{ usage{window} {{ eventCount }} }} }} }}
            }} }} }} }}"
        );
        let mut counts = Vec::new();
        for first in [2, 20] {
            let before = app.statements();
            let data = app.ok(&query, json!({ "first": first })).await;
            counts.push(app.statements() - before);
            let edges = data["customers"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), first);
            for edge in edges {
                assert_eq!(edge["node"]["usage"][0]["eventCount"], 2, "{window}");
                for child in edge["node"]["children"]["edges"].as_array().unwrap() {
                    assert_eq!(child["node"]["usage"][0]["eventCount"], 1, "{window}");
                }
            }
        }
        assert_eq!(
            counts[0], counts[1],
            "usage{window}: statements grew with the page size"
        );
        // auth, list, meters, usage of the roots and their children (two
        // halves side by side, each with its BEGIN and COMMIT), children.
        assert!(counts[1] <= 10, "usage{window}: {} statements", counts[1]);
    }
}

/// Events over the last five days, at awkward times of day.
fn spread_events(prefix: &str, customers: &[&str], count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let minutes_ago = (n as i64 * 617) % (5 * 24 * 60) + 1;
            // Some users appear once, so each day adds distinct values of its own.
            let user = if n % 7 == 0 {
                format!("solo{n}")
            } else {
                format!("u{}", n % 11)
            };
            let mut properties = json!({ "tokens": (n % 37) as f64 * 1.25, "user": user });
            if n % 13 == 0 {
                properties["tokens"] = json!("n/a");
            }
            json!({ "eventId": format!("{prefix}{n}"), "eventName": "api_call",
                "externalCustomerId": customers[n % customers.len()],
                "timestamp": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(), "properties": properties })
        })
        .collect()
}

/// The usage of every meter of `customer` (with its subtree when
/// `children`) over [from, to), with the given window.
async fn usage_list(
    app: &TestApp,
    customer: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    children: bool,
    window: Option<&str>,
) -> Vec<Value> {
    let vars = json!({ "id": customer, "from": from.to_rfc3339(), "to": to.to_rfc3339(),
        "children": children, "window": window });
    app.ok(USAGE, vars).await["customer"]["usage"]
        .as_array()
        .unwrap()
        .clone()
}

/// value, eventCount, skippedEvents of every meter, with the given window.
async fn usage_over(
    app: &TestApp,
    customer: &str,
    window: Option<&str>,
    from: DateTime<Utc>,
) -> Vec<(Value, Value, Value)> {
    let to = Utc::now() + Duration::minutes(5);
    usage_list(app, customer, (from, to), true, window)
        .await
        .iter()
        .map(|u| {
            (
                json!(decimal(&u["value"]).map(|v| v.round_dp(12).to_string())),
                u["eventCount"].clone(),
                u["skippedEvents"].clone(),
            )
        })
        .collect()
}

async fn every_aggregation(app: &TestApp) {
    meter(app, "calls", "COUNT", None, json!([])).await;
    meter(app, "tokens", "SUM", Some("tokens"), json!([])).await;
    meter(app, "peak", "MAX", Some("tokens"), json!([])).await;
    meter(app, "mean", "AVG", Some("tokens"), json!([])).await;
    meter(app, "users", "UNIQUE_COUNT", Some("user"), json!([])).await;
    meter(app, "last", "LATEST", Some("tokens"), json!([])).await;
    meter(
        app,
        "some users",
        "COUNT",
        None,
        json!([{ "key": "user", "values": ["u1", "u2"] }]),
    )
    .await;
}

/// Rolls up every ended day, as the worker does.
async fn roll_up(app: &TestApp) -> usize {
    billgraph::usage::rollups::roll_up_ended_days(&app.state.pool, Utc::now())
        .await
        .unwrap()
}

/// Rollup rows stored, to show the rollups are really read.
async fn rollup_rows(app: &TestApp) -> i64 {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    let row: Count = diesel::sql_query("SELECT count(*) AS n FROM usage_buckets WHERE level = 0")
        .get_result(&mut conn)
        .await
        .unwrap();
    row.n
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_rollups_agree_with_the_raw_events() {
    let app = TestApp::new().await;
    let t = tree(&app).await;
    every_aggregation(&app).await;
    for chunk in spread_events("s", &["r", "a", "b", "a1"], 600).chunks(200) {
        app.ok(INGEST, json!({ "events": chunk })).await;
    }
    let ranges = [Utc::now() - Duration::days(6), Utc::now() - Duration::hours(77)];
    let customers = [&t.root, &t.a, &t.b];
    // Before any rollup every answer comes from raw events.
    let mut raw = Vec::new();
    for from in ranges {
        for customer in customers {
            raw.push(usage_over(&app, customer, None, from).await);
        }
    }
    assert!(roll_up(&app).await >= 4, "the past days are rolled up");
    assert!(rollup_rows(&app).await > 0);
    assert_eq!(roll_up(&app).await, 0, "a day is rolled up once");
    // Ranges that start mid-day cover whole days (rollups) and partial days
    // (raw events); hourly series read raw events only.
    let mut i = 0;
    for from in ranges {
        for customer in customers {
            let rolled = usage_over(&app, customer, None, from).await;
            let daily = usage_over(&app, customer, Some("DAY"), from).await;
            let hourly = usage_over(&app, customer, Some("HOUR"), from).await;
            assert_eq!(rolled, raw[i], "rollups disagree with raw events from {from}");
            assert_eq!(daily, raw[i], "daily series disagree with raw events from {from}");
            assert_eq!(hourly, raw[i], "hourly series disagree with raw events from {from}");
            i += 1;
        }
    }
    // Late events for days already rolled up update their rollups.
    app.ok(INGEST, json!({ "events": spread_events("late", &["a", "b"], 90) }))
        .await;
    let from = ranges[0];
    let rolled = usage_over(&app, &t.root, None, from).await;
    assert_eq!(rolled, usage_over(&app, &t.root, Some("HOUR"), from).await);
    assert_eq!(rolled[0].1, 690);
}

/// value, eventCount and skippedEvents of one meter over [from, to).
async fn summed(
    app: &TestApp,
    customer: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    window: Option<&str>,
) -> (Option<Decimal>, i64, i64) {
    totals(&usage_list(app, customer, (from, to), false, window).await[0])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_is_a_number_by_one_rule_in_raw_events_and_rollups() {
    let app = TestApp::new().await;
    let x = app.create_customer("x", None).await;
    meter(&app, "tokens", "SUM", Some("tokens"), json!([])).await;
    let day = (Utc::now() - Duration::days(2))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let values = [
        json!(123456789012345_u64),  // 15 digits: counted
        json!(1000000000000000_u64), // 1e15: too large, skipped
        json!(0.0000000000001),      // 13 decimals: too precise, skipped
        json!("0.000000000001"),     // 12 decimals as text: counted
        json!(" 4 "),                // text with spaces: counted
        json!("1e3"),                // exponents are not read from text: skipped
        json!(true),
        json!(null),
        json!({ "n": 1 }),
    ];
    let events: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({ "eventId": format!("n{i}"), "eventName": "api_call", "externalCustomerId": "x",
                "timestamp": (day + Duration::hours(10) + Duration::minutes(i as i64)).to_rfc3339(),
                "properties": { "tokens": v } })
        })
        .collect();
    assert_eq!(
        app.ok(INGEST, json!({ "events": events })).await["ingestEvents"]["accepted"],
        9
    );
    // 123456789012345 + 0.000000000001 + 4, three counted and six skipped.
    let expected = (d("123456789012349.000000000001"), 3, 6);
    let (part_from, part_to) = (day + Duration::hours(9), day + Duration::hours(20));
    assert_eq!(summed(&app, &x, part_from, part_to, None).await, expected, "raw events");
    assert_eq!(
        summed(&app, &x, part_from, part_to, Some("HOUR")).await,
        expected,
        "hourly, raw events"
    );
    assert!(roll_up(&app).await >= 1);
    assert!(rollup_rows(&app).await > 0);
    assert_eq!(
        summed(&app, &x, day, day + Duration::days(1), None).await,
        expected,
        "the day's rollup"
    );
    assert_eq!(
        summed(&app, &x, part_from, part_to, None).await,
        expected,
        "hour buckets after the rollup"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_meter_created_later_counts_the_events_already_stored() {
    let app = TestApp::new().await;
    let t = tree(&app).await;
    let events = spread_events("p", &["r", "a1"], 120);
    app.ok(INGEST, json!({ "events": events })).await;
    roll_up(&app).await;
    every_aggregation(&app).await;
    assert!(rollup_rows(&app).await > 0, "the new meters rolled up the stored days");
    let from = Utc::now() - Duration::days(6);
    assert_eq!(
        usage_over(&app, &t.root, None, from).await,
        usage_over(&app, &t.root, Some("HOUR"), from).await
    );
    assert_eq!(usage_over(&app, &t.root, None, from).await[0].1, 120);
}

#[tokio::test(flavor = "multi_thread")]
async fn meters_and_rollups_racing_ingestion_miss_no_event() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let t = tree(&app).await;
    meter(&app, "early", "SUM", Some("tokens"), json!([])).await;
    let events = spread_events("c", &["r", "a", "b", "a1"], 1000);
    let mut senders = Vec::new();
    for (i, chunk) in events.chunks(50).enumerate() {
        let (app, chunk) = (app.clone(), chunk.to_vec());
        senders.push(tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(i as u64 * 3)).await;
            app.ok(INGEST, json!({ "events": chunk })).await;
        }));
    }
    let roller = {
        let app = app.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                roll_up(&app).await;
                tokio::time::sleep(std::time::Duration::from_millis(7)).await;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    every_aggregation(&app).await;
    for s in senders {
        s.await.unwrap();
    }
    roller.await.unwrap();
    roll_up(&app).await;
    let from = Utc::now() - Duration::days(6);
    let rolled = usage_over(&app, &t.root, None, from).await;
    assert_eq!(rolled, usage_over(&app, &t.root, Some("HOUR"), from).await);
    assert_eq!(rolled.len(), 8);
    // The SUM meter counted or skipped every event; the COUNT meter counted all.
    assert_eq!(rolled[0].1.as_i64().unwrap() + rolled[0].2.as_i64().unwrap(), 1000);
    assert_eq!(rolled[1].1, 1000);
}

const FULL_USAGE: &str =
    "query($id: UUID!, $from: DateTime, $to: DateTime, $children: Boolean!, $window: UsageWindow) {
    customer(id: $id) { usage(from: $from, to: $to, includeChildren: $children, window: $window) {
        meter { id } value eventCount skippedEvents windows { start value eventCount }
    } }
}";

async fn sql(app: &TestApp, statement: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    diesel::sql_query(statement).execute(&mut conn).await.unwrap();
}

/// Decimals compared by value (a sum of buckets may print another scale).
fn normalized(mut usage: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if key == "value" {
                        if let Some(d) = decimal(value) {
                            *value = json!(d.normalize().to_string());
                        }
                    } else {
                        walk(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut usage);
    usage
}

/// Events of random customers and times over the last `days` days, with
/// recurring and near-unique values, numbers, numeric strings and junk.
fn random_events(rng: &mut StdRng, prefix: &str, customers: &[String], count: usize, days: i64) -> Vec<Value> {
    let now = Utc::now();
    (0..count)
        .map(|n| {
            let at = now - Duration::seconds(rng.random_range(0..days * 86_400));
            let tokens = match rng.random_range(0..10) {
                0 => json!("n/a"),
                1 => json!(format!("{}", rng.random_range(0..50))),
                2 => Value::Null,
                _ => json!(rng.random_range(0..4000) as f64 / 8.0),
            };
            let region = ["eu", "us"][rng.random_range(0..2)];
            let mut properties = json!({ "user": format!("u{}", rng.random_range(0..9)),
                "request": format!("{prefix}-{n}"), "region": region });
            if !tokens.is_null() {
                properties["tokens"] = tokens;
            }
            json!({ "eventId": format!("{prefix}{n}"), "eventName": "api_call",
                "externalCustomerId": customers[rng.random_range(0..customers.len())],
                "timestamp": at.to_rfc3339(), "properties": properties })
        })
        .collect()
}

async fn ingest(app: &TestApp, events: &[Value]) {
    for chunk in events.chunks(500) {
        let data = app.ok(INGEST, json!({ "events": chunk })).await;
        assert_eq!(data["ingestEvents"]["refused"], 0);
    }
}

/// Random queries (customer, subtree or not, range, window) answered from
/// the buckets, then with every day counted as not rolled up (raw events
/// only): the answers must be identical.
async fn assert_buckets_match_raw(app: &TestApp, rng: &mut StdRng, customers: &[String], queries: usize) {
    let now = Utc::now();
    let mut vars = Vec::new();
    for _ in 0..queries {
        let window = ["DAY", "MONTH", "HOUR", ""][rng.random_range(0..4)];
        let max_days = if window == "HOUR" { 40 } else { 75 };
        let mut from = now - Duration::minutes(rng.random_range(1..max_days * 1440));
        if rng.random_bool(0.3) {
            from = from.duration_trunc(Duration::days(1)).unwrap();
        }
        let to = if rng.random_bool(0.4) {
            now + Duration::minutes(5)
        } else {
            from + Duration::minutes(rng.random_range(1..(now - from).num_minutes().max(2)))
        };
        vars.push(
            json!({ "id": customers[rng.random_range(0..customers.len())], "from": from.to_rfc3339(),
            "to": to.to_rfc3339(), "children": rng.random_bool(0.7),
            "window": if window.is_empty() { Value::Null } else { json!(window) } }),
        );
    }
    let mut rolled = Vec::new();
    for v in &vars {
        rolled.push(normalized(app.ok(FULL_USAGE, v.clone()).await));
    }
    sql(
        app,
        "CREATE TABLE rolled_days AS SELECT tenant_id, day FROM usage_days WHERE rolled_up",
    )
    .await;
    sql(app, "UPDATE usage_days SET rolled_up = false").await;
    for (v, rolled) in vars.iter().zip(rolled) {
        let raw = normalized(app.ok(FULL_USAGE, v.clone()).await);
        assert_eq!(rolled, raw, "buckets disagree with raw events for {v}");
    }
    sql(
        app,
        "UPDATE usage_days d SET rolled_up = true FROM rolled_days r WHERE r.tenant_id = d.tenant_id AND r.day = d.day",
    )
    .await;
    sql(app, "DROP TABLE rolled_days").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buckets_agree_with_raw_events_for_random_trees_ranges_and_windows() {
    let app = TestApp::new().await;
    every_aggregation(&app).await;
    meter(&app, "requests", "UNIQUE_COUNT", Some("request"), json!([])).await;
    meter(
        &app,
        "eu tokens",
        "SUM",
        Some("tokens"),
        json!([{ "key": "region", "values": ["eu"] }]),
    )
    .await;
    let mut rng = StdRng::seed_from_u64(20_261_129);
    // A random forest: each customer under an earlier one or a root.
    let mut ids: Vec<String> = Vec::new();
    let mut externals: Vec<String> = Vec::new();
    for i in 0..10 {
        let parent = (i > 0 && rng.random_bool(0.7)).then(|| ids[rng.random_range(0..i)].clone());
        externals.push(format!("c{i}"));
        ids.push(app.create_customer(&externals[i], parent.as_deref()).await);
    }
    let mut senders = externals.clone();
    senders.push("nobody-yet".into());
    ingest(&app, &random_events(&mut rng, "a", &senders, 1500, 75)).await;
    assert!(roll_up(&app).await >= 60);
    assert_buckets_match_raw(&app, &mut rng, &ids, 30).await;

    // Late events for rolled-up days, with values the dictionary lacks.
    ingest(&app, &random_events(&mut rng, "late", &senders, 300, 75)).await;
    assert_buckets_match_raw(&app, &mut rng, &ids, 20).await;

    // Subtrees are read at query time: moves count at once.
    for i in [3, 5, 7, 9] {
        let parent = if rng.random_bool(0.3) {
            Value::Null
        } else {
            json!(ids[rng.random_range(0..i)])
        };
        app.ok(
            "mutation($id: UUID!, $p: UUID) { setCustomerParent(id: $id, parentCustomerId: $p) { id } }",
            json!({ "id": ids[i], "p": parent }),
        )
        .await;
    }
    assert_buckets_match_raw(&app, &mut rng, &ids, 20).await;

    // An archived customer frees its external id; the next holder gets the
    // events from the archiving on.
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { status } }",
        json!({ "id": ids[4] }),
    )
    .await;
    ids.push(app.create_customer("c4", Some(&ids[0])).await);
    ingest(&app, &random_events(&mut rng, "after", &senders, 200, 3)).await;
    roll_up(&app).await;
    assert_buckets_match_raw(&app, &mut rng, &ids, 30).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arriving_while_a_day_is_rolled_up_count_once() {
    use billgraph::db::usage_rollups;
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let app = TestApp::new().await;
    every_aggregation(&app).await;
    let root = app.create_customer("r", None).await;
    app.create_customer("a", Some(&root)).await;
    let customers = vec!["r".to_string(), "a".to_string()];
    let mut rng = StdRng::seed_from_u64(7);
    let day = (Utc::now() - Duration::days(2))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let on_day = |prefix: &str, rng: &mut StdRng| {
        let mut events = random_events(rng, prefix, &customers, 200, 1);
        for e in &mut events {
            let at = day + Duration::seconds(rng.random_range(0..86_400));
            e["timestamp"] = json!(at.to_rfc3339());
        }
        events
    };
    ingest(&app, &on_day("before", &mut rng)).await;
    // The first step, then events of that day, then the second step.
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    let pending = usage_rollups::pending_days(&mut conn, Utc::now(), 10).await.unwrap();
    let pending = *pending.iter().find(|d| d.day == day).unwrap();
    usage_rollups::start_slice(&mut conn, pending, day + Duration::days(1))
        .await
        .unwrap();
    ingest(&app, &on_day("during", &mut rng)).await;
    // Meanwhile the day is read from raw events.
    assert_buckets_match_raw(&app, &mut rng, std::slice::from_ref(&root), 5).await;
    assert!(usage_rollups::roll_up_slice(&mut conn, pending).await.unwrap());
    ingest(&app, &on_day("after", &mut rng)).await;
    let from = day - Duration::hours(5);
    let usage = usage_over(&app, &root, None, from).await;
    assert_eq!(usage[0].1, 600, "every event counted once");
    assert_buckets_match_raw(&app, &mut rng, std::slice::from_ref(&root), 10).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bucket_rule_in_sql_is_the_domain_rule() {
    use billgraph::domain::usage::day_buckets;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Bucket {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        level: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        start_day: i32,
    }
    let app = TestApp::new().await;
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..200 {
        let from = rng.random_range(19_000..21_000);
        let to = from + rng.random_range(0..1_500);
        let mut sql: Vec<(u32, i32)> = diesel::sql_query("SELECT level, start_day FROM billgraph_day_buckets($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(from)
            .bind::<diesel::sql_types::Integer, _>(to)
            .load::<Bucket>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|b| (b.level as u32, b.start_day))
            .collect();
        let mut rust = day_buckets(from, to);
        sql.sort();
        rust.sort();
        assert_eq!(sql, rust, "days {from}..{to}");
    }
}

/// Per meter id: value, eventCount and skippedEvents, and the windows'
/// event counts (when a window is asked for).
type ByMeter = std::collections::HashMap<String, ((Option<Decimal>, i64, i64), Vec<i64>)>;

/// The usage of `customer` alone over [from, to), by meter.
async fn by_meter(
    app: &TestApp,
    customer: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    window: Option<&str>,
) -> ByMeter {
    usage_list(app, customer, (from, to), false, window)
        .await
        .iter()
        .map(|u| {
            let windows = u["windows"].as_array().map_or(Vec::new(), |w| {
                w.iter().map(|w| w["eventCount"].as_i64().unwrap()).collect()
            });
            (u["meter"]["id"].as_str().unwrap().to_string(), (totals(u), windows))
        })
        .collect()
}

/// Distinct values are counted through bitmaps of their dictionary ids
/// below 4096 and as ids above: a count stays exact when a customer's
/// values reach past the bitmaps, in day buckets, hour buckets and raw
/// events alike, beside a customer whose ids all fit a narrow bitmap.
#[tokio::test(flavor = "multi_thread")]
async fn distinct_counts_stay_exact_past_the_bitmap_ids() {
    let app = TestApp::new().await;
    let x = app.create_customer("x", None).await;
    let y = app.create_customer("y", None).await;
    let users = meter(&app, "users", "UNIQUE_COUNT", Some("user"), json!([])).await;
    let day = (Utc::now() - Duration::days(3))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let event = |id: String, customer: &str, at: DateTime<Utc>, user: &str| {
        json!({ "eventId": id, "eventName": "api_call", "externalCustomerId": customer,
            "timestamp": at.to_rfc3339(), "properties": { "user": user } })
    };
    // Day 0: x sees 4,200 users (u0..u4199), y sees u1.
    let mut events: Vec<Value> = (0..4200)
        .map(|i| event(format!("d0-{i}"), "x", day + Duration::seconds(i), &format!("u{i}")))
        .collect();
    events.push(event("y0".into(), "y", day + Duration::hours(1), "u1"));
    // Day 1 at noon: x sees u4100..u4109 again, u5 again and a new user.
    for i in 4100..4110 {
        events.push(event(
            format!("d1-{i}"),
            "x",
            day + Duration::hours(36),
            &format!("u{i}"),
        ));
    }
    events.push(event("d1-u5".into(), "x", day + Duration::hours(36), "u5"));
    events.push(event("d1-new".into(), "x", day + Duration::hours(36), "new-a"));
    events.push(event("y1".into(), "y", day + Duration::hours(36), "u2"));
    ingest(&app, &events).await;
    assert!(roll_up(&app).await >= 2);
    // Not rolled up: a moment ago, u0 again and one more new user.
    let now = Utc::now();
    let recent = [
        event("r-u0".into(), "x", now - Duration::seconds(30), "u0"),
        event("r-new".into(), "x", now - Duration::seconds(20), "new-b"),
    ];
    ingest(&app, &recent).await;

    let unique = |usage: &ByMeter| usage[&users].0.0;
    let to = now + Duration::minutes(1);
    // Everything: 4,200 users, new-a and new-b.
    assert_eq!(unique(&by_meter(&app, &x, day, to, None).await), d("4202"));
    // From day 1 at 00:30 (its hours from the hour buckets): u4100..u4109,
    // u5, new-a, then u0 and new-b.
    let half_past = day + Duration::minutes(24 * 60 + 30);
    assert_eq!(unique(&by_meter(&app, &x, half_past, to, None).await), d("14"));
    // Day 0 alone, from its buckets: 4,200.
    let day0 = by_meter(&app, &x, day, day + Duration::days(1), None).await;
    assert_eq!(unique(&day0), d("4200"));
    // Per day: 4,200, then 12; y: 1 and 1, 2 over both.
    let daily = by_meter(&app, &x, day, day + Duration::days(2), Some("DAY")).await;
    assert_eq!(unique(&daily), d("4201"));
    assert_eq!(by_meter(&app, &y, day, to, None).await[&users].0.0, d("2"));

    let mut rng = StdRng::seed_from_u64(4096);
    assert_buckets_match_raw(&app, &mut rng, &[x, y], 12).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn whole_hours_of_partial_days_come_from_the_hour_buckets() {
    let app = TestApp::new().await;
    let x = app.create_customer("x", None).await;
    let calls = meter(&app, "calls", "COUNT", None, json!([])).await;
    let tokens = meter(&app, "tokens", "SUM", Some("tokens"), json!([])).await;
    let peak = meter(&app, "peak", "MAX", Some("tokens"), json!([])).await;
    let mean = meter(&app, "mean", "AVG", Some("tokens"), json!([])).await;
    let users = meter(&app, "users", "UNIQUE_COUNT", Some("user"), json!([])).await;
    let last = meter(&app, "last", "LATEST", Some("tokens"), json!([])).await;
    let day = (Utc::now() - Duration::days(3))
        .duration_trunc(Duration::days(1))
        .unwrap();
    // (id, minutes after the first day's midnight, tokens, user)
    let rows = [
        ("h1", 2 * 60 + 10, json!(5), "u1"),
        ("h2", 9 * 60 + 50, json!(7), "u2"),
        ("h3", 11 * 60 + 15, json!(2.5), "u1"),
        ("h4", 11 * 60 + 45, json!("n/a"), "u3"),
        ("h5", 15 * 60, json!(10), "u2"),
        ("h6", 23 * 60 + 59, json!(2.5), "u4"),
        ("h7", 24 * 60 + 80, json!(4), "u1"),
        ("h8", 24 * 60 + 10 * 60 + 40, json!(4), "u5"),
        ("h9", 24 * 60 + 10 * 60 + 55, json!(100), "u6"),
        ("h10", 48 * 60 + 5 * 60, json!(6), "u2"),
        ("h11", 48 * 60 + 6 * 60 + 30, json!(50), "u7"),
    ];
    let events: Vec<Value> = rows
        .iter()
        .map(|(id, minutes, tokens, user)| {
            json!({ "eventId": id, "eventName": "api_call", "externalCustomerId": "x",
                "timestamp": (day + Duration::minutes(*minutes)).to_rfc3339(),
                "properties": { "tokens": tokens, "user": user } })
        })
        .collect();
    ingest(&app, &events).await;
    assert!(roll_up(&app).await >= 3);

    // A: inside two days, from 09:40 to 10:50 of the next day: h2..h8.
    // B: from 09:40 to 06:00 two days later: h2..h10.
    let a = (
        day + Duration::minutes(9 * 60 + 40),
        day + Duration::minutes(34 * 60 + 50),
    );
    let b = (a.0, day + Duration::hours(54));
    // h4's tokens are no number: skipped by SUM, MAX, AVG and LATEST.
    // A: 7 + 2.5 + 10 + 2.5 + 4 + 4 = 30 over 6 events; users u1..u5.
    // B: 30 + 100 + 6 = 136 over 8 events; users u1..u6; latest h10.
    let expected = |range: char| {
        let (n, sum, max, avg, unique, latest) = match range {
            'a' => (7, "30", "10", "5", "5", "4"),
            _ => (9, "136", "100", "17", "6", "6"),
        };
        [
            (calls.clone(), (d(&n.to_string()), n, 0)),
            (tokens.clone(), (d(sum), n - 1, 1)),
            (peak.clone(), (d(max), n - 1, 1)),
            (mean.clone(), (d(avg), n - 1, 1)),
            (users.clone(), (d(unique), n, 0)),
            (last.clone(), (d(latest), n - 1, 1)),
        ]
    };
    let check = |usage: &ByMeter, range: char| {
        for (meter, totals) in expected(range) {
            assert_eq!(usage[&meter].0, totals, "range {range}, meter {meter}");
        }
    };
    check(&by_meter(&app, &x, a.0, a.1, None).await, 'a');
    check(&by_meter(&app, &x, b.0, b.1, None).await, 'b');
    // Each hour falls in its day's window: h2..h6, h7..h9, h10.
    let daily = by_meter(&app, &x, b.0, b.1, Some("DAY")).await;
    check(&daily, 'b');
    assert_eq!(daily[&calls].1, vec![5, 3, 1]);

    // An hourly series: h2 and h8 in partial hours, the rest in whole ones.
    let hourly = by_meter(&app, &x, a.0, a.1, Some("HOUR")).await;
    check(&hourly, 'a');
    let busy: Vec<i64> = hourly[&calls].1.iter().copied().filter(|n| *n > 0).collect();
    assert_eq!(
        busy,
        vec![1, 2, 1, 1, 1, 1],
        "09:00, 11:00 (h3, h4), 15:00, 23:00, 01:00, 10:00"
    );

    // The hour buckets are really read: with the raw events of whole hours
    // gone (h3, h4, h5, h10), the answers stay.
    sql(&app, "DELETE FROM events WHERE event_id IN ('h3', 'h4', 'h5', 'h10')").await;
    check(&by_meter(&app, &x, a.0, a.1, None).await, 'a');
    check(&by_meter(&app, &x, b.0, b.1, None).await, 'b');
    check(&by_meter(&app, &x, a.0, a.1, Some("HOUR")).await, 'a');
    // A day rolled up before hours were kept is read from raw events.
    sql(&app, "UPDATE usage_days SET hourly = false").await;
    let raw = by_meter(&app, &x, b.0, b.1, None).await;
    // h2 and h6 from raw events, h7..h9 from the second day's bucket; the
    // deleted h3..h5 and h10 are gone.
    assert_eq!(raw[&calls].0, (d("5"), 5, 0));
}

/// Meters of several event names in one statement: each name's events are
/// read by a scan of their own, and an event of a name no meter has counts
/// nowhere. Read once from raw events, once with every day rolled up.
#[tokio::test(flavor = "multi_thread")]
async fn meters_of_several_event_names_count_each_name_once() {
    let app = TestApp::new().await;
    let x = app.create_customer("x", None).await;
    let calls = meter(&app, "calls", "COUNT", None, json!([])).await;
    let bytes = meter_of(&app, "upload", "bytes", "SUM", Some("bytes"), json!([])).await;
    let uploaders = meter_of(&app, "upload", "uploaders", "UNIQUE_COUNT", Some("user"), json!([])).await;
    let day = (Utc::now() - Duration::days(2))
        .duration_trunc(Duration::days(1))
        .unwrap();
    // (id, name, minutes after the day's midnight, bytes, user)
    let rows = [
        ("c1", "api_call", 60, 0, "u1"),
        ("c2", "api_call", 61, 0, "u2"),
        ("u1", "upload", 62, 100, "u1"),
        ("c3", "api_call", 24 * 60 + 5, 0, "u1"),
        ("u2", "upload", 24 * 60 + 6, 250, "u3"),
        ("u3", "upload", 24 * 60 + 7, 40, "u1"),
        ("d1", "download", 24 * 60 + 8, 999, "u9"),
    ];
    let events: Vec<Value> = rows
        .iter()
        .map(|(id, name, minutes, bytes, user)| {
            json!({ "eventId": id, "eventName": name, "externalCustomerId": "x",
                "timestamp": (day + Duration::minutes(*minutes)).to_rfc3339(),
                "properties": { "bytes": bytes, "user": user } })
        })
        .collect();
    ingest(&app, &events).await;
    let range = (day, day + Duration::days(2));
    // calls: c1, c2, c3. bytes: 100 + 250 + 40 = 390 over 3 uploads, not
    // d1's 999. uploaders: u1 and u3.
    let expected = |found: &ByMeter| {
        assert_eq!(found[&calls].0, (Some(Decimal::from(3)), 3, 0), "calls");
        assert_eq!(found[&bytes].0, (Some(Decimal::from(390)), 3, 0), "bytes");
        assert_eq!(found[&uploaders].0, (Some(Decimal::from(2)), 3, 0), "uploaders");
        // Per day: [2, 1] calls, [1, 2] uploads.
        assert_eq!(found[&calls].1, vec![2, 1], "calls per day");
        assert_eq!(found[&bytes].1, vec![1, 2], "uploads per day");
    };
    expected(&by_meter(&app, &x, range.0, range.1, Some("DAY")).await);
    assert!(roll_up(&app).await >= 2);
    expected(&by_meter(&app, &x, range.0, range.1, Some("DAY")).await);
    // From 01:01 of the first day: a partial hour read from raw events.
    let partial = by_meter(&app, &x, day + Duration::minutes(61), range.1, None).await;
    assert_eq!(partial[&calls].0, (Some(Decimal::from(2)), 2, 0), "calls from 01:01");
    assert_eq!(partial[&bytes].0, (Some(Decimal::from(390)), 3, 0), "bytes from 01:01");
}
