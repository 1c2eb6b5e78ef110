//! FlexPrice-compatible REST under /v1: FlexPrice's paths, bodies, status
//! codes and error shape, over the same rules and tenancy as GraphQL; and
//! the official FlexPrice Python SDK driving it on a real socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};

use crate::python_env;
use crate::stripe_support::serve;
use crate::support::TestApp;

async fn call(app: &TestApp, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    let body = match body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let (status, bytes) = app.send(builder.body(body).unwrap()).await;
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("non-JSON response {status}: {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

async fn as_acme(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call(app, method, path, Some(&app.key.clone()), body).await
}

/// FlexPrice's error body: message, code and http_status_code at the top,
/// never a GraphQL envelope.
fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str, error_code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["http_status_code"], want.as_u16(), "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["error_code"], error_code, "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty(), "{body}");
    assert!(body.get("errors").is_none() && body.get("data").is_none(), "{body}");
}

/// Every value of a FlexPrice event answer is a string (its SDKs read a map
/// of strings).
fn assert_all_strings(body: &Value) {
    for (key, value) in body.as_object().unwrap() {
        assert!(value.is_string(), "{key} is not a string: {body}");
    }
}

async fn stored_event_ids(app: &TestApp, customer: &str) -> Vec<String> {
    let data = app
        .ok(
            "query($f: EventFilterInput) { events(first: 100, filter: $f) { edges { node { eventId } } } }",
            json!({ "f": { "externalCustomerId": customer } }),
        )
        .await;
    let mut ids: Vec<String> = data["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["eventId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn one_event_is_accepted_in_flexprices_shape() {
    let app = TestApp::new().await;
    let event = json!({ "event_name": "api_call", "external_customer_id": "fp-1", "properties": { "tokens": "3" } });
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(event.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["message"], "Event accepted for processing");
    assert_eq!(body["status"], "accepted");
    assert_all_strings(&body);
    let id = body["event_id"].as_str().unwrap().to_string();
    assert_eq!(stored_event_ids(&app, "fp-1").await, vec![id.clone()]);

    // Sent again with its id: still 202, reported as a duplicate, stored once.
    let again = json!({ "event_id": id, "event_name": "api_call", "external_customer_id": "fp-1" });
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(again)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "duplicate");
    assert_eq!(stored_event_ids(&app, "fp-1").await.len(), 1);

    // A refused event: FlexPrice's error body naming the field.
    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let bad = json!({ "event_name": "api_call", "external_customer_id": "fp-1", "timestamp": future });
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(bad)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    assert_eq!(body["field"], "timestamp", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_id_must_name_the_customer_of_the_external_id() {
    let app = TestApp::new().await;
    let own = app.create_customer("fp-owner", None).await;
    let other = app.create_customer("fp-other", None).await;
    let event = |id: &str, customer_id: &str| json!({ "event_id": id, "event_name": "api_call", "external_customer_id": "fp-owner", "customer_id": customer_id });
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(event("e-own", &own))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(event("e-other", &other))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    assert!(body["message"].as_str().unwrap().contains("fp-other"), "{body}");
    assert_eq!(body["field"], "customer_id");

    // Another tenant's customer names no customer here.
    let beta = app.create_key("beta").await;
    let beta_customer = app.create_customer_as(&beta, "fp-owner", None).await;
    let (status, body) = as_acme(&app, "POST", "/v1/events", Some(event("e-beta", &beta_customer))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");

    // In bulk, the refused ones are reported and the others stored.
    let bulk = json!({ "events": [event("b-own", &own), event("b-other", &other), event("b-bad", "not-a-uuid")] });
    let (status, body) = as_acme(&app, "POST", "/v1/events/bulk", Some(bulk)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_all_strings(&body);
    assert_eq!(body["accepted"], "1");
    assert_eq!(body["refused"], "2");
    let refused: Value = serde_json::from_str(body["refused_events"].as_str().unwrap()).unwrap();
    let indexes: Vec<u64> = refused
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, vec![1, 2], "{refused}");
    assert_eq!(stored_event_ids(&app, "fp-owner").await, vec!["b-own", "e-own"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_batch_with_a_bad_event_stores_the_others() {
    let app = TestApp::new().await;
    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let events = json!({ "events": [
        { "event_id": "k-0", "event_name": "api_call", "external_customer_id": "fp-bulk", "properties": { "n": "1" } },
        { "event_id": "k-1", "event_name": "api_call", "external_customer_id": "fp-bulk", "timestamp": future },
        { "event_id": "k-2", "event_name": "api_call", "external_customer_id": "fp-bulk", "source": "sdk" },
    ] });
    let (status, body) = as_acme(&app, "POST", "/v1/events/bulk", Some(events.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["message"], "Events accepted for processing");
    assert_all_strings(&body);
    assert_eq!(
        (&body["accepted"], &body["duplicates"], &body["refused"]),
        (&json!("2"), &json!("0"), &json!("1"))
    );
    let refused: Value = serde_json::from_str(body["refused_events"].as_str().unwrap()).unwrap();
    assert_eq!(refused[0]["index"], 1);
    assert_eq!(refused[0]["event_id"], "k-1");
    assert!(refused[0]["reason"].as_str().unwrap().contains("future"), "{refused}");
    assert_eq!(stored_event_ids(&app, "fp-bulk").await, vec!["k-0", "k-2"]);

    // Again: the stored two are duplicates.
    let (_, body) = as_acme(&app, "POST", "/v1/events/bulk", Some(events)).await;
    assert_eq!((&body["accepted"], &body["duplicates"]), (&json!("0"), &json!("2")));

    // 1 to 1000 events.
    let (status, body) = as_acme(&app, "POST", "/v1/events/bulk", Some(json!({ "events": [] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    assert_eq!(body["field"], "events");
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "event_name": "api_call", "external_customer_id": format!("many-{i}") }))
        .collect();
    let (status, body) = as_acme(&app, "POST", "/v1/events/bulk", Some(json!({ "events": many }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_before_the_work_come_in_flexprices_error_shape() {
    let app = TestApp::new().await;
    let event = json!({ "event_name": "api_call", "external_customer_id": "c" });
    for (method, path, body) in [
        ("POST", "/v1/events", Some(event.clone())),
        ("POST", "/v1/events/bulk", Some(json!({ "events": [event.clone()] }))),
        (
            "POST",
            "/v1/customers",
            Some(json!({ "external_id": "x", "name": "X" })),
        ),
        ("GET", "/v1/customers", None),
        ("GET", "/v1/customers/external/x", None),
    ] {
        let (status, res) = call(&app, method, path, None, body.clone()).await;
        assert_error(
            status,
            &res,
            StatusCode::UNAUTHORIZED,
            "permission_denied",
            "UNAUTHENTICATED",
        );
        let (status, res) = call(&app, method, path, Some("bg_not_a_real_key"), body).await;
        assert_error(
            status,
            &res,
            StatusCode::UNAUTHORIZED,
            "permission_denied",
            "UNAUTHENTICATED",
        );
    }
    for path in ["/v1/events", "/v1/events/bulk", "/v1/customers"] {
        let request = Request::post(path)
            .header("x-api-key", &app.key)
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        let (status, bytes) = app.send(request).await;
        let res: Value = serde_json::from_slice(&bytes).unwrap();
        assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    }
    // An unknown event field is still refused; FlexPrice's are all known.
    let (status, res) = as_acme(
        &app,
        "POST",
        "/v1/events",
        Some(json!({ "event_name": "a", "external_customer_id": "c", "customer": "x" })),
    )
    .await;
    assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    // The body limit applies as on GraphQL.
    let small = app.reconfigured(|c| c.limits.max_body_bytes = 64);
    let big = json!({ "event_name": "a".repeat(100), "external_customer_id": "c" });
    let (status, res) = as_acme(&small, "POST", "/v1/events", Some(big)).await;
    assert_error(
        status,
        &res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "validation_error",
        "VALIDATION",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_are_created_read_updated_listed_and_archived() {
    let app = TestApp::new().await;
    // The documented example: external_customer_id, name, email, metadata.
    let (status, created) = as_acme(
        &app,
        "POST",
        "/v1/customers",
        Some(json!({
            "external_customer_id": "cust_123",
            "name": "Acme Corporation",
            "email": "billing@acme.com",
            "address_line1": "1 Main St",
            "address_city": "Berlin",
            "address_country": "DE",
            "metadata": { "plan": "enterprise" },
            "timezone": "Europe/Berlin",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["external_id"], "cust_123");
    assert_eq!(created["external_customer_id"], "cust_123");
    assert_eq!(created["address_country"], "DE");
    assert_eq!(created["metadata"], json!({ "plan": "enterprise" }));
    assert_eq!(created["status"], "published");

    // The SDK's external_id, with a parent.
    let (status, child) = as_acme(
        &app,
        "POST",
        "/v1/customers",
        Some(json!({ "external_id": "cust_child", "name": "Acme Berlin", "parent_customer_id": id })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    assert_eq!(child["parent_customer_id"], id.as_str());

    for path in [
        format!("/v1/customers/{id}"),
        "/v1/customers/external/cust_123".to_string(),
        "/v1/customers/lookup/cust_123".to_string(),
    ] {
        let (status, got) = as_acme(&app, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {got}");
        assert_eq!(got, created, "{path}");
    }

    // Update: only what is given changes; address parts merge; metadata keys set.
    let (status, updated) = as_acme(
        &app,
        "PUT",
        &format!("/v1/customers/{id}"),
        Some(json!({ "name": "Acme Corp", "address_city": "Hamburg", "metadata": { "tier": "gold" } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Acme Corp");
    assert_eq!(updated["address_city"], "Hamburg");
    assert_eq!(updated["address_line1"], "1 Main St");
    assert_eq!(updated["email"], "billing@acme.com");
    assert_eq!(updated["metadata"], json!({ "plan": "enterprise", "tier": "gold" }));
    // The SDK's form: PUT /v1/customers?external_customer_id=...
    let (status, updated) = as_acme(
        &app,
        "PUT",
        "/v1/customers?external_customer_id=cust_123",
        Some(json!({ "email": "ap@acme.com" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["email"], "ap@acme.com");
    let gql = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { name email address { city } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        gql["customer"],
        json!({ "name": "Acme Corp", "email": "ap@acme.com", "address": { "city": "Hamburg" } })
    );

    // List with limit/offset and FlexPrice's pagination.
    let (status, page) = as_acme(&app, "GET", "/v1/customers?limit=1&offset=1", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["pagination"], json!({ "limit": 1, "offset": 1, "total": 2 }));
    assert_eq!(page["items"][0]["external_id"], "cust_child");
    let (_, page) = as_acme(&app, "GET", "/v1/customers?external_id=cust_123", None).await;
    assert_eq!(page["pagination"]["total"], 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (status, res) = as_acme(&app, "GET", "/v1/customers?limit=100000", None).await;
    assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    assert_eq!(res["field"], "limit");
    let (status, res) = as_acme(&app, "GET", "/v1/customers?offset=-1", None).await;
    assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");

    // Delete archives, refused while a live child remains (as archiveCustomer).
    let (status, res) = as_acme(&app, "DELETE", &format!("/v1/customers/{id}"), None).await;
    assert_error(status, &res, StatusCode::CONFLICT, "invalid_operation", "CONFLICT");
    let child_id = child["id"].as_str().unwrap();
    let (status, _) = as_acme(&app, "DELETE", &format!("/v1/customers/{child_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = as_acme(&app, "DELETE", &format!("/v1/customers/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, archived) = as_acme(&app, "GET", &format!("/v1/customers/{id}"), None).await;
    assert_eq!(archived["status"], "archived");
    let (status, res) = as_acme(
        &app,
        "PUT",
        &format!("/v1/customers/{id}"),
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_error(status, &res, StatusCode::CONFLICT, "invalid_operation", "CONFLICT");
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_input_is_validated_by_the_domain_rules() {
    let app = TestApp::new().await;
    let cases = [
        (json!({ "name": "No id" }), "external_customer_id"),
        (json!({ "external_id": "a" }), "name"),
        (
            json!({ "external_id": "a", "external_customer_id": "b", "name": "A" }),
            "external_id",
        ),
        (json!({ "external_id": "a", "name": "A", "email": "nope" }), "email"),
        (
            json!({ "external_id": "a", "name": "A", "address_country": "Germany" }),
            "address_country",
        ),
        (
            json!({ "external_id": "a", "name": "A", "metadata": { "n": 1 } }),
            "metadata.n",
        ),
        (
            json!({ "external_id": "a", "name": "A", "parent_customer_id": "x" }),
            "parent_customer_id",
        ),
        (json!({ "external_id": "a", "name": "A\u{1}" }), "name"),
    ];
    for (body, field) in cases {
        let (status, res) = as_acme(&app, "POST", "/v1/customers", Some(body.clone())).await;
        assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
        assert!(res["field"].as_str().unwrap().starts_with(field), "{body}: {res}");
    }
    let body = json!({ "external_id": "dup", "name": "Dup" });
    let (status, created) = as_acme(&app, "POST", "/v1/customers", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    // Rules the service checks on update name the field as the body does.
    let path = format!("/v1/customers/{}", created["id"].as_str().unwrap());
    let (status, res) = as_acme(&app, "PUT", &path, Some(json!({ "metadata": { "n": 5 } }))).await;
    assert_error(status, &res, StatusCode::BAD_REQUEST, "validation_error", "VALIDATION");
    assert!(res["field"].as_str().unwrap().starts_with("metadata"), "{res}");
    let (status, res) = as_acme(&app, "POST", "/v1/customers", Some(body)).await;
    assert_error(status, &res, StatusCode::CONFLICT, "invalid_operation", "CONFLICT");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_customers_are_not_found() {
    let app = TestApp::new().await;
    let beta = app.create_key("beta").await;
    let theirs = app.create_customer_as(&beta, "beta-only", None).await;
    for (method, path, body) in [
        ("GET", format!("/v1/customers/{theirs}"), None),
        ("GET", "/v1/customers/external/beta-only".to_string(), None),
        ("GET", "/v1/customers/lookup/beta-only".to_string(), None),
        (
            "PUT",
            format!("/v1/customers/{theirs}"),
            Some(json!({ "name": "mine" })),
        ),
        (
            "PUT",
            "/v1/customers?external_customer_id=beta-only".to_string(),
            Some(json!({ "name": "mine" })),
        ),
        ("DELETE", format!("/v1/customers/{theirs}"), None),
        ("GET", "/v1/customers/not-a-uuid".to_string(), None),
    ] {
        let (status, res) = as_acme(&app, method, &path, body).await;
        assert_error(status, &res, StatusCode::NOT_FOUND, "not_found", "NOT_FOUND");
    }
    let (_, page) = as_acme(&app, "GET", "/v1/customers", None).await;
    assert_eq!(page["pagination"]["total"], 0, "{page}");
    // Their parent cannot be ours either.
    let (status, res) = as_acme(
        &app,
        "POST",
        "/v1/customers",
        Some(json!({ "external_id": "kid", "name": "Kid", "parent_customer_id": theirs })),
    )
    .await;
    assert_error(status, &res, StatusCode::NOT_FOUND, "not_found", "NOT_FOUND");
    let gql = app
        .gql_as(
            Some(&beta),
            "query($id: UUID!) { customer(id: $id) { name } }",
            json!({ "id": theirs }),
        )
        .await;
    assert_eq!(gql.data()["customer"]["name"], "Customer beta-only");
}

const SDK_SCRIPT: &str = r#"
import json, sys
from flexprice import Flexprice

url, key = sys.argv[1], sys.argv[2]
out = {}
with Flexprice(server_url=url + "/v1", api_key_auth=key) as fp:
    one = fp.events.ingest_event(event_name="api_call", external_customer_id="sdk-co",
                                 event_id="sdk-1", properties={"tokens": "5"}, source="sdk")
    out["single"] = one
    bulk = fp.events.ingest_events_bulk(events=[
        {"event_name": "api_call", "external_customer_id": "sdk-co", "event_id": "sdk-2", "properties": {"tokens": "2"}},
        {"event_name": "api_call", "external_customer_id": "sdk-co", "event_id": "sdk-3",
         "timestamp": "2026-01-02T03:04:05Z"},
    ])
    out["bulk"] = bulk
    created = fp.customers.create_customer(external_id="sdk-co", name="SDK Co", email="a@sdk.example",
                                           address_country="FR", metadata={"source": "sdk"})
    out["created_id"] = created.id
    fetched = fp.customers.get_customer_by_external_id(external_id="sdk-co")
    out["fetched_name"] = fetched.name
    out["fetched_status"] = fetched.status
    updated = fp.customers.update_customer(id=created.id, name="SDK Company", address_city="Paris")
    out["updated_name"] = updated.name
    try:
        fp.customers.get_customer_by_external_id(external_id="nobody")
    except Exception as e:
        out["missing"] = [type(e).__name__, getattr(getattr(e, "data", None), "code", None), e.status_code]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_official_flexprice_python_sdk_works_against_billgraph() {
    let app = TestApp::new().await;
    let url = serve(&app).await;
    let python = tokio::task::spawn_blocking(python_env::python).await.unwrap();
    let key = app.key.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(["-c", SDK_SCRIPT, &url, &key])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the SDK raised:\n{stderr}");
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    assert_eq!(result["single"]["event_id"], "sdk-1", "{result}");
    assert_eq!(result["single"]["message"], "Event accepted for processing");
    assert_eq!(result["bulk"]["message"], "Events accepted for processing");
    assert_eq!(result["bulk"]["accepted"], "2");
    assert_eq!(result["fetched_name"], "SDK Co");
    assert_eq!(result["fetched_status"], "published");
    assert_eq!(result["updated_name"], "SDK Company");
    assert_eq!(
        result["missing"],
        json!(["ErrorResponse", "not_found", 404]),
        "{result}"
    );

    // What the SDK sent is stored, read back through GraphQL.
    assert_eq!(stored_event_ids(&app, "sdk-co").await, vec!["sdk-1", "sdk-2", "sdk-3"]);
    let data = app
        .ok(
            "query { customerByExternalId(externalCustomerId: \"sdk-co\") { id name email metadata address { city country } } }",
            json!({}),
        )
        .await;
    let customer = &data["customerByExternalId"];
    assert_eq!(customer["id"], result["created_id"]);
    assert_eq!(customer["name"], "SDK Company");
    assert_eq!(customer["email"], "a@sdk.example");
    assert_eq!(customer["metadata"], json!({ "source": "sdk" }));
    assert_eq!(customer["address"], json!({ "city": "Paris", "country": "FR" }));
}

/// A PUT merges the address parts it gives into the stored ones; a change
/// that lands between that read and the update is refused, never lost.
#[tokio::test(flavor = "multi_thread")]
async fn an_update_built_on_a_stale_customer_is_refused_not_merged_over_a_change() {
    use billgraph::customers::{self, CustomerPatch};
    let app = TestApp::new().await;
    let id = app.create_customer("stale-1", None).await;
    let id: uuid::Uuid = id.parse().unwrap();
    let mut conn = billgraph::db::connection(&app.state.pool).await.unwrap();
    let tenant = billgraph::db::tenants::ensure_tenant(&mut conn, "acme")
        .await
        .unwrap()
        .id;
    let before = billgraph::db::customers::find_by_ids(&mut conn, tenant, &[id])
        .await
        .unwrap()[0]
        .updated_at;
    drop(conn);
    // Someone else changes the customer after `before` was read.
    let (status, _) = as_acme(
        &app,
        "PUT",
        &format!("/v1/customers/{id}"),
        Some(json!({ "name": "Renamed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stale = CustomerPatch {
        built_on: Some(before),
        ..CustomerPatch::default()
    };
    let refused = customers::update(&app.state.pool, tenant, id, stale).await.unwrap_err();
    assert_eq!(refused.code().as_str(), "CONFLICT", "{refused:?}");
    let fresh = CustomerPatch {
        name: Some("Renamed again".into()),
        ..CustomerPatch::default()
    };
    assert_eq!(
        customers::update(&app.state.pool, tenant, id, fresh)
            .await
            .unwrap()
            .name,
        "Renamed again"
    );
}
