//! Usage events as senders give them, and the rules an event must meet to
//! be kept. A refused event is reported with its reason; it never stops the
//! valid events of the same batch.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::customer::validate_external_customer_id;
use super::instant;
use super::validation::required_text;

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
    /// The id of the customer the sender believes the external id names
    /// (FlexPrice's optional `customer_id`); checked against the customer.
    pub customer_id: Option<String>,
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
    /// Must name the customer with `external_customer_id`; not stored.
    pub customer_id: Option<Uuid>,
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
    instant::check_not_too_early("timestamp", timestamp).map_err(reason)?;
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
        Some(s) => Some(required_text("source", s, 255).map_err(reason)?),
    };
    let customer_id = match raw.customer_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => {
            Some(Uuid::parse_str(id).map_err(|_| format!("customer_id: {id:?} is not a customer id (a UUID)"))?)
        }
    };
    Ok(ValidEvent {
        event_id,
        customer_id,
        event_name,
        external_customer_id,
        timestamp,
        properties,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(properties: serde_json::Value) -> RawEvent {
        RawEvent {
            event_name: "api_call".into(),
            external_customer_id: "c1".into(),
            properties: Some(properties),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_event_gets_defaults() {
        let now = Utc::now();
        let event = validate_event(raw(json!({ "tokens": 3 })), now).unwrap();
        assert_eq!(event.timestamp, now);
        assert!(!event.event_id.is_empty());
        assert_eq!(event.source, None);
    }

    #[test]
    fn the_future_limit_is_five_minutes() {
        let now = Utc::now();
        let at = |offset: Duration| RawEvent {
            timestamp: Some(now + offset),
            ..raw(json!({}))
        };
        assert!(validate_event(at(Duration::minutes(5)), now).is_ok());
        assert!(validate_event(at(Duration::minutes(5) + Duration::seconds(1)), now).is_err());
        assert!(validate_event(at(-Duration::days(400)), now).is_ok());
    }

    #[test]
    fn a_customer_id_must_be_a_uuid_when_given() {
        let now = Utc::now();
        let with = |id: &str| RawEvent {
            customer_id: Some(id.into()),
            ..raw(json!({}))
        };
        let id = Uuid::now_v7();
        assert_eq!(
            validate_event(with(&id.to_string()), now).unwrap().customer_id,
            Some(id)
        );
        assert_eq!(validate_event(with("  "), now).unwrap().customer_id, None);
        assert!(
            validate_event(with("cust_1"), now)
                .unwrap_err()
                .starts_with("customer_id:")
        );
    }

    #[test]
    fn nothing_before_2000_is_accepted() {
        let now = Utc::now();
        let at = |text: &str| RawEvent {
            timestamp: Some(text.parse().unwrap()),
            ..raw(json!({}))
        };
        assert!(validate_event(at("2000-01-01T00:00:00Z"), now).is_ok());
        for early in [
            "1999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
        ] {
            let reason = validate_event(at(early), now).unwrap_err();
            assert_eq!(reason, "timestamp: must not be before 2000-01-01T00:00:00Z", "{early}");
        }
    }

    #[test]
    fn refusals_name_their_reason() {
        let now = Utc::now();
        let cases = [
            (raw(json!([1])), "properties"),
            (raw(json!({ "big": "x".repeat(MAX_PROPERTIES_BYTES) })), "properties"),
            (
                RawEvent {
                    event_name: " ".into(),
                    ..raw(json!({}))
                },
                "eventName",
            ),
            (
                RawEvent {
                    external_customer_id: "".into(),
                    ..raw(json!({}))
                },
                "externalCustomerId",
            ),
            (
                RawEvent {
                    source: Some("a\u{0}b".into()),
                    ..raw(json!({}))
                },
                "source",
            ),
            (
                RawEvent {
                    event_id: Some("x".repeat(256)),
                    ..raw(json!({}))
                },
                "eventId",
            ),
        ];
        for (event, field) in cases {
            let reason = validate_event(event, now).unwrap_err();
            assert!(reason.starts_with(field), "{reason}");
        }
    }
}
