use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::TestApp;

const INGEST: &str = "mutation($events: [EventInput!]!) {
    ingestEvents(events: $events) { accepted duplicates refused results { index eventId status reason } }
}";

const EVENTS: &str = "query($filter: EventFilterInput, $first: Int, $after: String) {
    events(filter: $filter, first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { eventId eventName externalCustomerId timestamp properties source ingestedAt } }
    }
}";

const CREATE_METER: &str = "mutation($input: CreateMeterInput!) {
    createMeter(input: $input) { id name eventName aggregation property filters { key values } status archivedAt }
}";

const USAGE: &str = "query($id: UUID!, $from: DateTime, $to: DateTime, $meterIds: [UUID!]) {
    customer(id: $id) {
        usage(from: $from, to: $to, meterIds: $meterIds, includeChildren: true) {
            meter { id name } value eventCount skippedEvents
        }
    }
}";

const UPDATE_CUSTOMER: &str = "mutation($id: UUID!, $input: UpdateCustomerInput!) {
    updateCustomer(id: $id, input: $input) { id externalCustomerId }
}";

/// An RFC 3339 timestamp, whole seconds.
fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Whole seconds, so stored timestamps compare exactly.
fn base_time() -> DateTime<Utc> {
    let now = Utc::now() - Duration::hours(1);
    DateTime::from_timestamp(now.timestamp(), 0).unwrap()
}

fn event(id: &str, name: &str, customer: &str, ts: DateTime<Utc>, properties: Value) -> Value {
    json!({ "eventId": id, "eventName": name, "externalCustomerId": customer, "timestamp": rfc(ts), "properties": properties })
}

/// Runs ingestEvents as `key`'s tenant; returns the IngestEventsResult.
async fn ingest_as(app: &TestApp, key: &str, events: &[Value]) -> Value {
    app.gql_as(Some(key), INGEST, json!({ "events": events })).await.data()["ingestEvents"].clone()
}

async fn ingest(app: &TestApp, events: &[Value]) -> Value {
    ingest_as(app, &app.key, events).await
}

/// Every stored event of `key`'s tenant matching the filter, newest first,
/// with the reported totalCount.
async fn stored_events_as(app: &TestApp, key: &str, filter: Value) -> (i64, Vec<Value>) {
    let mut nodes = Vec::new();
    let mut after: Option<String> = None;
    let mut total = None;
    loop {
        let data = app
            .gql_as(
                Some(key),
                EVENTS,
                json!({ "filter": filter, "first": 100, "after": after }),
            )
            .await
            .data();
        let conn = &data["events"];
        let count = conn["totalCount"].as_i64().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "totalCount changed between pages");
        nodes.extend(conn["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    (total.unwrap(), nodes)
}

async fn stored_events(app: &TestApp, filter: Value) -> (i64, Vec<Value>) {
    stored_events_as(app, &app.key, filter).await
}

fn by_event_id(nodes: &[Value]) -> HashMap<String, Value> {
    nodes
        .iter()
        .map(|n| (n["eventId"].as_str().unwrap().to_string(), n.clone()))
        .collect()
}

async fn create_meter_as(
    app: &TestApp,
    key: &str,
    name: &str,
    event_name: &str,
    aggregation: &str,
    property: Option<&str>,
) -> String {
    let input = json!({ "name": name, "eventName": event_name, "aggregation": aggregation, "property": property });
    let data = app
        .gql_as(Some(key), CREATE_METER, json!({ "input": input }))
        .await
        .data();
    data["createMeter"]["id"].as_str().unwrap().to_string()
}

async fn create_meter(
    app: &TestApp,
    name: &str,
    event_name: &str,
    aggregation: &str,
    property: Option<&str>,
) -> String {
    create_meter_as(app, &app.key, name, event_name, aggregation, property).await
}

#[derive(Debug, Clone, PartialEq)]
struct Usage {
    name: String,
    value: Option<Decimal>,
    event_count: i64,
    skipped: i64,
}

/// The customer's usage per meter id over [from, to).
async fn usage_as(
    app: &TestApp,
    key: &str,
    customer: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    meter_ids: Option<&[&str]>,
) -> HashMap<String, Usage> {
    let vars = json!({ "id": customer, "from": rfc(from), "to": rfc(to), "meterIds": meter_ids });
    let data = app.gql_as(Some(key), USAGE, vars).await.data();
    data["customer"]["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let usage = Usage {
                name: u["meter"]["name"].as_str().unwrap().to_string(),
                value: u["value"].as_str().map(dec),
                event_count: u["eventCount"].as_i64().unwrap(),
                skipped: u["skippedEvents"].as_i64().unwrap(),
            };
            (u["meter"]["id"].as_str().unwrap().to_string(), usage)
        })
        .collect()
}

async fn usage(
    app: &TestApp,
    customer: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    meter_ids: Option<&[&str]>,
) -> HashMap<String, Usage> {
    usage_as(app, &app.key, customer, from, to, meter_ids).await
}

/// POSTs a REST request; `key` None sends no X-API-Key. Returns the status and JSON body.
async fn rest(app: &TestApp, path: &str, key: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut builder = Request::post(path).header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    let (status, bytes) = app.send(builder.body(Body::from(body.to_string())).unwrap()).await;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("non-JSON response {status}: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

/// A REST event body (snake_case fields) for the same logical event as `event`.
fn rest_event(id: &str, name: &str, customer: &str, ts: DateTime<Utc>, properties: Value) -> Value {
    json!({ "event_id": id, "event_name": name, "external_customer_id": customer, "timestamp": rfc(ts), "properties": properties })
}

fn statuses(result: &Value) -> Vec<&str> {
    result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

// 1. ingestEvents reports each event and stores only the valid ones.

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_reports_every_event_and_stores_only_the_valid_ones() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let now = Utc::now();
    let batch = vec![
        json!({ "eventId": "ev-ok", "eventName": "api_call", "externalCustomerId": "cust-1", "timestamp": rfc(t0),
            "properties": { "tokens": 12.5, "model": "large", "tags": ["a", "b"] }, "source": "sdk-python" }),
        event(
            "ev-future",
            "api_call",
            "cust-1",
            now + Duration::minutes(10),
            json!({}),
        ),
        event("ev-noname", "", "cust-1", t0, json!({})),
        event("ev-array", "api_call", "cust-1", t0, json!([1, 2, 3])),
        event("ev-ok", "api_call", "cust-1", t0, json!({ "tokens": 99 })),
        event(
            "ev-soon",
            "api_call",
            "cust-1",
            now + Duration::minutes(4),
            json!({ "tokens": 1 }),
        ),
        json!({ "eventName": "login", "externalCustomerId": "cust-1" }),
    ];
    let before = Utc::now();
    let res = ingest(&app, &batch).await;
    let after = Utc::now();
    assert_eq!(res["accepted"], 3, "{res}");
    assert_eq!(res["duplicates"], 1, "{res}");
    assert_eq!(res["refused"], 3, "{res}");
    let results = res["results"].as_array().unwrap();
    assert_eq!(results.len(), 7);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i, "{r}");
    }
    let expected = [
        ("ev-ok", "ACCEPTED"),
        ("ev-future", "REFUSED"),
        ("ev-noname", "REFUSED"),
        ("ev-array", "REFUSED"),
        ("ev-ok", "DUPLICATE"),
        ("ev-soon", "ACCEPTED"),
    ];
    for (i, (id, status)) in expected.iter().enumerate() {
        assert_eq!(results[i]["eventId"], *id, "{}", results[i]);
        assert_eq!(results[i]["status"], *status, "{}", results[i]);
    }
    for i in [0, 4, 5] {
        assert!(results[i]["reason"].is_null(), "{}", results[i]);
    }
    let future_reason = results[1]["reason"].as_str().unwrap();
    assert!(future_reason.contains("future"), "{future_reason}");
    assert!(future_reason.contains("5 minutes"), "{future_reason}");
    let name_reason = results[2]["reason"].as_str().unwrap();
    assert!(name_reason.contains("eventName"), "{name_reason}");
    let props_reason = results[3]["reason"].as_str().unwrap();
    assert!(props_reason.contains("properties"), "{props_reason}");
    assert!(props_reason.contains("object"), "{props_reason}");

    // The event without an id got a generated one.
    assert_eq!(results[6]["status"], "ACCEPTED");
    let generated = results[6]["eventId"].as_str().unwrap().to_string();
    assert!(!generated.is_empty());
    assert!(!["ev-ok", "ev-soon"].contains(&generated.as_str()));

    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "cust-1" })).await;
    assert_eq!(total, 3);
    assert_eq!(nodes.len(), 3);
    let stored = by_event_id(&nodes);
    let ids: HashSet<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(ids, HashSet::from(["ev-ok", "ev-soon", generated.as_str()]));

    // The first copy of ev-ok is the one kept, with every field as sent.
    let ok = &stored["ev-ok"];
    assert_eq!(ok["eventName"], "api_call");
    assert_eq!(ok["externalCustomerId"], "cust-1");
    assert_eq!(parse_time(&ok["timestamp"]), t0);
    assert_eq!(
        ok["properties"],
        json!({ "tokens": 12.5, "model": "large", "tags": ["a", "b"] })
    );
    assert_eq!(ok["source"], "sdk-python");
    let ingested = parse_time(&ok["ingestedAt"]);
    assert!(ingested >= before - Duration::seconds(1) && ingested <= after + Duration::seconds(1));

    let soon = &stored["ev-soon"];
    let soon_ts = parse_time(&soon["timestamp"]);
    assert!(soon_ts > now + Duration::minutes(3) && soon_ts <= now + Duration::minutes(4) + Duration::seconds(1));
    assert_eq!(soon["properties"], json!({ "tokens": 1 }));
    assert!(soon["source"].is_null());

    // Omitted timestamp: about now; omitted properties: an empty object.
    let gen_event = &stored[&generated];
    assert_eq!(gen_event["eventName"], "login");
    let ts = parse_time(&gen_event["timestamp"]);
    assert!(
        ts >= before - Duration::seconds(1) && ts <= after + Duration::seconds(1),
        "{ts} not within [{before}, {after}]"
    );
    assert_eq!(gen_event["properties"], json!({}));

    // Nothing refused was stored, under any customer.
    let (all, all_nodes) = stored_events(&app, json!(null)).await;
    assert_eq!(all, 3);
    for refused in ["ev-future", "ev-noname", "ev-array"] {
        assert!(
            all_nodes.iter().all(|n| n["eventId"] != refused),
            "{refused} was stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_future_limit_is_five_minutes() {
    let app = TestApp::new().await;
    let now = Utc::now();
    let res = ingest(
        &app,
        &[
            event("f-4m", "x", "c", now + Duration::minutes(4), json!({})),
            event(
                "f-4m59",
                "x",
                "c",
                now + Duration::minutes(4) + Duration::seconds(50),
                json!({}),
            ),
            event(
                "f-5m30",
                "x",
                "c",
                now + Duration::minutes(5) + Duration::seconds(30),
                json!({}),
            ),
            event("f-1d", "x", "c", now + Duration::days(1), json!({})),
        ],
    )
    .await;
    assert_eq!(statuses(&res), ["ACCEPTED", "ACCEPTED", "REFUSED", "REFUSED"], "{res}");
    let (total, _) = stored_events(&app, json!({ "externalCustomerId": "c" })).await;
    assert_eq!(total, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_without_ids_each_get_a_distinct_generated_id() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let batch: Vec<Value> = (0..3)
        .map(|i| json!({ "eventName": "gen", "externalCustomerId": "c-gen", "timestamp": rfc(t0), "properties": { "i": i } }))
        .collect();
    let res = ingest(&app, &batch).await;
    assert_eq!(statuses(&res), ["ACCEPTED"; 3], "{res}");
    let ids: Vec<String> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3, "{ids:?}");
    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "c-gen" })).await;
    assert_eq!(total, 3);
    let stored = by_event_id(&nodes);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(stored[id]["properties"], json!({ "i": i }), "{id}");
    }
}

// 2. Idempotency, sequential and concurrent.

#[tokio::test(flavor = "multi_thread")]
async fn sending_the_same_batch_again_changes_nothing() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let customer = app.create_customer("idem-co", None).await;
    let meter = create_meter(&app, "calls", "api_call", "COUNT", None).await;
    let batch: Vec<Value> = (0..4)
        .map(|i| {
            event(
                &format!("idem-{i}"),
                "api_call",
                "idem-co",
                t0 + Duration::seconds(i),
                json!({ "n": i }),
            )
        })
        .collect();
    let first = ingest(&app, &batch).await;
    assert_eq!(first["accepted"], 4, "{first}");
    assert_eq!(statuses(&first), ["ACCEPTED"; 4]);
    let (from, to) = (t0 - Duration::hours(1), t0 + Duration::hours(1));
    let before = usage(&app, &customer, from, to, Some(&[&meter])).await;
    assert_eq!(before[&meter].value, Some(dec("4")));
    assert_eq!(before[&meter].event_count, 4);

    let again = ingest(&app, &batch).await;
    assert_eq!(again["accepted"], 0, "{again}");
    assert_eq!(again["duplicates"], 4, "{again}");
    assert_eq!(again["refused"], 0, "{again}");
    assert_eq!(statuses(&again), ["DUPLICATE"; 4]);
    for (i, r) in again["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(r["eventId"], format!("idem-{i}"));
        assert_eq!(r["index"], i);
    }
    // A resend with changed content is still a duplicate and does not overwrite.
    let changed = vec![event("idem-0", "api_call", "idem-co", t0, json!({ "n": 1000 }))];
    assert_eq!(statuses(&ingest(&app, &changed).await), ["DUPLICATE"]);

    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "idem-co" })).await;
    assert_eq!(total, 4);
    assert_eq!(by_event_id(&nodes)["idem-0"]["properties"], json!({ "n": 0 }));
    let after = usage(&app, &customer, from, to, Some(&[&meter])).await;
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_senders_of_the_same_events_store_each_exactly_once() {
    let app = Arc::new(TestApp::new().await);
    let t0 = base_time();
    let customer = app.create_customer("conc-co", None).await;
    let meter = create_meter(&app, "conc calls", "conc_call", "COUNT", None).await;
    let batch: Arc<Vec<Value>> = Arc::new(
        (0..50)
            .map(|i| {
                event(
                    &format!("conc-{i:02}"),
                    "conc_call",
                    "conc-co",
                    t0 + Duration::seconds(i),
                    json!({}),
                )
            })
            .collect(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = Arc::clone(&app);
            let batch = Arc::clone(&batch);
            tokio::spawn(async move {
                let gql = app.gql(INGEST, json!({ "events": *batch })).await;
                gql.data()["ingestEvents"].clone()
            })
        })
        .collect();
    let mut accepted_per_id: HashMap<String, usize> = HashMap::new();
    let (mut accepted, mut duplicates) = (0, 0);
    for task in tasks {
        let res = task.await.unwrap();
        assert_eq!(res["refused"], 0, "{res}");
        accepted += res["accepted"].as_i64().unwrap();
        duplicates += res["duplicates"].as_i64().unwrap();
        let results = res["results"].as_array().unwrap();
        assert_eq!(results.len(), 50);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r["index"], i);
            assert_eq!(r["eventId"], format!("conc-{i:02}"));
            if r["status"] == "ACCEPTED" {
                *accepted_per_id
                    .entry(r["eventId"].as_str().unwrap().to_string())
                    .or_default() += 1;
            } else {
                assert_eq!(r["status"], "DUPLICATE", "{r}");
            }
        }
    }
    assert_eq!(accepted, 50);
    assert_eq!(duplicates, 350);
    assert_eq!(accepted_per_id.len(), 50, "every event accepted by exactly one call");
    assert!(accepted_per_id.values().all(|&n| n == 1), "{accepted_per_id:?}");

    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "conc-co" })).await;
    assert_eq!(total, 50);
    assert_eq!(by_event_id(&nodes).len(), 50);
    let u = usage(
        &app,
        &customer,
        t0 - Duration::hours(1),
        t0 + Duration::hours(1),
        Some(&[&meter]),
    )
    .await;
    assert_eq!(u[&meter].value, Some(dec("50")));
    assert_eq!(u[&meter].event_count, 50);
}

// 3. The batch size limit.

#[tokio::test(flavor = "multi_thread")]
async fn more_than_a_thousand_events_are_refused_whole() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let batch: Vec<Value> = (0..1001)
        .map(|i| event(&format!("big-{i}"), "bulk", "big-co", t0, json!({})))
        .collect();
    let res = app.gql(INGEST, json!({ "events": batch })).await;
    res.assert_error("VALIDATION", Some("events"));
    assert!(res.message().contains("1000"), "{}", res.body);
    let (total, _) = stored_events(&app, json!(null)).await;
    assert_eq!(total, 0);

    // Exactly 1000 is allowed.
    let res = ingest(&app, &batch[..1000]).await;
    assert_eq!(res["accepted"], 1000);
    let (total, _) = stored_events(&app, json!({ "externalCustomerId": "big-co" })).await;
    assert_eq!(total, 1000);
}

// 4. REST ingestion.

#[tokio::test(flavor = "multi_thread")]
async fn rest_single_event_is_accepted_once_then_reported_duplicate() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let body = json!({ "event_id": "rest-1", "event_name": "api_call", "external_customer_id": "rest-co",
        "timestamp": rfc(t0), "properties": { "tokens": 3 }, "source": "flexprice-sdk" })
    .to_string();
    let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(
        res,
        json!({ "message": "Event accepted for processing", "event_id": "rest-1", "status": "accepted" })
    );
    let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(
        res,
        json!({ "message": "Event accepted for processing", "event_id": "rest-1", "status": "duplicate" })
    );

    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "rest-co" })).await;
    assert_eq!(total, 1);
    let e = &nodes[0];
    assert_eq!(e["eventId"], "rest-1");
    assert_eq!(e["eventName"], "api_call");
    assert_eq!(parse_time(&e["timestamp"]), t0);
    assert_eq!(e["properties"], json!({ "tokens": 3 }));
    assert_eq!(e["source"], "flexprice-sdk");

    // Without an event_id, one is generated and returned.
    let body = json!({ "event_name": "api_call", "external_customer_id": "rest-co" }).to_string();
    let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(res["status"], "accepted");
    let generated = res["event_id"].as_str().unwrap();
    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "rest-co" })).await;
    assert_eq!(total, 2);
    assert!(by_event_id(&nodes).contains_key(generated));

    // A refused single event is a 400 and is not stored.
    let body = json!({ "event_id": "rest-future", "event_name": "api_call", "external_customer_id": "rest-co",
        "timestamp": rfc(Utc::now() + Duration::minutes(10)) })
    .to_string();
    let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["error_code"], "VALIDATION");
    assert!(res["message"].as_str().unwrap().contains("future"), "{res}");
    let (total, _) = stored_events(&app, json!({ "externalCustomerId": "rest-co" })).await;
    assert_eq!(total, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_bulk_reports_counts_and_refusals_by_index() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let events = vec![
        rest_event("bulk-0", "api_call", "bulk-co", t0, json!({ "tokens": 1 })),
        rest_event(
            "bulk-1",
            "api_call",
            "bulk-co",
            Utc::now() + Duration::minutes(10),
            json!({}),
        ),
        rest_event(
            "bulk-2",
            "api_call",
            "bulk-co",
            t0 + Duration::seconds(1),
            json!({ "tokens": 2 }),
        ),
    ];
    let body = json!({ "events": events }).to_string();
    let (status, res) = rest(&app, "/v1/events/bulk", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(res["accepted"], "2", "{res}");
    assert_eq!(res["duplicates"], "0");
    assert_eq!(res["refused"], "1");
    let refused: Value = serde_json::from_str(res["refused_events"].as_str().unwrap()).unwrap();
    let refused = refused.as_array().unwrap();
    assert_eq!(refused.len(), 1, "{res}");
    assert_eq!(refused[0]["index"], 1);
    assert_eq!(refused[0]["event_id"], "bulk-1");
    assert!(refused[0]["reason"].as_str().unwrap().contains("future"), "{res}");

    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "bulk-co" })).await;
    assert_eq!(total, 2);
    let ids: HashSet<String> = by_event_id(&nodes).into_keys().collect();
    assert_eq!(ids, HashSet::from(["bulk-0".to_string(), "bulk-2".to_string()]));

    // Sending it again: the two stored ones are duplicates, the refusal stays.
    let (status, res) = rest(&app, "/v1/events/bulk", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(res["accepted"], "0");
    assert_eq!(res["duplicates"], "2");
    let refused: Value = serde_json::from_str(res["refused_events"].as_str().unwrap()).unwrap();
    assert_eq!(refused[0]["index"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_refuses_malformed_json_and_missing_keys() {
    let app = TestApp::new().await;
    for path in ["/v1/events", "/v1/events/bulk"] {
        for body in [r#"{"event_name": "api_call", "#, "not json", r#"{"events": 5}"#, "[]"] {
            let (status, res) = rest(&app, path, Some(&app.key), body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {res}");
            assert_eq!(res["error_code"], "VALIDATION", "{path} {body}: {res}");
            assert!(!res["message"].as_str().unwrap().is_empty());
        }
    }
    // An unknown field is refused too (deny_unknown_fields).
    let body = json!({ "event_name": "a", "external_customer_id": "c", "customer": "x" }).to_string();
    let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["error_code"], "VALIDATION");

    let one = rest_event("nokey-1", "api_call", "c", base_time(), json!({})).to_string();
    let bulk = json!({ "events": [rest_event("nokey-2", "api_call", "c", base_time(), json!({}))] }).to_string();
    for (path, body) in [("/v1/events", &one), ("/v1/events/bulk", &bulk)] {
        let (status, res) = rest(&app, path, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {res}");
        assert_eq!(res["error_code"], "UNAUTHENTICATED", "{path}: {res}");
        let (status, res) = rest(&app, path, Some("bg_not_a_real_key"), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {res}");
        assert_eq!(res["error_code"], "UNAUTHENTICATED", "{path}: {res}");
    }
    let (total, _) = stored_events(&app, json!(null)).await;
    assert_eq!(total, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_and_graphql_ingestion_give_identical_usage() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let rest_customer = app.create_customer("via-rest", None).await;
    let gql_customer = app.create_customer("via-gql", None).await;
    let sum = create_meter(&app, "tokens sum", "completion", "SUM", Some("tokens")).await;
    let max = create_meter(&app, "tokens max", "completion", "MAX", Some("tokens")).await;
    let count = create_meter(&app, "completions", "completion", "COUNT", None).await;
    // The same logical events: name, properties, timestamp offset.
    let set: Vec<(i64, Value)> = vec![
        (0, json!({ "tokens": 10 })),
        (1, json!({ "tokens": 2.5 })),
        (2, json!({ "tokens": "7" })),
        (3, json!({ "tokens": 0.25, "model": "small" })),
        (4, json!({ "model": "none" })),
        (5, json!({ "tokens": "lots" })),
    ];
    // Via REST: the first two one by one, the rest in bulk.
    for (i, props) in &set[..2] {
        let body = rest_event(
            &format!("r-{i}"),
            "completion",
            "via-rest",
            t0 + Duration::minutes(*i),
            props.clone(),
        );
        let (status, res) = rest(&app, "/v1/events", Some(&app.key), &body.to_string()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    }
    let bulk: Vec<Value> = set[2..]
        .iter()
        .map(|(i, props)| {
            rest_event(
                &format!("r-{i}"),
                "completion",
                "via-rest",
                t0 + Duration::minutes(*i),
                props.clone(),
            )
        })
        .collect();
    let (status, res) = rest(
        &app,
        "/v1/events/bulk",
        Some(&app.key),
        &json!({ "events": bulk }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    assert_eq!(res["accepted"], "4", "{res}");
    // Via GraphQL.
    let batch: Vec<Value> = set
        .iter()
        .map(|(i, props)| {
            event(
                &format!("g-{i}"),
                "completion",
                "via-gql",
                t0 + Duration::minutes(*i),
                props.clone(),
            )
        })
        .collect();
    assert_eq!(ingest(&app, &batch).await["accepted"], 6);

    let (from, to) = (t0 - Duration::hours(1), t0 + Duration::hours(1));
    let ids = [sum.as_str(), max.as_str(), count.as_str()];
    let by_rest = usage(&app, &rest_customer, from, to, Some(&ids)).await;
    let by_gql = usage(&app, &gql_customer, from, to, Some(&ids)).await;
    assert_eq!(by_rest, by_gql);
    // 10 + 2.5 + 7 + 0.25; two events lack a numeric tokens value.
    assert_eq!(by_gql[&sum].value, Some(dec("19.75")));
    assert_eq!(by_gql[&sum].event_count, 4);
    assert_eq!(by_gql[&sum].skipped, 2);
    assert_eq!(by_gql[&max].value, Some(dec("10")));
    assert_eq!(by_gql[&max].event_count, 4);
    assert_eq!(by_gql[&count].value, Some(dec("6")));
    assert_eq!(by_gql[&count].event_count, 6);
    assert_eq!(by_gql[&count].skipped, 0);
}

// 5. Events may arrive before their customer.

#[tokio::test(flavor = "multi_thread")]
async fn events_sent_before_the_customer_exists_count_once_it_does() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let count = create_meter(&app, "late calls", "late_call", "COUNT", None).await;
    let sum = create_meter(&app, "late bytes", "late_call", "SUM", Some("bytes")).await;
    let batch: Vec<Value> = (0..4)
        .map(|i| {
            event(
                &format!("late-{i}"),
                "late_call",
                "late-co",
                t0 + Duration::minutes(i),
                json!({ "bytes": 100 * (i + 1) }),
            )
        })
        .collect();
    assert_eq!(ingest(&app, &batch).await["accepted"], 4);
    let customer = app.create_customer("late-co", None).await;
    let u = usage(
        &app,
        &customer,
        t0 - Duration::minutes(1),
        t0 + Duration::minutes(10),
        None,
    )
    .await;
    assert_eq!(u[&count].value, Some(dec("4")));
    assert_eq!(u[&count].event_count, 4);
    assert_eq!(u[&sum].value, Some(dec("1000")));
    assert_eq!(u[&sum].event_count, 4);
    // A range that leaves out the first event.
    let u = usage(
        &app,
        &customer,
        t0 + Duration::seconds(30),
        t0 + Duration::minutes(10),
        None,
    )
    .await;
    assert_eq!(u[&count].value, Some(dec("3")));
    assert_eq!(u[&sum].value, Some(dec("900")));
}

// 6. Tenant isolation.

#[tokio::test(flavor = "multi_thread")]
async fn tenants_never_see_each_others_events_or_meters() {
    let app = TestApp::new().await;
    let globex = app.create_key("globex").await;
    let t0 = base_time();
    let (from, to) = (t0 - Duration::hours(1), t0 + Duration::hours(1));

    let acme_meter = create_meter(&app, "acme calls", "call", "COUNT", None).await;
    let acme_customer = app.create_customer("shared-co", None).await;
    let acme_events = vec![
        event("shared-1", "call", "shared-co", t0, json!({ "who": "acme" })),
        event(
            "shared-2",
            "call",
            "shared-co",
            t0 + Duration::seconds(1),
            json!({ "who": "acme" }),
        ),
    ];
    assert_eq!(statuses(&ingest(&app, &acme_events).await), ["ACCEPTED", "ACCEPTED"]);

    // Globex reuses an eventId of acme's: independent, so ACCEPTED.
    let globex_events = vec![event("shared-1", "call", "shared-co", t0, json!({ "who": "globex" }))];
    let res = ingest_as(&app, &globex, &globex_events).await;
    assert_eq!(statuses(&res), ["ACCEPTED"], "{res}");
    assert_eq!(res["duplicates"], 0);

    // Each tenant sees only its own events.
    let (total, nodes) = stored_events_as(&app, &globex, json!({ "externalCustomerId": "shared-co" })).await;
    assert_eq!(total, 1);
    assert_eq!(nodes[0]["properties"], json!({ "who": "globex" }));
    let (total, _) = stored_events_as(&app, &globex, json!(null)).await;
    assert_eq!(total, 1);
    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "shared-co" })).await;
    assert_eq!(total, 2);
    assert!(
        nodes.iter().all(|n| n["properties"] == json!({ "who": "acme" })),
        "{nodes:?}"
    );

    // Acme's meter does not exist for globex.
    let res = app
        .gql_as(
            Some(&globex),
            "query($id: UUID!) { meter(id: $id) { id name } }",
            json!({ "id": acme_meter }),
        )
        .await;
    res.assert_error("NOT_FOUND", None);
    assert!(!res.body.to_string().contains("acme calls"), "{}", res.body);
    let res = app
        .gql_as(
            Some(&globex),
            "mutation($id: UUID!) { archiveMeter(id: $id) { id status } }",
            json!({ "id": acme_meter }),
        )
        .await;
    res.assert_error("NOT_FOUND", None);
    let own = app
        .ok(
            "query($id: UUID!) { meter(id: $id) { status archivedAt } }",
            json!({ "id": acme_meter }),
        )
        .await;
    assert_eq!(
        own["meter"]["status"], "ACTIVE",
        "globex's archive attempt changed acme's meter"
    );
    assert!(own["meter"]["archivedAt"].is_null());

    let globex_meter = create_meter_as(&app, &globex, "globex calls", "call", "COUNT", None).await;
    let list = app
        .gql_as(
            Some(&globex),
            "{ meters(first: 100) { totalCount edges { node { id name } } } }",
            json!({}),
        )
        .await
        .data();
    assert_eq!(list["meters"]["totalCount"], 1);
    let ids: Vec<&str> = list["meters"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [globex_meter.as_str()]);

    // Same externalCustomerId in both tenants: usage counts each tenant's own events.
    let globex_customer = app.create_customer_as(&globex, "shared-co", None).await;
    let gu = usage_as(&app, &globex, &globex_customer, from, to, None).await;
    assert_eq!(gu.len(), 1, "{gu:?}");
    assert_eq!(gu[&globex_meter].value, Some(dec("1")));
    assert_eq!(gu[&globex_meter].event_count, 1);
    let au = usage(&app, &acme_customer, from, to, None).await;
    assert_eq!(au.len(), 1, "{au:?}");
    assert_eq!(au[&acme_meter].value, Some(dec("2")));
    // Naming acme's meter from globex reveals nothing.
    let gu = usage_as(&app, &globex, &globex_customer, from, to, Some(&[&acme_meter])).await;
    assert!(gu.is_empty(), "{gu:?}");
}

// 7. Meters.

#[tokio::test(flavor = "multi_thread")]
async fn create_meter_validates_its_input() {
    let app = TestApp::new().await;
    let base = json!({ "name": "Tokens", "eventName": "completion", "aggregation": "SUM", "property": "tokens" });
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "property": null }), "input.property"),
        (json!({ "property": "  " }), "input.property"),
        (json!({ "aggregation": "MAX", "property": null }), "input.property"),
        (json!({ "name": "" }), "input.name"),
        (json!({ "name": "   " }), "input.name"),
        (json!({ "eventName": "" }), "input.eventName"),
        (
            json!({ "filters": [{ "key": "region", "values": [] }] }),
            "input.filters[0].values",
        ),
        (
            json!({ "filters": [{ "key": "", "values": ["eu"] }] }),
            "input.filters[0].key",
        ),
        (
            json!({ "filters": [{ "key": "r", "values": ["eu"] }, { "key": "r", "values": ["us"] }] }),
            "input.filters[1].key",
        ),
    ];
    for (overrides, field) in cases {
        let mut input = base.clone();
        for (k, v) in overrides.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = app.gql(CREATE_METER, json!({ "input": input })).await;
        res.assert_error("VALIDATION", Some(field));
        assert!(res.body["data"].is_null(), "{input}: {}", res.body);
    }
    let list = app.ok("{ meters { totalCount } }", json!({})).await;
    assert_eq!(list["meters"]["totalCount"], 0, "a refused meter was stored");

    // COUNT needs no property; filters are kept as given.
    let input = json!({ "name": "EU calls", "eventName": "call", "aggregation": "COUNT",
        "filters": [{ "key": "region", "values": ["eu-west", "eu-central"] }] });
    let created = app.ok(CREATE_METER, json!({ "input": input })).await["createMeter"].clone();
    assert_eq!(created["name"], "EU calls");
    assert_eq!(created["eventName"], "call");
    assert_eq!(created["aggregation"], "COUNT");
    assert!(created["property"].is_null());
    assert_eq!(
        created["filters"],
        json!([{ "key": "region", "values": ["eu-west", "eu-central"] }])
    );
    assert_eq!(created["status"], "ACTIVE");
    assert!(created["archivedAt"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn meters_paginate_in_creation_order() {
    let app = TestApp::new().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create_meter(&app, &format!("meter {i}"), "e", "COUNT", None).await);
    }
    let query = "query($first: Int, $after: String) {
        meters(first: $first, after: $after) {
            totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id name } }
        }
    }";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let data = app.ok(query, json!({ "first": 2, "after": after })).await;
        let conn = &data["meters"];
        assert_eq!(conn["totalCount"], 5);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        let edges = conn["edges"].as_array().unwrap();
        sizes.push(edges.len());
        seen.extend(edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_string()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_string());
        assert_eq!(after.as_deref(), edges.last().unwrap()["cursor"].as_str());
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(seen, created);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_meter_leaves_default_usage_but_can_still_be_named() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let (from, to) = (t0 - Duration::hours(1), t0 + Duration::hours(1));
    let customer = app.create_customer("arch-co", None).await;
    let kept = create_meter(&app, "kept", "upload", "COUNT", None).await;
    let old = create_meter(&app, "old", "upload", "SUM", Some("mb")).await;
    let batch: Vec<Value> = (0..3)
        .map(|i| {
            event(
                &format!("up-{i}"),
                "upload",
                "arch-co",
                t0 + Duration::minutes(i),
                json!({ "mb": 1.5 }),
            )
        })
        .collect();
    assert_eq!(ingest(&app, &batch).await["accepted"], 3);
    let u = usage(&app, &customer, from, to, None).await;
    assert_eq!(u.len(), 2);
    assert_eq!(u[&old].value, Some(dec("4.5")));

    let archived = app
        .ok(
            "mutation($id: UUID!) { archiveMeter(id: $id) { id status archivedAt } }",
            json!({ "id": old }),
        )
        .await;
    assert_eq!(archived["archiveMeter"]["id"], old.as_str());
    assert_eq!(archived["archiveMeter"]["status"], "ARCHIVED");
    assert!(archived["archiveMeter"]["archivedAt"].is_string());
    let read = app
        .ok("query($id: UUID!) { meter(id: $id) { status } }", json!({ "id": old }))
        .await;
    assert_eq!(read["meter"]["status"], "ARCHIVED");
    let listed = app
        .ok(
            "{ meters(status: ARCHIVED) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["meters"]["totalCount"], 1);
    assert_eq!(listed["meters"]["edges"][0]["node"]["id"], old.as_str());

    let u = usage(&app, &customer, from, to, None).await;
    assert_eq!(u.keys().collect::<Vec<_>>(), [&kept]);
    assert_eq!(u[&kept].value, Some(dec("3")));
    let u = usage(&app, &customer, from, to, Some(&[&old])).await;
    assert_eq!(u.len(), 1);
    assert_eq!(u[&old].name, "old");
    assert_eq!(u[&old].value, Some(dec("4.5")));
    assert_eq!(u[&old].event_count, 3);
}

// 8. externalCustomerId is frozen once events name it.

#[tokio::test(flavor = "multi_thread")]
async fn external_id_may_change_only_until_events_name_it() {
    let app = TestApp::new().await;
    let customer = app.create_customer("rename-me", None).await;
    // Events for some other customer do not matter.
    ingest(&app, &[event("other-1", "x", "someone-else", base_time(), json!({}))]).await;
    let renamed = app
        .ok(
            UPDATE_CUSTOMER,
            json!({ "id": customer, "input": { "externalCustomerId": "renamed" } }),
        )
        .await;
    assert_eq!(renamed["updateCustomer"]["externalCustomerId"], "renamed");

    ingest(&app, &[event("ren-1", "x", "renamed", base_time(), json!({}))]).await;
    let res = app
        .gql(
            UPDATE_CUSTOMER,
            json!({ "id": customer, "input": { "externalCustomerId": "renamed-again" } }),
        )
        .await;
    res.assert_error("CONFLICT", None);
    let read = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { externalCustomerId } }",
            json!({ "id": customer }),
        )
        .await;
    assert_eq!(read["customer"]["externalCustomerId"], "renamed");
    // Other fields can still change, and so can the id to itself.
    let same = app
        .ok(
            UPDATE_CUSTOMER,
            json!({ "id": customer, "input": { "externalCustomerId": "renamed", "name": "New name" } }),
        )
        .await;
    assert_eq!(same["updateCustomer"]["externalCustomerId"], "renamed");
}

// 9. The events listing.

#[tokio::test(flavor = "multi_thread")]
async fn events_paginate_newest_first_and_filter() {
    let app = TestApp::new().await;
    let t0 = base_time();
    // 25 events, two per timestamp (ties broken by eventId), alternating names.
    let batch: Vec<Value> = (0..25)
        .map(|i| {
            let name = if i % 2 == 0 { "even" } else { "odd" };
            event(
                &format!("page-{i:02}"),
                name,
                "page-co",
                t0 - Duration::minutes(i / 2),
                json!({ "i": i }),
            )
        })
        .collect();
    assert_eq!(ingest(&app, &batch).await["accepted"], 25);
    // Another customer's events stay out of the filtered listing.
    ingest(&app, &[event("elsewhere", "even", "other-co", t0, json!({}))]).await;

    let filter = json!({ "externalCustomerId": "page-co" });
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    let mut order: Vec<(DateTime<Utc>, String)> = Vec::new();
    loop {
        let data = app
            .ok(EVENTS, json!({ "filter": filter, "first": 10, "after": after }))
            .await;
        let conn = &data["events"];
        assert_eq!(conn["totalCount"], 25);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        let edges = conn["edges"].as_array().unwrap();
        sizes.push(edges.len());
        assert_eq!(conn["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(conn["pageInfo"]["endCursor"], edges.last().unwrap()["cursor"]);
        for e in edges {
            order.push((
                parse_time(&e["node"]["timestamp"]),
                e["node"]["eventId"].as_str().unwrap().to_string(),
            ));
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    assert_eq!(sizes, [10, 10, 5]);
    let ids: HashSet<&str> = order.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), 25, "an event was listed twice");
    // Newest first, ties by eventId descending: exactly the expected order.
    let mut expected: Vec<(DateTime<Utc>, String)> = (0..25)
        .map(|i| (t0 - Duration::minutes(i / 2), format!("page-{i:02}")))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, expected);

    // Filter by name.
    let (total, nodes) = stored_events(&app, json!({ "externalCustomerId": "page-co", "eventName": "odd" })).await;
    assert_eq!(total, 12);
    assert!(nodes.iter().all(|n| n["eventName"] == "odd"));
    let (total, _) = stored_events(&app, json!({ "eventName": "even" })).await;
    assert_eq!(total, 14, "13 of page-co and 1 of other-co");

    // from is inclusive, to exclusive: [t0 - 3min, t0 - 1min) holds i = 4..=7.
    let range = json!({ "externalCustomerId": "page-co", "from": rfc(t0 - Duration::minutes(3)), "to": rfc(t0 - Duration::minutes(1)) });
    let (total, nodes) = stored_events(&app, range).await;
    assert_eq!(total, 4);
    let ids: HashSet<String> = by_event_id(&nodes).into_keys().collect();
    let want: HashSet<String> = (4..=7).map(|i| format!("page-{i:02}")).collect();
    assert_eq!(ids, want);
    // Combined with the name filter.
    let range = json!({ "externalCustomerId": "page-co", "eventName": "even",
        "from": rfc(t0 - Duration::minutes(3)), "to": rfc(t0 - Duration::minutes(1)) });
    let (total, nodes) = stored_events(&app, range).await;
    assert_eq!(total, 2);
    let ids: HashSet<String> = by_event_id(&nodes).into_keys().collect();
    assert_eq!(ids, HashSet::from(["page-04".to_string(), "page-06".to_string()]));
}

// Edge cases that break the "refusals never drop the valid events" promise.

/// Senders retry overlapping batches in any order. Two calls inserting the
/// same ids in opposite orders must both succeed (each id accepted once).
#[tokio::test(flavor = "multi_thread")]
async fn overlapping_batches_in_opposite_orders_all_succeed() {
    let app = Arc::new(TestApp::new().await);
    let t0 = base_time();
    let rounds = 12;
    let mut errors = Vec::new();
    for round in 0..rounds {
        let forward: Vec<Value> = (0..1000)
            .map(|i| event(&format!("ov-{round}-{i:04}"), "ov", "ov-co", t0, json!({})))
            .collect();
        let mut backward = forward.clone();
        backward.reverse();
        let tasks: Vec<_> = [forward, backward]
            .into_iter()
            .map(|batch| {
                let app = Arc::clone(&app);
                tokio::spawn(async move { app.gql(INGEST, json!({ "events": batch })).await.body })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            let body = task.await.unwrap();
            match body["data"]["ingestEvents"]["accepted"].as_i64() {
                Some(n) => accepted += n,
                None => errors.push(format!("round {round}: {}", body["errors"])),
            }
        }
        if errors.is_empty() {
            assert_eq!(accepted, 1000, "round {round}: each event accepted by exactly one call");
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {} calls failed:\n{}",
        errors.len(),
        rounds * 2,
        errors.join("\n")
    );
    let (total, _) = stored_events(&app, json!({ "externalCustomerId": "ov-co" })).await;
    assert_eq!(total, 1000 * rounds);
}

/// A property PostgreSQL cannot hold as NUMERIC ("1e999999") is accepted at
/// ingestion; it must then not break the customer's usage.
#[tokio::test(flavor = "multi_thread")]
async fn an_unrepresentable_number_does_not_break_usage() {
    let app = TestApp::new().await;
    let t0 = base_time();
    let customer = app.create_customer("exp-co", None).await;
    let sum = create_meter(&app, "exp sum", "exp", "SUM", Some("v")).await;
    let count = create_meter(&app, "exp count", "exp", "COUNT", None).await;
    let res = ingest(
        &app,
        &[
            event("exp-1", "exp", "exp-co", t0, json!({ "v": 2 })),
            event("exp-2", "exp", "exp-co", t0, json!({ "v": "1e999999" })),
        ],
    )
    .await;
    let accepted = res["accepted"].as_i64().unwrap();
    let vars = json!({ "id": customer, "from": rfc(t0 - Duration::hours(1)), "to": rfc(t0 + Duration::hours(1)),
        "meterIds": [sum, count] });
    let res = app.gql(USAGE, vars).await;
    assert!(res.body.get("errors").is_none(), "usage failed: {}", res.body);
    let usage: HashMap<String, Value> = res.body["data"]["customer"]["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["meter"]["id"].as_str().unwrap().to_string(), u.clone()))
        .collect();
    assert_eq!(dec(usage[&count]["value"].as_str().unwrap()), Decimal::from(accepted));
    let counted = usage[&sum]["eventCount"].as_i64().unwrap() + usage[&sum]["skippedEvents"].as_i64().unwrap();
    assert_eq!(counted, accepted, "{}", res.body);
}
