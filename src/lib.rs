//! billgraph: a usage-based billing API server.

pub mod billing;
pub mod commands;
pub mod config;
pub mod coupons;
pub mod customers;
pub mod db;
pub mod documents;
pub mod domain;
pub mod embedded_pg;
pub mod error;
pub mod graphql;
pub mod hosted_links;
pub mod http;
pub mod outbound;
pub mod outbox;
pub mod plans;
pub mod providers;
pub mod secrets;
pub mod state;
pub mod subscriptions;
pub mod taxes;
pub mod telemetry;
pub mod tenants;
pub mod usage;
pub mod webhooks;

use axum::Router;

pub use state::AppState;

/// The whole application as a router, for the server and for tests.
pub fn build_app(state: AppState) -> Router {
    http::router(state)
}
