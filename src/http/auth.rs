//! `X-API-Key` authentication: a key maps to exactly one tenant. The
//! tenant's request is then admitted under its share of the server.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use uuid::Uuid;

use crate::db::{api_keys, connection};
use crate::domain::api_key::ApiKey;
use crate::error::ErrorCode;
use crate::http::admission::Admitted;
use crate::http::problem::Refusal;
use crate::http::request_log::RequestFacts;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

/// Seconds a refused client is asked to wait before it tries again.
const RETRY_AFTER_SECS: &str = "1";

/// The tenant of the request's API key, admitted to run.
pub struct Tenant {
    pub id: Uuid,
    /// Holds one of the tenant's running slots until the handler returns.
    _admitted: Admitted,
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        authenticate(parts, state).await.map_err(Refusal::graphql)
    }
}

/// The request's tenant, admitted to run; each API shapes the refusal its own way.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Tenant, Refusal> {
    let id = tenant_of_key(parts, state).await?;
    if let Some(facts) = parts.extensions.get::<Arc<RequestFacts>>() {
        facts.set_tenant(id);
    }
    let limits = &state.config.limits;
    match tokio::time::timeout(limits.request_timeout, state.admission.admit(id)).await {
        Ok(Ok(admitted)) => Ok(Tenant {
            id,
            _admitted: admitted,
        }),
        Ok(Err(_)) => Err(Refusal {
            retry_after: Some(RETRY_AFTER_SECS),
            ..Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "too many requests of this tenant are running or queued; retry later \
                 (BILLGRAPH_TENANT_MAX_RUNNING_REQUESTS, BILLGRAPH_TENANT_MAX_QUEUED_REQUESTS)",
            )
        }),
        Err(_) => Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout,
            format!(
                "request waited longer than the timeout of {} s for its turn (BILLGRAPH_REQUEST_TIMEOUT_SECS)",
                limits.request_timeout.as_secs()
            ),
        )),
    }
}

/// Looks the key up on the pool kept for authentication.
async fn tenant_of_key(parts: &Parts, state: &AppState) -> Result<Uuid, Refusal> {
    let unauthenticated = |message: &str| Refusal::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message);
    let Some(raw) = parts.headers.get(API_KEY_HEADER) else {
        return Err(unauthenticated("missing X-API-Key header"));
    };
    let Ok(secret) = raw.to_str() else {
        return Err(unauthenticated("invalid API key"));
    };
    let hash = ApiKey::from_secret(secret).hash();
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "API key lookup failed");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Internal, "internal error")
    };
    let mut conn = connection(&state.auth_pool).await.map_err(|e| internal(&e))?;
    match api_keys::tenant_for_key_hash(&mut conn, &hash).await {
        Ok(Some(tenant_id)) => Ok(tenant_id),
        Ok(None) => Err(unauthenticated("invalid or revoked API key")),
        Err(e) => Err(internal(&e)),
    }
}
