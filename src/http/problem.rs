//! GraphQL-shaped error responses for refusals that happen before a query
//! runs (authentication, body size, bad JSON).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ErrorCode;

pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, Json(body)).into_response()
}
