//! REST ingestion for high-volume senders and clients written for
//! FlexPrice: POST /v1/events (one event) and POST /v1/events/bulk.
//! Same rules and outcomes as the ingestEvents mutation.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::domain::ValidationError;
use crate::domain::event::RawEvent;
use crate::domain::text::{check_text, check_text_tree};
use crate::error::{AppError, ErrorCode};
use crate::http::auth::Tenant;
use crate::http::body::read_body;
use crate::http::problem::{error_response, validation_response};
use crate::state::AppState;
use crate::usage::ingest::{self, Outcome};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    event_id: Option<String>,
    event_name: String,
    external_customer_id: String,
    timestamp: Option<DateTime<Utc>>,
    properties: Option<serde_json::Value>,
    source: Option<String>,
}

impl From<EventBody> for RawEvent {
    fn from(e: EventBody) -> Self {
        RawEvent {
            event_id: e.event_id,
            event_name: e.event_name,
            external_customer_id: e.external_customer_id,
            timestamp: e.timestamp,
            properties: e.properties,
            source: e.source,
        }
    }
}

impl EventBody {
    /// Every text of the event meets the character rule of all inputs
    /// (domain/text.rs); the error names the field as the body spells it.
    fn check_text(&self) -> Result<(), ValidationError> {
        // Destructured so a field added to the body cannot skip the rule.
        let EventBody {
            event_id,
            event_name,
            external_customer_id,
            timestamp: _,
            properties,
            source,
        } = self;
        check_text("event_name", event_name)?;
        check_text("external_customer_id", external_customer_id)?;
        for (field, value) in [("event_id", event_id), ("source", source)] {
            if let Some(value) = value {
                check_text(field, value)?;
            }
        }
        match properties {
            Some(properties) => check_text_tree("properties", properties),
            None => Ok(()),
        }
    }
}

#[derive(Deserialize)]
pub struct BulkBody {
    events: Vec<EventBody>,
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, ErrorCode::Validation, message)
}

fn refused_text(err: &ValidationError) -> Response {
    validation_response(StatusCode::BAD_REQUEST, err)
}

fn failure(err: AppError) -> Response {
    match err {
        AppError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "event ingestion failed");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error")
        }
        other => error_response(StatusCode::BAD_REQUEST, other.code(), &other.to_string()),
    }
}

pub async fn ingest_one(State(state): State<AppState>, tenant: Tenant, body: Body) -> Response {
    let body = match read_body(body, &state.config.limits).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let event: EventBody = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(&format!("invalid event: {e}")),
    };
    if let Err(err) = event.check_text() {
        return refused_text(&err);
    }
    match ingest::ingest(&state.pool, tenant.id, vec![event.into()]).await {
        Ok(mut outcomes) => {
            let outcome = outcomes.remove(0);
            match outcome.outcome {
                Outcome::Refused(reason) => bad_request(&reason),
                Outcome::Accepted | Outcome::Duplicate => (
                    StatusCode::ACCEPTED,
                    Json(json!({
                        "event_id": outcome.event_id,
                        "duplicate": outcome.outcome == Outcome::Duplicate,
                    })),
                )
                    .into_response(),
            }
        }
        Err(err) => failure(err),
    }
}

pub async fn ingest_bulk(State(state): State<AppState>, tenant: Tenant, body: Body) -> Response {
    let body = match read_body(body, &state.config.limits).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let bulk: BulkBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&format!("invalid bulk request: {e}")),
    };
    // One bad character refuses the whole request, like a malformed body:
    // it is a broken sender, not one event to report and skip.
    for (i, event) in bulk.events.iter().enumerate() {
        if let Err(err) = event.check_text() {
            return refused_text(&ValidationError::new(format!("events[{i}].{}", err.field), err.message));
        }
    }
    let raw = bulk.events.into_iter().map(Into::into).collect();
    match ingest::ingest(&state.pool, tenant.id, raw).await {
        Ok(outcomes) => {
            let mut event_ids = Vec::new();
            let mut refused = Vec::new();
            let (mut accepted, mut duplicates) = (0, 0);
            for o in outcomes {
                match o.outcome {
                    Outcome::Accepted => {
                        accepted += 1;
                        event_ids.push(o.event_id);
                    }
                    Outcome::Duplicate => {
                        duplicates += 1;
                        event_ids.push(o.event_id);
                    }
                    Outcome::Refused(reason) => {
                        refused.push(json!({ "index": o.index, "event_id": o.event_id, "reason": reason }))
                    }
                }
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "event_ids": event_ids,
                    "accepted": accepted,
                    "duplicates": duplicates,
                    "refused": refused,
                })),
            )
                .into_response()
        }
        Err(err) => failure(err),
    }
}
