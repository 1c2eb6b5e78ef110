//! GraphQL inputs of meters and events; every rule comes from domain/.

use async_graphql::{InputObject, Json};
use chrono::{DateTime, Utc};

use crate::db::events::EventFilter;
use crate::domain::customer as rules;
use crate::domain::event::RawEvent;
use crate::domain::meter::{self, Aggregation, MeterFilter};
use crate::error::AppResult;
use crate::graphql::usage::meter::MeterAggregation;
use crate::usage::meters::MeterDraft;

/// A condition on an event property: at most 20 filters per meter, 100 values per filter
/// (VALIDATION on `input.filters`).
#[derive(InputObject, Debug, Clone)]
pub struct MeterFilterInput {
    /// An event property.
    pub key: String,
    /// The event counts when the property equals any of these.
    pub values: Vec<String>,
}

/// A new meter.
#[derive(InputObject, Debug, Clone)]
pub struct CreateMeterInput {
    /// Display name, 1 to 255 characters.
    pub name: String,
    /// Events of this name count.
    pub event_name: String,
    /// How matching events become a number.
    pub aggregation: MeterAggregation,
    /// The event property to aggregate; required except for COUNT.
    pub property: Option<String>,
    /// Every filter must match for an event to count.
    pub filters: Option<Vec<MeterFilterInput>>,
}

impl CreateMeterInput {
    pub fn validate(self) -> AppResult<MeterDraft> {
        let aggregation: Aggregation = self.aggregation.into();
        let filters = self
            .filters
            .unwrap_or_default()
            .into_iter()
            .map(|f| MeterFilter {
                key: f.key,
                values: f.values,
            })
            .collect();
        Ok(MeterDraft {
            name: rules::validate_name("input.name", &self.name)?,
            event_name: meter::validate_event_name("input.eventName", &self.event_name)?,
            aggregation,
            property: meter::validate_property("input.property", aggregation, self.property.as_deref())?,
            filters: meter::validate_filters("input.filters", filters)?,
        })
    }
}

/// A usage event. Sending the same eventId again is harmless: it is
/// acknowledged as a duplicate and never counted twice.
#[derive(InputObject, Debug, Clone)]
pub struct EventInput {
    /// Idempotency key; generated when absent.
    pub event_id: Option<String>,
    /// The event's name, 1 to 255 characters; meters with this eventName count it.
    pub event_name: String,
    /// The customer's external id; the customer may be created later.
    pub external_customer_id: String,
    /// Defaults to now; not before 2000-01-01T00:00:00Z, at most 5 minutes
    /// in the future.
    pub timestamp: Option<DateTime<Utc>>,
    /// A JSON object.
    pub properties: Option<Json<serde_json::Value>>,
    /// Where the event came from (at most 255 characters); blank means none.
    pub source: Option<String>,
}

impl From<EventInput> for RawEvent {
    fn from(e: EventInput) -> Self {
        RawEvent {
            event_id: e.event_id,
            event_name: e.event_name,
            external_customer_id: e.external_customer_id,
            timestamp: e.timestamp,
            properties: e.properties.map(|p| p.0),
            source: e.source,
            customer_id: None,
        }
    }
}

/// Narrows a list of events; every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EventFilterInput {
    /// Only events naming this customer external id.
    pub external_customer_id: Option<String>,
    /// Only events of this name.
    pub event_name: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

impl From<EventFilterInput> for EventFilter {
    fn from(f: EventFilterInput) -> Self {
        EventFilter {
            external_customer_id: f.external_customer_id.map(|s| s.trim().to_string()),
            event_name: f.event_name.map(|s| s.trim().to_string()),
            from: f.from,
            to: f.to,
        }
    }
}
