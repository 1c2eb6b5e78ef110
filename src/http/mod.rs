//! The HTTP surface: GraphQL (POST and GET /graphql), GraphiQL (GET
//! /graphql from a browser, its assets under /graphiql/), FlexPrice-compatible
//! REST (/v1), health checks, /metrics, request ids, request logs, CORS and
//! compression.

pub mod admission;
pub mod auth;
pub mod body;
pub mod documents;
pub mod flexprice;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod negotiation;
pub mod problem;
pub mod request_log;
pub mod response_json;
pub mod server;

use axum::Router;
use axum::http::HeaderName;
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::graphql::build_schema;
use crate::state::AppState;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    let metrics_here = state.config.metrics_listen.is_none();
    let router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphiql/{fingerprint}/{name}", get(graphiql::asset))
        .merge(flexprice::routes())
        .merge(documents::routes())
        .route(
            "/v1/webhooks/stripe/{tenant}",
            post(crate::providers::stripe::webhook::receive),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let router = if metrics_here {
        router.route("/metrics", get(metrics::metrics))
    } else {
        router
    };
    router
        .layer(axum::Extension(schema))
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(CorsLayer::permissive())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn(request_log::log_and_count))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
