use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::support::TestApp;

const CODES: [&str; 9] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "VALIDATION",
    "CONFLICT",
    "INSUFFICIENT_FUNDS",
    "RATE_LIMITED",
    "TIMEOUT",
    "INTERNAL",
];

/// Every error of the response carries one of the API's codes.
fn assert_every_error_has_a_code(body: &Value) {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected errors: {body}"));
    assert!(!errors.is_empty(), "{body}");
    for error in errors {
        let code = error["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("error without extensions.code: {body}"));
        assert!(CODES.contains(&code), "unknown code {code}: {body}");
        assert!(error["message"].is_string(), "{body}");
    }
}

/// POSTs `body` as is to /graphql with the acme key; returns the status and
/// the JSON answer.
async fn post_raw(app: &TestApp, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-api-key", &app.key)
        .body(body.into())
        .unwrap();
    let (status, bytes) = app.send(request).await;
    let json: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("non-JSON response {status}: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

/// `customer(id: $id) { id parent { id parent { ... { id } } } }`: `parents`
/// + 2 levels of fields.
fn nested_parents(parents: usize) -> String {
    format!(
        "query($id: UUID!) {{ customer(id: $id) {{ id {}{} }} }}",
        "parent { id ".repeat(parents),
        "} ".repeat(parents)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_nested_deeper_than_fifteen_levels_are_refused() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    let child = app.create_customer("child", Some(&root)).await;

    // 15 levels is the limit itself: allowed.
    let data = app.ok(&nested_parents(13), json!({ "id": child })).await;
    assert_eq!(data["customer"]["parent"]["id"], root.as_str());
    assert!(data["customer"]["parent"]["parent"].is_null());

    for parents in [14, 18] {
        let res = app.gql(&nested_parents(parents), json!({ "id": child })).await;
        res.assert_error("VALIDATION", None);
        assert!(res.message().contains("15"), "{}", res.body);
        assert!(res.message().contains("BILLGRAPH_MAX_QUERY_DEPTH"), "{}", res.body);
        assert!(res.body["data"].is_null(), "{}", res.body);
        assert_every_error_has_a_code(&res.body);
    }
    // Far deeper still, the parser's own recursion guard refuses it first.
    let res = app.gql(&nested_parents(40), json!({ "id": child })).await;
    res.assert_error("VALIDATION", None);
    assert!(res.body["data"].is_null(), "{}", res.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn overly_complex_queries_are_refused() {
    let app = TestApp::new().await;
    let before = app.statements();
    let query = "{ customers(first: 100) { edges { node {
        children(first: 100) { edges { node {
            descendants(first: 100) { edges { node { id } } }
        } } }
    } } } }";
    let res = app.gql(query, json!({})).await;
    res.assert_error("VALIDATION", None);
    assert!(res.message().contains("BILLGRAPH_MAX_QUERY_COMPLEXITY"), "{}", res.body);
    assert!(res.message().contains("20000"), "{}", res.body);
    assert!(res.body["data"].is_null(), "{}", res.body);
    assert_every_error_has_a_code(&res.body);
    // Refused before running: only the API key lookup touched the database.
    assert!(
        app.statements() - before <= 1,
        "{} statements",
        app.statements() - before
    );

    // Page sizes given as variables count the same.
    let res = app
        .gql(
            "query($n: Int) { customers(first: $n) { edges { node {
                children(first: $n) { edges { node { descendants(first: $n) { edges { node { id } } } } } }
            } } } }",
            json!({ "n": 100 }),
        )
        .await;
    res.assert_error("VALIDATION", None);
    assert!(res.message().contains("BILLGRAPH_MAX_QUERY_COMPLEXITY"), "{}", res.body);

    // A modest nested query is fine.
    app.ok(
        "{ customers(first: 100) { edges { node { children(first: 10) { edges { node { id } } } } } } }",
        json!({}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_page_sizes_are_refused_not_crashed_on() {
    let app = TestApp::new().await;
    app.create_customer("c1", None).await;
    // The complexity of these multiplies page sizes; it must not overflow.
    let query = "query($n: Int) { customers(first: $n) { edges { node {
        children(first: $n) { edges { node { children(first: $n) { edges { node { id } } } } } }
    } } } }";
    let res = app.gql(query, json!({ "n": i32::MAX })).await;
    res.assert_error("VALIDATION", None);
    assert_every_error_has_a_code(&res.body);
    let res = app.gql(query, json!({ "n": i32::MIN })).await;
    res.assert_error("VALIDATION", None);
    assert_every_error_has_a_code(&res.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_the_size_limit_are_refused_with_413() {
    let app = TestApp::with_config(|c| c.limits.max_body_bytes = 1024).await;
    let padding = "x".repeat(2048);
    let body = json!({ "query": "{ customers { totalCount } }", "variables": { "padding": padding } }).to_string();
    assert!(body.len() > 2048);
    let (status, json) = post_raw(&app, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION", "{json}");
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1024"), "{json}");
    assert!(message.contains("BILLGRAPH_MAX_BODY_BYTES"), "{json}");
    assert!(json["data"].is_null(), "{json}");
    assert_every_error_has_a_code(&json);

    // Exactly at the limit is served by the same app; one byte more is not.
    let sized = |len: usize| {
        let empty = json!({ "query": "{ customers { totalCount } }", "variables": { "p": "" } }).to_string();
        let body =
            json!({ "query": "{ customers { totalCount } }", "variables": { "p": "x".repeat(len - empty.len()) } })
                .to_string();
        assert_eq!(body.len(), len);
        body
    };
    let (status, json) = post_raw(&app, sized(1024)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["data"]["customers"]["totalCount"], 0);
    let (status, json) = post_raw(&app, sized(1025)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION", "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_a_graphql_request_is_refused_with_400() {
    let app = TestApp::new().await;
    for body in [
        "this is not json",
        "",
        "{\"query\": ",
        "[1, 2, 3]",
        "\"{ customers { totalCount } }\"",
    ] {
        let (status, json) = post_raw(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {json}");
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body:?}: {json}"
        );
        assert_every_error_has_a_code(&json);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_queries_are_validation_errors() {
    let app = TestApp::new().await;
    let cases: Vec<(&str, Value)> = vec![
        // Syntax errors.
        ("{ customers { totalCount }", json!({})),
        ("query { customers(first: ) { totalCount } }", json!({})),
        ("not graphql at all", json!({})),
        // Unknown fields and arguments.
        ("{ customers { totalCount nope } }", json!({})),
        ("{ nope }", json!({})),
        ("{ customers(last: 5) { totalCount } }", json!({})),
        ("{ a: nope b: alsoNope }", json!({})),
        // Wrong types and missing arguments.
        ("{ customers(first: \"ten\") { totalCount } }", json!({})),
        ("{ customer { id } }", json!({})),
        ("query($id: UUID!) { customer(id: $id) { id } }", json!({})),
        ("query($id: UUID!) { customer(id: $id) { id } }", json!({ "id": 5 })),
        // A selection missing on an object, or given on a scalar.
        ("{ customers }", json!({})),
        ("{ customers { totalCount { id } } }", json!({})),
        // An empty query.
        ("", json!({})),
    ];
    for (query, variables) in cases {
        let res = app.gql(query, variables).await;
        assert_eq!(res.code(), "VALIDATION", "{query:?}: {}", res.body);
        assert!(!res.message().is_empty(), "{query:?}: {}", res.body);
        assert_every_error_has_a_code(&res.body);
        assert!(res.body["data"].is_null(), "{query:?}: {}", res.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_time_limit_is_refused_with_timeout() {
    let seeded = TestApp::new().await;
    seeded.create_customer("waiting", None).await;
    let app = seeded.reconfigured(|c| c.limits.request_timeout = Duration::from_secs(1));
    // Another session holds the customers table, so the query cannot finish
    // in time however fast the machine is.
    let mut locker = AsyncPgConnection::establish(&app.url).await.unwrap();
    diesel::sql_query("BEGIN").execute(&mut locker).await.unwrap();
    diesel::sql_query("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let query = "{ customers(first: 10) { totalCount edges { node { id children(first: 3) { totalCount } } } } }";
    let res = app.gql(query, json!({})).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    res.assert_error("TIMEOUT", None);
    assert!(res.message().contains("BILLGRAPH_REQUEST_TIMEOUT_SECS"), "{}", res.body);
    assert_every_error_has_a_code(&res.body);

    // Once the table is free, the same server answers again: the abandoned
    // statement left no connection in a broken state.
    diesel::sql_query("ROLLBACK").execute(&mut locker).await.unwrap();
    for _ in 0..10 {
        let data = app.ok(query, json!({})).await;
        assert_eq!(data["customers"]["totalCount"], 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_response_carries_a_code() {
    let app = TestApp::new().await;
    let missing = uuid::Uuid::now_v7().to_string();
    let id = app.create_customer("c1", None).await;
    app.create_customer("c2", Some(&id)).await;
    let cases: Vec<(Option<&str>, &str, Value, &str)> = vec![
        (None, "{ customers { totalCount } }", json!({}), "UNAUTHENTICATED"),
        (
            Some("bgk_wrong"),
            "{ customers { totalCount } }",
            json!({}),
            "UNAUTHENTICATED",
        ),
        (
            Some(&app.key),
            "query($id: UUID!) { customer(id: $id) { id } }",
            json!({ "id": missing }),
            "NOT_FOUND",
        ),
        // Two failing fields: both errors carry a code.
        (
            Some(&app.key),
            "query($a: UUID!, $b: UUID!) { a: customer(id: $a) { id } b: customer(id: $b) { id } }",
            json!({ "a": missing, "b": uuid::Uuid::now_v7() }),
            "NOT_FOUND",
        ),
        (
            Some(&app.key),
            "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
            json!({ "id": id }),
            "CONFLICT",
        ),
        (
            Some(&app.key),
            "mutation { createCustomer(input: { externalCustomerId: \"c1\", name: \"Dup\" }) { id } }",
            json!({}),
            "CONFLICT",
        ),
        (
            Some(&app.key),
            "mutation { createCustomer(input: { externalCustomerId: \"c3\", name: \"  \" }) { id } }",
            json!({}),
            "VALIDATION",
        ),
        (
            Some(&app.key),
            "{ customers(first: 500) { totalCount } customerByExternalId(externalCustomerId: \"x\") { id } }",
            json!({}),
            "VALIDATION",
        ),
        // Errors inside nested lists.
        (
            Some(&app.key),
            "query($id: UUID!) { customer(id: $id) { children(first: 101) { totalCount } } }",
            json!({ "id": id }),
            "VALIDATION",
        ),
        (
            Some(&app.key),
            "{ customers { edges { node { descendants(after: \"bad\") { totalCount } } } } }",
            json!({}),
            "VALIDATION",
        ),
        (Some(&app.key), "{ a b c }", json!({}), "VALIDATION"),
    ];
    for (key, query, variables, code) in cases {
        let res = app.gql_as(key, query, variables).await;
        assert_eq!(res.code(), code, "{query}: {}", res.body);
        assert_every_error_has_a_code(&res.body);
    }

    // The refused requests changed nothing.
    let data = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { status children { totalCount } } customers { totalCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["customer"]["status"], "ACTIVE");
    assert_eq!(data["customer"]["children"]["totalCount"], 1);
    assert_eq!(data["customers"]["totalCount"], 2);
}
