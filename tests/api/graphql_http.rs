//! /graphql as the GraphQL over HTTP specification describes it: media
//! types from Accept, status codes of request errors, GET for queries,
//! GraphiQL for browsers (served offline), and the graphql-http audit
//! suite and a headless Chromium run against a real socket.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::js_env;
use crate::stripe_support::serve;
use crate::support::TestApp;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

struct Answer {
    status: StatusCode,
    content_type: String,
    allow: Option<String>,
    cache_control: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(app: &TestApp, request: Request<Body>) -> Answer {
    let (status, headers, body) = app.respond(request).await;
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap().to_string());
    Answer {
        status,
        content_type: text(header::CONTENT_TYPE).unwrap_or_default(),
        allow: text(header::ALLOW),
        cache_control: text(header::CACHE_CONTROL),
        body,
    }
}

async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> Answer {
    let mut request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-api-key", &app.key);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    send(app, request.body(Body::from(body.to_string())).unwrap()).await
}

async fn get(app: &TestApp, accept: &str, query: &str, key: Option<&str>) -> Answer {
    let url = format!(
        "/graphql?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .finish()
    );
    let mut request = Request::get(url).header("accept", accept);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_accept_header_chooses_the_media_type() {
    let app = TestApp::new().await;
    let query = json!({ "query": "{ __typename }" });
    for accept in [Some("application/json"), Some("*/*"), None] {
        let answer = post(&app, accept, query.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{accept:?}");
        assert!(
            answer.content_type.starts_with("application/json"),
            "{accept:?}: {}",
            answer.content_type
        );
        assert_eq!(answer.json()["data"]["__typename"], "Query", "{accept:?}");
    }
    let answer = post(&app, Some(GRAPHQL_RESPONSE_JSON), query.clone()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.content_type.starts_with(GRAPHQL_RESPONSE_JSON),
        "{}",
        answer.content_type
    );
    let answer = post(
        &app,
        Some("application/graphql-response+json, application/json;q=0.9"),
        query,
    )
    .await;
    assert!(
        answer.content_type.starts_with(GRAPHQL_RESPONSE_JSON),
        "{}",
        answer.content_type
    );
}

#[tokio::test]
async fn request_errors_carry_no_data_and_are_400_for_the_graphql_response_type() {
    let app = TestApp::new().await;
    let failures = [
        ("parse", json!({ "query": "{" })),
        (
            "missing variable",
            json!({ "query": "query($ext: String!) { customerByExternalId(externalCustomerId: $ext) { id } }" }),
        ),
        ("validation", json!({ "query": "{ noSuchField }" })),
        (
            "variables",
            json!({ "query": "query($n: Int) { customers(first: $n) { totalCount } }", "variables": { "n": "many" } }),
        ),
    ];
    for (what, body) in failures {
        let answer = post(&app, Some(GRAPHQL_RESPONSE_JSON), body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}: {}", answer.text());
        let json = answer.json();
        assert!(json.get("data").is_none(), "{what}: {json}");
        assert!(!json["errors"].as_array().unwrap().is_empty(), "{what}");

        // Legacy JSON clients read errors from a 200.
        let answer = post(&app, Some("application/json"), body).await;
        assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.text());
        assert!(answer.json().get("data").is_none(), "{what}");
    }

    // A field error during execution is a 200 with data, whatever the type.
    let missing = json!({ "query": "query($id: UUID!) { customer(id: $id) { id } }",
        "variables": { "id": uuid::Uuid::now_v7() } });
    let answer = post(&app, Some(GRAPHQL_RESPONSE_JSON), missing).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let json = answer.json();
    assert!(json.get("data").is_some(), "{json}");
    assert_eq!(json["errors"][0]["extensions"]["code"], "NOT_FOUND", "{json}");
}

#[tokio::test]
async fn bodies_that_are_not_graphql_requests_are_refused() {
    let app = TestApp::new().await;
    let without_type = Request::post("/graphql")
        .header("x-api-key", &app.key)
        .body(Body::from(json!({ "query": "{ __typename }" }).to_string()))
        .unwrap();
    let answer = send(&app, without_type).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", answer.text());

    let not_json = Request::post("/graphql")
        .header("x-api-key", &app.key)
        .header("content-type", "application/json")
        .body(Body::from("{ \"not a JSON"))
        .unwrap();
    assert_eq!(send(&app, not_json).await.status, StatusCode::BAD_REQUEST);

    for body in [
        json!({ "qeury": "{ __typename }" }),
        json!({ "query": 7 }),
        json!({ "query": "{ __typename }", "variables": "{}" }),
        json!({ "query": "{ __typename }", "operationName": ["A"] }),
        json!(["{ __typename }"]),
    ] {
        let answer = post(&app, None, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.json()["errors"][0]["extensions"]["code"], "VALIDATION", "{body}");
    }

    // Null optional parameters are the same as missing ones.
    let answer = post(
        &app,
        None,
        json!({ "query": "{ __typename }", "operationName": null, "variables": null, "extensions": null }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn get_runs_queries_for_json_clients_but_never_mutations() {
    let app = TestApp::new().await;
    app.create_customer("cust-get", None).await;
    let query = "{ customers(first: 5) { nodes { externalCustomerId } } }";
    let answer = get(&app, "application/json", query, Some(&app.key)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(answer.content_type.starts_with("application/json"));
    assert_eq!(
        answer.json()["data"]["customers"]["nodes"],
        json!([{ "externalCustomerId": "cust-get" }])
    );

    // With variables and an operation name, as URL parameters.
    let url = format!(
        "/graphql?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "query",
                "query Find($ext: String!) { customerByExternalId(externalCustomerId: $ext) { externalCustomerId } }"
            )
            .append_pair("operationName", "Find")
            .append_pair("variables", r#"{"ext":"cust-get"}"#)
            .finish()
    );
    let request = Request::get(url)
        .header("accept", GRAPHQL_RESPONSE_JSON)
        .header("x-api-key", &app.key);
    let answer = send(&app, request.body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json()["data"]["customerByExternalId"]["externalCustomerId"],
        "cust-get"
    );

    let mutation = r#"mutation { createCustomer(input: { externalCustomerId: "by-get", name: "By GET" }) { id } }"#;
    let answer = get(&app, "application/json", mutation, Some(&app.key)).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{}", answer.text());
    assert_eq!(answer.allow.as_deref(), Some("POST"));
    let listed = app.ok("{ customers(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(listed["customers"]["totalCount"], 1, "the mutation did not run");

    // Authentication is the same as for POST.
    assert_eq!(
        get(&app, "application/json", query, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let answer = get(&app, "application/json", query, Some("bgk_not_a_key")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_browser_gets_graphiql_with_every_asset_from_the_server() {
    let app = TestApp::new().await;
    // No key needed for the page: it asks for one.
    let page = get(&app, BROWSER_ACCEPT, "{ __typename }", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    let html = page.text();
    assert!(html.contains("id=\"api-key\""), "{html}");
    assert!(
        html.contains("data-dev-key=\"\""),
        "no dev key outside the private cluster"
    );
    let sources: Vec<&str> = html
        .split(['"'])
        .filter(|part| part.ends_with(".js") || part.ends_with(".css"))
        .collect();
    assert_eq!(sources.len(), 5, "{sources:?}");
    for source in sources {
        assert!(source.starts_with("/graphiql/"), "served by billgraph: {source}");
        let asset = send(&app, Request::get(source).body(Body::empty()).unwrap()).await;
        assert_eq!(asset.status, StatusCode::OK, "{source}");
        assert!(asset.body.len() > 1000, "{source}");
        assert_eq!(
            asset.cache_control.as_deref(),
            Some("public, max-age=31536000, immutable"),
            "{source}"
        );
        let stale = source.replacen("/graphiql/", "/graphiql/0", 1);
        let stale = send(&app, Request::get(stale).body(Body::empty()).unwrap()).await;
        assert_eq!(
            stale.status,
            StatusCode::NOT_FOUND,
            "another fingerprint is not this content"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "{html}"
    );
}

#[tokio::test]
async fn the_dev_key_is_offered_only_when_the_server_gives_it_to_the_page() {
    let app = TestApp::new().await;
    let mut state = app.state.clone();
    state.dev_api_key = Some(app.key.clone());
    let router = billgraph::build_app(state);
    let request = Request::get("/graphql")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    let html = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains(&format!("data-dev-key=\"{}\"", app.key)), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_graphql_http_audit_suite_finds_no_failure_or_warning() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let url = format!("{base}/graphql");
    let key = app.key.clone();
    let (passed, output) = tokio::task::spawn_blocking(move || js_env::node("audit.mjs", &[&url, &key]))
        .await
        .unwrap();
    // The MAY notices are worth seeing in the test log.
    println!("{output}");
    assert!(passed, "graphql-http audits:\n{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_runs_a_query_in_chromium_with_other_hosts_unreachable() {
    let Some(chromium) = js_env::chromium() else {
        assert!(
            std::env::var_os("BILLGRAPH_REQUIRE_CHROMIUM").is_none(),
            "BILLGRAPH_REQUIRE_CHROMIUM is set but no chromium was found"
        );
        eprintln!(
            "\n*** SKIPPED graphiql_runs_a_query_in_chromium: no chromium binary \
             (apt-get install chromium, or set BILLGRAPH_TEST_CHROMIUM) ***\n"
        );
        return;
    };
    let app = TestApp::new().await;
    app.create_customer("cust-in-graphiql", None).await;
    let base = serve(&app).await;
    let key = app.key.clone();
    let chromium = chromium.to_string_lossy().into_owned();
    let (passed, output) = tokio::task::spawn_blocking(move || {
        js_env::node(
            "graphiql.mjs",
            &[
                &chromium,
                &base,
                &key,
                "{ customers(first: 5) { nodes { externalCustomerId } } }",
                "cust-in-graphiql",
            ],
        )
    })
    .await
    .unwrap();
    println!("{output}");
    assert!(passed, "GraphiQL in Chromium:\n{output}");
}
