//! Clients that send slowly, or announce more than they send, are answered
//! and dropped instead of holding a connection and a task.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::TestApp;

/// Serves the app on a local port, with a one-second header timeout.
async fn serve(app: &TestApp) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = billgraph::build_app(app.state.clone());
    tokio::spawn(billgraph::http::server::serve(
        listener,
        router,
        Duration::from_secs(1),
        std::future::pending(),
    ));
    TcpStream::connect(addr).await.unwrap()
}

/// Everything the server sends until it closes the connection; the guard
/// only keeps a broken server from hanging the test.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::new().await;
    let mut stream = serve(&app).await;
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_announced_beyond_the_limit_is_refused_before_it_is_read() {
    let app = TestApp::new().await;
    let mut stream = serve(&app).await;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-API-Key: {}\r\nContent-Length: 1000000000000\r\n\r\n{{}}",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("an answer without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("BILLGRAPH_MAX_BODY_BYTES"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_arriving_is_answered_with_timeout() {
    let app = TestApp::with_config(|c| c.limits.body_read_timeout = Duration::from_secs(1)).await;
    for path in ["/graphql", "/v1/events", "/v1/events/bulk"] {
        let stalled = futures_util::stream::pending::<Result<axum::body::Bytes, std::convert::Infallible>>();
        let request = Request::post(path)
            .header("content-type", "application/json")
            .header("x-api-key", &app.key)
            .body(Body::from_stream(stalled))
            .unwrap();
        let (status, bytes) = app.send(request).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{path}");
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        // GraphQL's envelope on /graphql, FlexPrice's error body on /v1.
        let (code, message) = match path {
            "/graphql" => (&body["errors"][0]["extensions"]["code"], &body["errors"][0]["message"]),
            _ => (&body["error_code"], &body["message"]),
        };
        assert_eq!(*code, "TIMEOUT", "{path}: {body}");
        assert!(
            message.as_str().unwrap().contains("BILLGRAPH_BODY_READ_TIMEOUT_SECS"),
            "{body}"
        );
    }
}
