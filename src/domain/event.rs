//! Usage events as senders give them, and the rules an event must meet to
//! be kept. A refused event is reported with its reason; it never stops the
//! valid events of the same batch.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::customer::validate_external_customer_id;
use super::validation::{check_max_chars, required_text};

/// How far in the future an event's timestamp may be (clock skew).
pub const MAX_FUTURE: Duration = Duration::minutes(5);
pub const MAX_BATCH: usize = 1000;
/// Serialised size of an event's properties.
pub const MAX_PROPERTIES_BYTES: usize = 32 * 1024;

/// An event as a sender gave it.
#[derive(Debug, Clone, Default)]
pub struct RawEvent {
    pub event_id: Option<String>,
    pub event_name: String,
    pub external_customer_id: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub properties: Option<serde_json::Value>,
    pub source: Option<String>,
}

/// An event that meets every rule, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    pub event_id: String,
    pub event_name: String,
    pub external_customer_id: String,
    pub timestamp: DateTime<Utc>,
    pub properties: serde_json::Value,
    pub source: Option<String>,
}

/// Checks one event; `now` is the server's clock. The error is the reason.
pub fn validate_event(raw: RawEvent, now: DateTime<Utc>) -> Result<ValidEvent, String> {
    let reason = |e: super::ValidationError| format!("{}: {}", e.field, e.message);
    let event_id = match raw.event_id.as_deref().map(str::trim) {
        None | Some("") => Uuid::now_v7().to_string(),
        Some(id) => required_text("eventId", id, 255).map_err(reason)?,
    };
    let event_name = required_text("eventName", &raw.event_name, 255).map_err(reason)?;
    let external_customer_id =
        validate_external_customer_id("externalCustomerId", &raw.external_customer_id).map_err(reason)?;
    let timestamp = raw.timestamp.unwrap_or(now);
    if timestamp > now + MAX_FUTURE {
        return Err(format!(
            "timestamp: {} is more than {} minutes in the future",
            timestamp.to_rfc3339(),
            MAX_FUTURE.num_minutes()
        ));
    }
    let properties = raw.properties.unwrap_or_else(|| serde_json::json!({}));
    if !properties.is_object() {
        return Err("properties: must be a JSON object".into());
    }
    if properties.to_string().len() > MAX_PROPERTIES_BYTES {
        return Err(format!(
            "properties: must be at most {MAX_PROPERTIES_BYTES} bytes of JSON"
        ));
    }
    let source = match raw.source.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            check_max_chars("source", s, 255).map_err(reason)?;
            Some(s.to_string())
        }
    };
    Ok(ValidEvent {
        event_id,
        event_name,
        external_customer_id,
        timestamp,
        properties,
        source,
    })
}
