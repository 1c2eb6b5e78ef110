//! REST ingestion for high-volume senders and clients written for
//! FlexPrice: POST /v1/events (one event) and POST /v1/events/bulk.
//! Same rules and outcomes as the ingestEvents mutation; the answers are
//! FlexPrice's (202, a JSON object of string values only, as its SDKs
//! expect), with billgraph's outcome counts as extra string fields.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::domain::ValidationError;
use crate::domain::event::{MAX_BATCH, RawEvent};
use crate::domain::text::{check_text, check_text_tree};
use crate::error::AppError;
use crate::http::flexprice::errors::{RestError, RestResult};
use crate::http::flexprice::{RestTenant, read_json};
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
    /// FlexPrice's optional customer id: must name the customer whose
    /// external id the event carries.
    customer_id: Option<String>,
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
            customer_id: e.customer_id,
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
            customer_id,
        } = self;
        check_text("event_name", event_name)?;
        check_text("external_customer_id", external_customer_id)?;
        for (field, value) in [("event_id", event_id), ("source", source), ("customer_id", customer_id)] {
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

pub async fn ingest_one(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    body: Body,
) -> RestResult<Response> {
    let event: EventBody = read_json(&state, body, "event").await?;
    event.check_text()?;
    let mut outcomes = ingest::ingest(&state.pool, tenant.id, vec![event.into()]).await?;
    let outcome = outcomes.remove(0);
    let status = match outcome.outcome {
        Outcome::Refused(reason) => return Err(refusal_of_event(reason)),
        Outcome::Accepted => "accepted",
        Outcome::Duplicate => "duplicate",
    };
    let body = json!({
        "message": "Event accepted for processing",
        "event_id": outcome.event_id,
        "status": status,
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Answers 202 when the batch was taken, even if some events were refused:
/// the valid ones are stored. The counts are strings, and the refusals a
/// JSON array in a string (`refused_events`), because FlexPrice's SDKs read
/// this answer as a map of strings.
pub async fn ingest_bulk(
    State(state): State<AppState>,
    RestTenant(tenant): RestTenant,
    body: Body,
) -> RestResult<Response> {
    let bulk: BulkBody = read_json(&state, body, "bulk request").await?;
    if bulk.events.is_empty() || bulk.events.len() > MAX_BATCH {
        return Err(RestError::validation(
            "events",
            format!("must hold 1 to {MAX_BATCH} events, not {}", bulk.events.len()),
        ));
    }
    // One bad character refuses the whole request, like a malformed body:
    // it is a broken sender, not one event to report and skip.
    for (i, event) in bulk.events.iter().enumerate() {
        if let Err(err) = event.check_text() {
            return Err(ValidationError::new(format!("events[{i}].{}", err.field), err.message).into());
        }
    }
    let raw = bulk.events.into_iter().map(Into::into).collect();
    let outcomes = ingest::ingest(&state.pool, tenant.id, raw).await?;
    let (mut accepted, mut duplicates) = (0, 0);
    let mut refused = Vec::new();
    for o in outcomes {
        match o.outcome {
            Outcome::Accepted => accepted += 1,
            Outcome::Duplicate => duplicates += 1,
            Outcome::Refused(reason) => {
                refused.push(json!({ "index": o.index, "event_id": o.event_id, "reason": reason }))
            }
        }
    }
    let body = json!({
        "message": "Events accepted for processing",
        "accepted": accepted.to_string(),
        "duplicates": duplicates.to_string(),
        "refused": refused.len().to_string(),
        "refused_events": serde_json::Value::Array(refused).to_string(),
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// A single event that breaks a rule: the reason starts with the field.
fn refusal_of_event(reason: String) -> RestError {
    let field = reason.split_once(':').map(|(f, _)| f.to_owned()).unwrap_or_default();
    AppError::validation(field, reason).into()
}
