//! One log line and one metrics record per request. The handlers fill in
//! what only they know (the tenant, the GraphQL operation) through
//! [`RequestFacts`], which this layer puts in the request's extensions.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use crate::http::REQUEST_ID;
use crate::telemetry::metrics::METRICS;

/// The route label of requests that matched no route, so that probes of
/// random paths cannot grow the metrics.
const UNMATCHED: &str = "unmatched";

/// What the handlers learn about a request, for its log line.
#[derive(Default)]
pub struct RequestFacts {
    tenant_id: OnceLock<Uuid>,
    operation: OnceLock<String>,
}

impl RequestFacts {
    pub fn set_tenant(&self, tenant_id: Uuid) {
        let _ = self.tenant_id.set(tenant_id);
    }

    /// The GraphQL operation's name, when the request has one.
    pub fn set_operation(&self, name: String) {
        let _ = self.operation.set(name);
    }
}

pub async fn log_and_count(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    // A hosted document's path is its access token: logs show the route.
    let path = match &route {
        Some(route) if route.starts_with(crate::hosted_links::HOSTED_PREFIX) => route.clone(),
        _ => request.uri().path().to_owned(),
    };
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let facts = Arc::new(RequestFacts::default());
    request.extensions_mut().insert(facts.clone());
    // Everything logged while the request runs carries its id.
    let span = tracing::info_span!("request", request_id = %request_id);
    let response = next.run(request).instrument(span).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    METRICS.record_request(route.as_deref().unwrap_or(UNMATCHED), status, latency);
    tracing::info!(
        target: "billgraph::request",
        method = %method,
        path = %path,
        operation = facts.operation.get().map(String::as_str),
        status,
        latency_ms = latency.as_micros() as f64 / 1000.0,
        request_id = %request_id,
        tenant_id = facts.tenant_id.get().map(tracing::field::display),
        "request"
    );
    response
}
