//! GraphQL-shaped error responses for refusals that happen before a query
//! runs (authentication, body size, bad JSON), and for the REST routes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::ValidationError;
use crate::error::ErrorCode;

pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, Json(body)).into_response()
}

/// A VALIDATION refusal that names the offending field, as GraphQL's do.
pub fn validation_response(status: StatusCode, err: &ValidationError) -> Response {
    let body = json!({ "data": null, "errors": [{
        "message": err.to_string(),
        "extensions": { "code": ErrorCode::Validation.as_str(), "field": err.field },
    }] });
    (status, Json(body)).into_response()
}
