//! The HTTP surface: GraphQL (POST and GET /graphql), GraphiQL (GET
//! /graphql from a browser, its assets under /graphiql/), FlexPrice-compatible
//! REST (/v1), health checks, request ids, tracing, CORS and compression.

pub mod admission;
pub mod auth;
pub mod body;
pub mod flexprice;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod negotiation;
pub mod problem;
pub mod server;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::graphql::build_schema;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let request_id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
    });
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphiql/{fingerprint}/{name}", get(graphiql::asset))
        .merge(flexprice::routes())
        .route(
            "/v1/webhooks/stripe/{tenant}",
            post(crate::providers::stripe::webhook::receive),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(axum::Extension(schema))
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(CorsLayer::permissive())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
