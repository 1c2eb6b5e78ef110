//! Refusals that happen before a request's work runs (authentication,
//! admission, body size, bad JSON), and how each API shapes them: GraphQL
//! routes answer with a GraphQL-shaped envelope, the FlexPrice-compatible
//! REST routes with FlexPrice's error body (src/http/flexprice/errors.rs).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::ValidationError;
use crate::error::ErrorCode;

/// A refusal before the operation runs, not yet shaped for an API.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds the client is asked to wait before it retries.
    pub retry_after: Option<&'static str>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The GraphQL-shaped response.
    pub fn graphql(self) -> Response {
        let mut response = error_response(self.status, self.code, &self.message);
        self.add_retry_after(&mut response);
        response
    }

    pub fn add_retry_after(&self, response: &mut Response) {
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
        }
    }
}

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
