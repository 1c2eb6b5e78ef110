//! One error type for the whole application. Every failure a client can see
//! is an `AppError`; its `code()` is the stable `extensions.code` of the API.

use std::sync::Arc;

use crate::domain::ValidationError;

/// The stable error codes of the API (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation,
    Conflict,
    InsufficientFunds,
    RateLimited,
    Timeout,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::InsufficientFunds => "INSUFFICIENT_FUNDS",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    /// The message names the kind of object, e.g. "customer not found". An
    /// object of another tenant is reported exactly like a missing one.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("{0}")]
    Conflict(String),
    /// A wallet or balance cannot cover what was asked.
    #[error("{0}")]
    InsufficientFunds(String),
    #[error("{0}")]
    Timeout(String),
    /// The detail is logged, never shown to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Validation(_) => ErrorCode::Validation,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
            AppError::Timeout(_) => ErrorCode::Timeout,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(ValidationError::new(field, message))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict(message.into())
    }

    pub fn insufficient_funds(message: impl Into<String>) -> Self {
        AppError::InsufficientFunds(message.into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    /// The offending input field, for VALIDATION errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation(v) => Some(&v.field),
            _ => None,
        }
    }
}

/// A charge that cannot be stated exactly is a fact about the stored
/// prices and usage, not about the request: the client sees why, as a
/// CONFLICT, and nothing is written.
impl From<crate::domain::money::AmountOverflow> for AppError {
    fn from(err: crate::domain::money::AmountOverflow) -> Self {
        AppError::Conflict(err.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        AppError::internal(err)
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::internal(err)
    }
}

/// DataLoader errors must be `Clone`; loaders share one error between all
/// the keys of a failed batch.
pub type SharedError = Arc<AppError>;

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_stable_code() {
        let cases: Vec<(AppError, &str)> = vec![
            (AppError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (AppError::not_found("customer"), "NOT_FOUND"),
            (AppError::validation("input.email", "bad"), "VALIDATION"),
            (AppError::conflict("taken"), "CONFLICT"),
            (AppError::Timeout("slow".into()), "TIMEOUT"),
            (AppError::internal(anyhow::anyhow!("db down")), "INTERNAL"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code, "{err:?}");
        }
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let err = AppError::internal(anyhow::anyhow!("password authentication failed"));
        assert_eq!(err.to_string(), "internal error");
    }

    #[test]
    fn validation_errors_name_the_field() {
        let err = AppError::validation("input.email", "is not a valid email address");
        assert_eq!(err.field(), Some("input.email"));
        assert_eq!(AppError::conflict("x").field(), None);
    }
}
