//! FlexPrice's error body on the REST routes: top-level `message`, `code`
//! (FlexPrice's code names) and `http_status_code`, which FlexPrice's SDKs
//! read, plus billgraph's stable `error_code` and, for VALIDATION, the
//! offending `field`. Never a GraphQL envelope.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::ValidationError;
use crate::error::{AppError, ErrorCode};
use crate::http::problem::Refusal;

#[derive(Debug)]
pub struct RestError {
    refusal: Refusal,
    field: Option<String>,
}

pub type RestResult<T> = Result<T, RestError>;

/// The HTTP status of each stable code when a service refuses.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Validation => StatusCode::BAD_REQUEST,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// FlexPrice's name for each stable code (its SDKs' `ErrorCode`).
pub fn flexprice_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthenticated | ErrorCode::Forbidden => "permission_denied",
        ErrorCode::NotFound => "not_found",
        ErrorCode::Validation => "validation_error",
        ErrorCode::Conflict | ErrorCode::InsufficientFunds => "invalid_operation",
        ErrorCode::RateLimited => "too_many_requests",
        ErrorCode::Timeout => "service_unavailable",
        ErrorCode::Internal => "internal_error",
    }
}

impl RestError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::validation(field, message).into()
    }

    /// A body that is not the JSON the route takes.
    pub fn bad_json(message: impl Into<String>) -> Self {
        RestError {
            refusal: Refusal::new(StatusCode::BAD_REQUEST, ErrorCode::Validation, message),
            field: None,
        }
    }
}

impl From<Refusal> for RestError {
    fn from(refusal: Refusal) -> Self {
        RestError { refusal, field: None }
    }
}

impl From<ValidationError> for RestError {
    fn from(err: ValidationError) -> Self {
        AppError::from(err).into()
    }
}

impl From<AppError> for RestError {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(e) = &err {
            tracing::error!(error = %format!("{e:#}"), "REST request failed");
        }
        let code = err.code();
        RestError {
            field: err.field().map(str::to_owned),
            refusal: Refusal::new(status_of(code), code, err.to_string()),
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let Refusal {
            status, code, message, ..
        } = &self.refusal;
        let mut body = json!({
            "message": message,
            "code": flexprice_code(*code),
            "http_status_code": status.as_u16(),
            "error_code": code.as_str(),
        });
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        let mut response = (*status, Json(body)).into_response();
        self.refusal.add_retry_after(&mut response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_flexprice_name() {
        let cases = [
            (ErrorCode::Unauthenticated, 401, "permission_denied"),
            (ErrorCode::Forbidden, 403, "permission_denied"),
            (ErrorCode::NotFound, 404, "not_found"),
            (ErrorCode::Validation, 400, "validation_error"),
            (ErrorCode::Conflict, 409, "invalid_operation"),
            (ErrorCode::InsufficientFunds, 402, "invalid_operation"),
            (ErrorCode::RateLimited, 429, "too_many_requests"),
            (ErrorCode::Timeout, 503, "service_unavailable"),
            (ErrorCode::Internal, 500, "internal_error"),
        ];
        for (code, status, name) in cases {
            assert_eq!(status_of(code).as_u16(), status, "{code:?}");
            assert_eq!(flexprice_code(code), name, "{code:?}");
        }
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let err = RestError::from(AppError::internal(anyhow::anyhow!("password authentication failed")));
        assert_eq!(err.refusal.message, "internal error");
        assert_eq!(err.refusal.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
