//! Webhook endpoints and deliveries: receivers are small HTTP servers on
//! loopback inside the tests; the worker's step runs with an explicit
//! clock, so retries days apart need no sleeping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use billgraph::AppState;
use billgraph::db::StatementCounter;
use billgraph::webhooks::worker::{deliver_due, spawn_worker};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::python_env;
use crate::support::TestApp;

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    status: AtomicU16,
    /// While set, requests are held unanswered until `release` turns true.
    hang: AtomicBool,
    release: watch::Receiver<bool>,
    /// Requests being answered now, by webhook-id.
    in_flight: Mutex<HashMap<String, usize>>,
    /// Times a webhook-id arrived while a request with it was still open.
    overlaps: AtomicUsize,
    /// How long each answer takes, to widen the window for overlaps.
    delay: Duration,
}

struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    release: watch::Sender<bool>,
}

impl Receiver {
    async fn start(status: u16, delay: Duration) -> Receiver {
        let (release, released) = watch::channel(false);
        let state = Arc::new(ReceiverState {
            requests: Mutex::new(Vec::new()),
            status: AtomicU16::new(status),
            hang: AtomicBool::new(false),
            release: released,
            in_flight: Mutex::new(HashMap::new()),
            overlaps: AtomicUsize::new(0),
            delay,
        });
        let router = Router::new().fallback(receive).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, state, release }
    }

    fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let id = headers.get("webhook-id").cloned().unwrap_or_default();
    {
        let mut open = state.in_flight.lock().unwrap();
        let n = open.entry(id.clone()).or_default();
        if *n > 0 {
            state.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        *n += 1;
    }
    state.requests.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    });
    if state.hang.load(Ordering::SeqCst) {
        let mut release = state.release.clone();
        let _ = release.wait_for(|released| *released).await;
    }
    tokio::time::sleep(state.delay).await;
    *state.in_flight.lock().unwrap().get_mut(&id).unwrap() -= 1;
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
}

/// An app whose endpoints may be local receivers.
async fn webhook_app() -> TestApp {
    TestApp::with_config(|c| c.webhooks.allow_private = true).await
}

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes status description } }
}";

const DELIVERIES: &str = "query($filter: WebhookDeliveryFilterInput) {
    webhookDeliveries(filter: $filter, first: 100) {
        totalCount
        nodes {
            id attempt status responseCode durationMs error attemptedAt nextAttemptAt
            event { id type objectId }
            endpoint { id }
            attempts { attempt status responseCode error attemptedAt }
        }
    }
}";

/// Creates an endpoint for `types`; returns its id and secret.
async fn create_endpoint(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let data = app
        .ok(CREATE, json!({ "input": { "url": url, "eventTypes": types } }))
        .await;
    let created = &data["createWebhookEndpoint"];
    (
        created["endpoint"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(app: &TestApp, filter: Value) -> Vec<Value> {
    let data = app.ok(DELIVERIES, json!({ "filter": filter })).await;
    data["webhookDeliveries"]["nodes"].as_array().unwrap().clone()
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().into()
}

/// Verifies a received request with the Standard Webhooks reference library.
fn verify_with_reference(secret: &str, received: &Received) -> Result<(), String> {
    let input = json!({ "secret": secret, "body": received.body, "headers": received.headers });
    let path = std::env::temp_dir().join(format!("billgraph-webhook-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, input.to_string()).unwrap();
    let out = std::process::Command::new(python_env::python())
        .args([
            "-c",
            "import json, sys\nfrom standardwebhooks import Webhook\nd = json.load(open(sys.argv[1]))\nWebhook(d['secret']).verify(d['body'], d['headers'])\nprint('verified')",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    if String::from_utf8_lossy(&out.stdout).trim() == "verified" {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_are_created_listed_updated_and_deleted() {
    let app = webhook_app().await;
    let data = app
        .ok(
            CREATE,
            json!({ "input": { "url": "https://hooks.example.com/billgraph", "eventTypes": ["invoice.paid", "customer.created", "invoice.paid"], "description": " CRM " } }),
        )
        .await;
    let created = &data["createWebhookEndpoint"];
    let secret = created["secret"].as_str().unwrap();
    let key = base64_decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"));
    assert!((24..=64).contains(&key.len()), "{secret}");
    assert_eq!(
        created["endpoint"]["eventTypes"],
        json!(["customer.created", "invoice.paid"])
    );
    assert_eq!(created["endpoint"]["status"], "ENABLED");
    assert_eq!(created["endpoint"]["description"], "CRM");
    let id = created["endpoint"]["id"].as_str().unwrap();

    // The secret is stored sealed: nowhere in the database in plain text.
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.url)
        .await
        .unwrap();
    let plain: Vec<StoredSecret> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT count(*) AS n FROM webhook_endpoints WHERE position($1::bytea IN secret_sealed) > 0")
            .bind::<diesel::sql_types::Bytea, _>(secret.as_bytes()),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(plain[0].n, 0);

    let (second, _) = create_endpoint(&app, "https://other.example.com/", &["*"]).await;
    let list = app
        .ok(
            "{ webhookEndpoints(first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["webhookEndpoints"]["totalCount"], 2);
    assert_eq!(list["webhookEndpoints"]["edges"][0]["node"]["id"], id);
    let cursor = list["webhookEndpoints"]["pageInfo"]["endCursor"].clone();
    let next = app
        .ok(
            "query($after: String) { webhookEndpoints(first: 5, after: $after) { edges { node { id eventTypes } } pageInfo { hasNextPage } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(next["webhookEndpoints"]["edges"][0]["node"]["id"], second.as_str());
    assert_eq!(next["webhookEndpoints"]["edges"][0]["node"]["eventTypes"], json!(["*"]));

    const UPDATE: &str = "mutation($id: UUID!, $input: UpdateWebhookEndpointInput!) {
        updateWebhookEndpoint(id: $id, input: $input) { url eventTypes description status disabledAt disabledReason }
    }";
    let updated = app
        .ok(
            UPDATE,
            json!({ "id": id, "input": { "url": "https://hooks.example.com/v2", "eventTypes": ["wallet.debited"], "description": "", "enabled": false } }),
        )
        .await;
    let updated = &updated["updateWebhookEndpoint"];
    assert_eq!(updated["url"], "https://hooks.example.com/v2");
    assert_eq!(updated["eventTypes"], json!(["wallet.debited"]));
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["status"], "DISABLED");
    assert!(updated["disabledAt"].is_string());
    assert_eq!(updated["disabledReason"], "disabled by the user");
    let enabled = app.ok(UPDATE, json!({ "id": id, "input": { "enabled": true } })).await;
    assert_eq!(enabled["updateWebhookEndpoint"]["status"], "ENABLED");
    assert_eq!(enabled["updateWebhookEndpoint"]["disabledAt"], Value::Null);

    // Validation names the field and the culprit.
    let bad = app
        .gql(
            CREATE,
            json!({ "input": { "url": "https://x.example.com/", "eventTypes": ["customer.created", "customer.deleted"] } }),
        )
        .await;
    bad.assert_error("VALIDATION", Some("input.eventTypes"));
    assert!(bad.message().contains("customer.deleted"), "{}", bad.message());
    for types in [json!([]), json!(["*", "invoice.paid"])] {
        app.gql(
            CREATE,
            json!({ "input": { "url": "https://x.example.com/", "eventTypes": types } }),
        )
        .await
        .assert_error("VALIDATION", Some("input.eventTypes"));
    }
    app.gql(CREATE, json!({ "input": { "url": "not a url", "eventTypes": ["*"] } }))
        .await
        .assert_error("VALIDATION", Some("input.url"));
    app.gql(UPDATE, json!({ "id": id, "input": { "eventTypes": ["nope"] } }))
        .await
        .assert_error("VALIDATION", Some("input.eventTypes"));

    let deleted = app
        .ok(
            "mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["deleteWebhookEndpoint"], true);
    app.gql(
        "query($id: UUID!) { webhookEndpoint(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql(
        "mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) }",
        json!({ "id": id }),
    )
    .await
    .assert_error("NOT_FOUND", None);
}

#[derive(diesel::QueryableByName)]
struct StoredSecret {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_signed_as_the_reference_library_verifies_also_during_rotation() {
    let app = webhook_app().await;
    let receiver = Receiver::start(200, Duration::ZERO).await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url, &["customer.created"]).await;
    // Subscribed to other types only: receives nothing.
    let other = Receiver::start(200, Duration::ZERO).await;
    create_endpoint(&app, &other.url, &["invoice.paid", "customer.updated"]).await;

    let customer = app.create_customer("c-1", None).await;
    assert_eq!(deliver_due(&app.state, Utc::now()).await.unwrap(), 1);
    assert!(other.requests().is_empty());
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.headers["user-agent"].starts_with("billgraph-webhooks/"));
    assert!(request.headers["webhook-signature"].starts_with("v1,"));
    assert!(!request.headers["webhook-signature"].contains(' '));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["objectId"], customer.as_str());
    assert_eq!(body["data"]["externalCustomerId"], "c-1");
    assert_eq!(request.headers["webhook-id"], body["id"].as_str().unwrap());
    verify_with_reference(&secret, request).expect("the reference library verifies the delivery");
    let forged = Received {
        body: request.body.replace("c-1", "c-2"),
        ..request.clone()
    };
    assert!(
        verify_with_reference(&secret, &forged).is_err(),
        "a changed body must not verify"
    );

    let list = deliveries(&app, json!({ "endpointId": endpoint })).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "SUCCEEDED");
    assert_eq!(list[0]["attempt"], 1);
    assert_eq!(list[0]["responseCode"], 200);
    assert_eq!(list[0]["nextAttemptAt"], Value::Null);
    assert_eq!(list[0]["event"]["id"], body["id"]);
    assert_eq!(list[0]["event"]["type"], "customer.created");
    assert_eq!(list[0]["endpoint"]["id"], endpoint.as_str());
    assert_eq!(list[0]["attempts"].as_array().unwrap().len(), 1);

    // Rotation: both secrets sign for a day, then only the new one.
    let rotated = app
        .ok(
            "mutation($id: UUID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretExpiresAt } } }",
            json!({ "id": endpoint }),
        )
        .await;
    let new_secret = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert!(rotated["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"].is_string());
    app.create_customer("c-2", None).await;
    assert_eq!(deliver_due(&app.state, Utc::now()).await.unwrap(), 1);
    let during = receiver.requests()[1].clone();
    assert_eq!(during.headers["webhook-signature"].split(' ').count(), 2);
    verify_with_reference(&secret, &during).expect("the old secret still verifies");
    verify_with_reference(&new_secret, &during).expect("the new secret verifies");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_deliveries_back_off_for_three_days_then_fail() {
    let app = webhook_app().await;
    let receiver = Receiver::start(500, Duration::ZERO).await;
    let (endpoint, _) = create_endpoint(&app, &receiver.url, &["*"]).await;
    app.create_customer("c-1", None).await;

    let first = Utc::now();
    let mut now = first;
    let mut waits = Vec::new();
    for attempt in 1..=10 {
        assert_eq!(deliver_due(&app.state, now).await.unwrap(), 1, "attempt {attempt}");
        // Nothing more is due until the next attempt's time.
        assert_eq!(deliver_due(&app.state, now).await.unwrap(), 0);
        let delivery = deliveries(&app, json!({})).await[0].clone();
        assert_eq!(delivery["attempt"], attempt);
        assert_eq!(delivery["responseCode"], 500);
        assert!(delivery["error"].as_str().unwrap().contains("500"), "{delivery}");
        if attempt < 10 {
            assert_eq!(delivery["status"], "PENDING");
            let next = instant(&delivery["nextAttemptAt"]);
            waits.push(next - now);
            now = next;
        } else {
            assert_eq!(delivery["status"], "FAILED");
            assert_eq!(delivery["nextAttemptAt"], Value::Null);
            let attempts = delivery["attempts"].as_array().unwrap();
            assert_eq!(attempts.len(), 10);
            assert!(
                attempts
                    .iter()
                    .all(|a| a["status"] == "FAILED" && a["responseCode"] == 500)
            );
        }
    }
    // Exponential: each wait at least the one before, the first 5 s (+10% jitter at most).
    assert!(
        waits[0] >= TimeDelta::seconds(5) && waits[0] <= TimeDelta::milliseconds(5500),
        "{waits:?}"
    );
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
    assert!(now - first >= TimeDelta::days(3), "retried for {:?}", now - first);
    assert_eq!(deliver_due(&app.state, now + TimeDelta::days(30)).await.unwrap(), 0);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 10);
    let id = &requests[0].headers["webhook-id"];
    assert!(requests.iter().all(|r| &r.headers["webhook-id"] == id));
    // Less than 5 days of failures: the endpoint stays enabled.
    let status = app
        .ok(
            "query($id: UUID!) { webhookEndpoint(id: $id) { status } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(status["webhookEndpoint"]["status"], "ENABLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_times_out_is_retried() {
    let app = TestApp::with_config(|c| {
        c.webhooks.allow_private = true;
        c.webhooks.timeout = Duration::from_secs(1);
    })
    .await;
    let receiver = Receiver::start(200, Duration::ZERO).await;
    receiver.state.hang.store(true, Ordering::SeqCst);
    create_endpoint(&app, &receiver.url, &["customer.created"]).await;
    app.create_customer("c-1", None).await;
    let now = Utc::now();
    assert_eq!(deliver_due(&app.state, now).await.unwrap(), 1);
    let delivery = deliveries(&app, json!({})).await[0].clone();
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["responseCode"], Value::Null);
    assert!(
        delivery["error"].as_str().unwrap().contains("no answer within"),
        "{delivery}"
    );

    receiver.state.hang.store(false, Ordering::SeqCst);
    let next = instant(&delivery["nextAttemptAt"]);
    assert_eq!(deliver_due(&app.state, next).await.unwrap(), 1);
    let delivery = deliveries(&app, json!({})).await[0].clone();
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attempt"], 2);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].headers["webhook-id"], requests[1].headers["webhook-id"]);
    let _ = receiver.release.send(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_failing_for_five_days_is_disabled_and_can_be_enabled_again() {
    let app = webhook_app().await;
    let receiver = Receiver::start(503, Duration::ZERO).await;
    let (endpoint, _) = create_endpoint(&app, &receiver.url, &["*"]).await;
    app.create_customer("c-1", None).await;
    let t0 = Utc::now();
    assert_eq!(deliver_due(&app.state, t0).await.unwrap(), 1);
    const ENDPOINT: &str = "query($id: UUID!) { webhookEndpoint(id: $id) { status disabledAt disabledReason deliveries { totalCount nodes { status attempt } } } }";
    // Four days later: still failing, still enabled.
    app.create_customer("c-2", None).await;
    assert_eq!(deliver_due(&app.state, t0 + TimeDelta::days(4)).await.unwrap(), 2);
    let state = app.ok(ENDPOINT, json!({ "id": endpoint })).await;
    assert_eq!(state["webhookEndpoint"]["status"], "ENABLED");
    // Five days after the first failure, with no success since: disabled.
    let t5 = t0 + TimeDelta::days(5) + TimeDelta::minutes(1);
    assert_eq!(deliver_due(&app.state, t5).await.unwrap(), 2);
    let state = app.ok(ENDPOINT, json!({ "id": endpoint })).await;
    let state = &state["webhookEndpoint"];
    assert_eq!(state["status"], "FAILING_DISABLED");
    assert_eq!(instant(&state["disabledAt"]), t5.trunc_subsecs(6));
    assert!(state["disabledReason"].as_str().unwrap().contains("5 days"), "{state}");
    assert_eq!(state["deliveries"]["totalCount"], 2);
    assert!(
        state["deliveries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "PENDING")
    );

    // Its pending deliveries stop, and new events queue nothing for it.
    let sent = receiver.requests().len();
    assert_eq!(deliver_due(&app.state, t5 + TimeDelta::days(1)).await.unwrap(), 0);
    app.create_customer("c-3", None).await;
    assert_eq!(deliveries(&app, json!({})).await.len(), 2);
    assert_eq!(receiver.requests().len(), sent);

    // Enabled again, the pending deliveries resume.
    receiver.answer(204);
    app.ok(
        "mutation($id: UUID!) { updateWebhookEndpoint(id: $id, input: { enabled: true }) { status } }",
        json!({ "id": endpoint }),
    )
    .await;
    assert_eq!(deliver_due(&app.state, t5 + TimeDelta::days(2)).await.unwrap(), 2);
    let list = deliveries(&app, json!({ "status": "SUCCEEDED" })).await;
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|d| d["responseCode"] == 204));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_sends_the_event_again_with_the_same_webhook_id() {
    let app = webhook_app().await;
    let receiver = Receiver::start(200, Duration::ZERO).await;
    let (endpoint, _) = create_endpoint(&app, &receiver.url, &["customer.created"]).await;
    app.create_customer("c-1", None).await;
    deliver_due(&app.state, Utc::now()).await.unwrap();
    let event = deliveries(&app, json!({})).await[0]["event"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    const REPLAY: &str = "mutation($event: UUID!, $endpoint: UUID!) {
        replayWebhookEvent(eventId: $event, endpointId: $endpoint) { id status attempt event { id } endpoint { id } }
    }";
    let replay = app.ok(REPLAY, json!({ "event": event, "endpoint": endpoint })).await;
    let replay = &replay["replayWebhookEvent"];
    assert_eq!(replay["status"], "PENDING");
    assert_eq!(replay["attempt"], 0);
    assert_eq!(replay["event"]["id"], event.as_str());
    assert_eq!(deliver_due(&app.state, Utc::now()).await.unwrap(), 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].headers["webhook-id"], event);
    assert_eq!(requests[0].body, requests[1].body);
    let list = deliveries(&app, json!({ "eventId": event })).await;
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|d| d["status"] == "SUCCEEDED" && d["attempt"] == 1));
    assert_eq!(list[0]["id"], replay["id"], "newest first");

    let missing = uuid::Uuid::now_v7().to_string();
    app.gql(REPLAY, json!({ "event": missing, "endpoint": endpoint }))
        .await
        .assert_error("NOT_FOUND", None);
    app.ok(
        "mutation($id: UUID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { status } }",
        json!({ "id": endpoint }),
    )
    .await;
    app.gql(REPLAY, json!({ "event": event, "endpoint": endpoint }))
        .await
        .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_never_send_one_delivery_twice_at_once() {
    let app = TestApp::with_config(|c| {
        c.webhooks.allow_private = true;
        c.webhooks.per_endpoint = 50;
        c.webhooks.workers = 50;
    })
    .await;
    // A second server instance: its own pools on the same database.
    let other: AppState =
        AppState::connect((*app.state.config).clone(), &app.url, StatementCounter::default()).unwrap();
    // One receiver per endpoint: an event goes to both endpoints with the
    // same webhook-id, which is no overlap.
    let receivers = [
        Receiver::start(200, Duration::from_millis(20)).await,
        Receiver::start(200, Duration::from_millis(20)).await,
    ];
    create_endpoint(&app, &receivers[0].url, &["customer.created"]).await;
    let (second, _) = create_endpoint(&app, &receivers[1].url, &["*"]).await;
    const CUSTOMERS: usize = 30;
    for i in 0..CUSTOMERS {
        app.create_customer(&format!("c-{i}"), None).await;
    }
    let now = Utc::now();
    loop {
        let runs = [&app.state, &other, &app.state, &other].map(|state| {
            let state = state.clone();
            tokio::spawn(async move { deliver_due(&state, now).await.unwrap() })
        });
        let mut attempted = 0;
        for run in runs {
            attempted += run.await.unwrap();
        }
        if attempted == 0 {
            break;
        }
    }
    for receiver in &receivers {
        let requests = receiver.requests();
        assert_eq!(receiver.state.overlaps.load(Ordering::SeqCst), 0);
        // Every event arrived exactly once.
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for r in &requests {
            *per_id.entry(r.headers["webhook-id"].as_str()).or_default() += 1;
        }
        assert_eq!(per_id.len(), CUSTOMERS);
        assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    }
    let list = deliveries(&app, json!({ "endpointId": second })).await;
    assert_eq!(list.len(), CUSTOMERS);
    assert!(list.iter().all(|d| d["status"] == "SUCCEEDED" && d["attempt"] == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_reaching_internal_addresses_are_refused() {
    let app = TestApp::new().await;
    for (url, says) in [
        ("http://hooks.example.com/", "https"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://172.20.0.1/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("https://100.64.0.1/hooks", "CGNAT"),
        ("https://localhost:9443/hooks", "loopback"),
    ] {
        let refused = app
            .gql(CREATE, json!({ "input": { "url": url, "eventTypes": ["*"] } }))
            .await;
        refused.assert_error("VALIDATION", Some("input.url"));
        assert!(refused.message().contains(says), "{url}: {}", refused.message());
    }
    let (id, _) = create_endpoint(&app, "https://93.184.215.14/hooks", &["*"]).await;
    // A name that does not resolve (now) is saved: saving never depends on
    // DNS, and each delivery checks the name again (see below).
    let (unresolved, _) = create_endpoint(&app, "https://hooks.billgraph.invalid/in", &["customer.created"]).await;
    app.gql(
        "mutation($id: UUID!) { updateWebhookEndpoint(id: $id, input: { url: \"https://127.0.0.2/\" }) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_error("VALIDATION", Some("input.url"));

    // Checked again at delivery: an endpoint saved while private targets
    // were allowed is refused by an instance that does not allow them.
    let permissive = app.reconfigured(|c| c.webhooks.allow_private = true);
    let receiver = Receiver::start(200, Duration::ZERO).await;
    let (local, _) = create_endpoint(&permissive, &receiver.url, &["customer.created"]).await;
    app.create_customer("c-1", None).await;
    app.ok(
        "mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(deliver_due(&app.state, Utc::now()).await.unwrap(), 2);
    assert!(receiver.requests().is_empty());
    let delivery = deliveries(&app, json!({ "endpointId": local })).await[0].clone();
    assert_eq!(delivery["status"], "PENDING");
    let error = delivery["error"].as_str().unwrap();
    assert!(error.starts_with("refused") && error.contains("https"), "{error}");
    let delivery = deliveries(&app, json!({ "endpointId": unresolved })).await[0].clone();
    assert_eq!(delivery["status"], "PENDING");
    let error = delivery["error"].as_str().unwrap();
    assert!(error.contains("resolve"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_and_deliveries_are_isolated_by_tenant() {
    let app = webhook_app().await;
    let other_key = app.create_key("other").await;
    let receiver = Receiver::start(200, Duration::ZERO).await;
    let theirs = app
        .gql_as(
            Some(&other_key),
            CREATE,
            json!({ "input": { "url": receiver.url, "eventTypes": ["*"] } }),
        )
        .await
        .data();
    let their_endpoint = theirs["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_customer_as(&other_key, "theirs", None).await;
    // Our events never go to their endpoint.
    let ours = Receiver::start(200, Duration::ZERO).await;
    let (our_endpoint, _) = create_endpoint(&app, &ours.url, &["*"]).await;
    app.create_customer("ours", None).await;
    assert_eq!(deliver_due(&app.state, Utc::now()).await.unwrap(), 2);
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(ours.requests().len(), 1);
    let their_event: Value = serde_json::from_str(&receiver.requests()[0].body).unwrap();
    let their_event = their_event["id"].as_str().unwrap().to_string();

    let list = app
        .ok(
            "{ webhookEndpoints { totalCount nodes: edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["webhookEndpoints"]["totalCount"], 1);
    assert_eq!(
        list["webhookEndpoints"]["nodes"][0]["node"]["id"],
        our_endpoint.as_str()
    );
    let mine = deliveries(&app, json!({})).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["endpoint"]["id"], our_endpoint.as_str());
    assert!(
        deliveries(&app, json!({ "endpointId": their_endpoint }))
            .await
            .is_empty()
    );
    assert!(deliveries(&app, json!({ "eventId": their_event })).await.is_empty());

    let id = json!({ "id": their_endpoint });
    for (query, vars) in [
        ("query($id: UUID!) { webhookEndpoint(id: $id) { id } }", id.clone()),
        (
            "mutation($id: UUID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }",
            id.clone(),
        ),
        (
            "mutation($id: UUID!) { rotateWebhookSecret(id: $id) { secret } }",
            id.clone(),
        ),
        ("mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) }", id.clone()),
        (
            "mutation($event: UUID!, $endpoint: UUID!) { replayWebhookEvent(eventId: $event, endpointId: $endpoint) { id } }",
            json!({ "event": their_event, "endpoint": our_endpoint }),
        ),
        (
            "mutation($event: UUID!, $endpoint: UUID!) { replayWebhookEvent(eventId: $event, endpointId: $endpoint) { id } }",
            json!({ "event": mine[0]["event"]["id"], "endpoint": their_endpoint }),
        ),
    ] {
        app.gql(query, vars).await.assert_error("NOT_FOUND", None);
    }
    // Theirs is untouched.
    let still = app
        .gql_as(Some(&other_key), "{ webhookEndpoints { totalCount } }", json!({}))
        .await
        .data();
    assert_eq!(still["webhookEndpoints"]["totalCount"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_endpoint_does_not_delay_another() {
    let app = TestApp::with_config(|c| {
        c.webhooks.allow_private = true;
        c.webhooks.timeout = Duration::from_secs(60);
        c.webhooks.interval = Duration::from_millis(20);
    })
    .await;
    let dead = Receiver::start(200, Duration::ZERO).await;
    dead.state.hang.store(true, Ordering::SeqCst);
    let alive = Receiver::start(200, Duration::ZERO).await;
    let (dead_endpoint, _) = create_endpoint(&app, &dead.url, &["*"]).await;
    let (alive_endpoint, _) = create_endpoint(&app, &alive.url, &["*"]).await;
    spawn_worker(app.state.clone());
    // The API answers at once while the dead endpoint holds its request.
    app.create_customer("c-1", None).await;
    app.create_customer("c-2", None).await;

    let mut alive_done = false;
    for _ in 0..500 {
        let list = deliveries(&app, json!({ "endpointId": alive_endpoint, "status": "SUCCEEDED" })).await;
        if list.len() == 2 {
            alive_done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(alive_done, "the live endpoint got its deliveries");
    // Meanwhile the dead endpoint still holds the request it was sent, unanswered.
    assert!(!dead.requests().is_empty());
    let stuck = deliveries(&app, json!({ "endpointId": dead_endpoint })).await;
    assert!(
        stuck.iter().all(|d| d["status"] == "PENDING" && d["attempt"] == 0),
        "{stuck:?}"
    );
    let _ = dead.release.send(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_deliveries_with_their_relations_costs_a_constant_number_of_statements() {
    let app = webhook_app().await;
    let receivers = [
        Receiver::start(500, Duration::ZERO).await,
        Receiver::start(200, Duration::ZERO).await,
    ];
    for receiver in &receivers {
        create_endpoint(&app, &receiver.url, &["*"]).await;
    }
    for i in 0..10 {
        app.create_customer(&format!("c-{i}"), None).await;
    }
    // A failed attempt and its retry for one endpoint's deliveries; each
    // step sends at most BILLGRAPH_WEBHOOK_PER_ENDPOINT per endpoint.
    let now = Utc::now();
    for at in [now, now + TimeDelta::minutes(1)] {
        while deliver_due(&app.state, at).await.unwrap() > 0 {}
    }

    const PAGE: &str = "query($first: Int!) {
        webhookDeliveries(first: $first) {
            totalCount
            nodes { id event { id type } endpoint { id url } attempts { attempt status } }
        }
        webhookEndpoints { nodes: edges { node { deliveries(first: $first) { totalCount nodes { event { id } attempts { attempt } } } } } }
    }";
    let count = async |first: usize| {
        let before = app.statements();
        let data = app.ok(PAGE, json!({ "first": first })).await;
        let nodes = data["webhookDeliveries"]["nodes"].as_array().unwrap().clone();
        (app.statements() - before, nodes)
    };
    let (small, small_nodes) = count(1).await;
    let (large, large_nodes) = count(20).await;
    assert_eq!(small_nodes.len(), 1);
    assert_eq!(large_nodes.len(), 20);
    assert!(large_nodes.iter().any(|d| d["attempts"].as_array().unwrap().len() == 2));
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 1, {large} for 20"
    );
}
