use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

const QUERY: &str = "{ customers { totalCount } }";

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_valid_key_are_unauthenticated() {
    let app = TestApp::new().await;
    for key in [None, Some("bgk_not-a-real-key"), Some("")] {
        let res = app.gql_as(key, QUERY, json!({})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{key:?}");
        res.assert_error("UNAUTHENTICATED", None);
        assert!(res.body["data"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_stops_working_at_once() {
    let app = TestApp::new().await;
    let key = app.create_key("acme").await;
    assert_eq!(app.gql_as(Some(&key), QUERY, json!({})).await.status, StatusCode::OK);
    app.revoke_key(&key).await;
    let res = app.gql_as(Some(&key), QUERY, json!({})).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    res.assert_error("UNAUTHENTICATED", None);
    // Other keys of the tenant still work.
    app.ok(QUERY, json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_answer_without_a_key() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/readyz"] {
        let req = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        let (status, _) = app.send(req).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
