//! FlexPrice-compatible REST under /v1, for clients written for FlexPrice
//! (its SDKs included): FlexPrice's paths, field names, status codes and
//! bodies over the same services, rules, limits and tenancy as GraphQL.

pub mod customer_body;
pub mod customers;
pub mod errors;
pub mod events;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::http::auth::{Tenant, authenticate};
use crate::http::body::read_body_within_limits;
use crate::http::flexprice::errors::RestError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/events", post(events::ingest_one))
        .route("/v1/events/bulk", post(events::ingest_bulk))
        .route(
            "/v1/customers",
            post(customers::create)
                .get(customers::list)
                .put(customers::update_by_query),
        )
        .route(
            "/v1/customers/{id}",
            get(customers::get).put(customers::update).delete(customers::archive),
        )
        .route(
            "/v1/customers/external/{external_id}",
            get(customers::get_by_external_id),
        )
        .route("/v1/customers/lookup/{external_id}", get(customers::get_by_external_id))
}

/// The tenant of the request's API key, refused in FlexPrice's error shape.
pub struct RestTenant(pub Tenant);

impl FromRequestParts<AppState> for RestTenant {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, RestError> {
        Ok(RestTenant(authenticate(parts, state).await?))
    }
}

/// The body within the server's size and time limits.
pub async fn read_bytes(state: &AppState, body: Body) -> Result<Bytes, RestError> {
    Ok(read_body_within_limits(body, &state.config.limits).await?)
}

/// The body parsed as `T`, the parse error told as FlexPrice's error body.
pub async fn read_json<T: DeserializeOwned>(state: &AppState, body: Body, what: &str) -> Result<T, RestError> {
    let bytes = read_bytes(state, body).await?;
    serde_json::from_slice(&bytes).map_err(|e| RestError::bad_json(format!("invalid {what}: {e}")))
}
