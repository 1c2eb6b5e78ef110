//! Reading a request body within the size and time limits. A body larger
//! than allowed is refused from its announced length before a byte is read;
//! a client that sends its body too slowly is answered and dropped.

use std::error::Error as _;

use axum::body::{Body, Bytes, to_bytes};
use axum::http::StatusCode;
use axum::response::Response;
use http_body::Body as _;

use crate::config::Limits;
use crate::error::ErrorCode;
use crate::http::problem::Refusal;

/// The body, or the GraphQL-shaped refusal.
pub async fn read_body(body: Body, limits: &Limits) -> Result<Bytes, Response> {
    read_body_within_limits(body, limits).await.map_err(Refusal::graphql)
}

pub async fn read_body_within_limits(body: Body, limits: &Limits) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Validation,
            format!(
                "request body exceeds the limit of {} bytes (BILLGRAPH_MAX_BODY_BYTES)",
                limits.max_body_bytes
            ),
        )
    };
    if body.size_hint().lower() > limits.max_body_bytes as u64 {
        return Err(too_large());
    }
    match tokio::time::timeout(limits.body_read_timeout, to_bytes(body, limits.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large()),
        Ok(Err(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Validation,
            "the request body could not be read",
        )),
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Timeout,
            format!(
                "the request body did not arrive within {} s (BILLGRAPH_BODY_READ_TIMEOUT_SECS)",
                limits.body_read_timeout.as_secs()
            ),
        )),
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source = error.source();
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
