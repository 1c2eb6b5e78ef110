//! `X-API-Key` authentication: a key maps to exactly one tenant.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use uuid::Uuid;

use crate::db::{api_keys, connection};
use crate::domain::api_key::ApiKey;
use crate::error::ErrorCode;
use crate::http::problem::error_response;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The tenant of the request's API key.
pub struct Tenant(pub Uuid);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let unauthenticated =
            |message: &str| error_response(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message);
        let Some(raw) = parts.headers.get(API_KEY_HEADER) else {
            return Err(unauthenticated("missing X-API-Key header"));
        };
        let Ok(secret) = raw.to_str() else {
            return Err(unauthenticated("invalid API key"));
        };
        let hash = ApiKey::from_secret(secret).hash();
        let internal = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "API key lookup failed");
            error_response(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Internal, "internal error")
        };
        let mut conn = connection(&state.pool).await.map_err(|e| internal(&e))?;
        match api_keys::tenant_for_key_hash(&mut conn, &hash).await {
            Ok(Some(tenant_id)) => Ok(Tenant(tenant_id)),
            Ok(None) => Err(unauthenticated("invalid or revoked API key")),
            Err(e) => Err(internal(&e)),
        }
    }
}
