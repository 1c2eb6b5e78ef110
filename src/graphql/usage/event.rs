use async_graphql::{Enum, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::events::EventRow;
use crate::usage::ingest::{EventOutcome, Outcome};

#[derive(Clone)]
pub struct Event(pub EventRow);

/// A stored usage event, as its sender gave it.
#[Object]
impl Event {
    /// The sender's idempotency key.
    async fn event_id(&self) -> &str {
        &self.0.event_id
    }

    /// The event's name; meters with this eventName count it.
    async fn event_name(&self) -> &str {
        &self.0.event_name
    }

    /// The customer's external id the event names (the customer may not exist yet).
    async fn external_customer_id(&self) -> &str {
        &self.0.external_customer_id
    }

    /// When the usage happened (UTC), as sent or the time of ingestion.
    async fn timestamp(&self) -> DateTime<Utc> {
        self.0.timestamp
    }

    /// The event's properties, a JSON object as sent.
    async fn properties(&self) -> Json<serde_json::Value> {
        Json(self.0.properties.clone())
    }

    /// Where the event came from, as the sender named it.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// When billgraph stored the event (UTC).
    async fn ingested_at(&self) -> DateTime<Utc> {
        self.0.ingested_at
    }
}

/// What happened to one event of an ingestEvents call.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// Stored and committed.
    Accepted,
    /// Already stored (same eventId); not counted again.
    Duplicate,
    /// Not stored; `reason` says why.
    Refused,
}

/// What happened to one event of an ingestEvents call.
#[derive(SimpleObject, Debug, Clone)]
pub struct EventResult {
    /// Position of the event in the call.
    pub index: i32,
    /// The event's id (generated when the event gave none); null only for a refused event without a
    /// usable id.
    pub event_id: Option<String>,
    /// ACCEPTED, DUPLICATE or REFUSED.
    pub status: EventStatus,
    /// Why the event was refused, starting with the field (e.g. `timestamp: ... is more than 5
    /// minutes in the future`); null unless REFUSED.
    pub reason: Option<String>,
}

/// The outcome of an ingestEvents call: counts and one result per event.
#[derive(SimpleObject, Debug, Clone)]
pub struct IngestEventsResult {
    /// Events stored by this call.
    pub accepted: i32,
    /// Events whose eventId was already stored; not counted again.
    pub duplicates: i32,
    /// Events not stored; their results say why.
    pub refused: i32,
    /// One entry per event, in the order sent.
    pub results: Vec<EventResult>,
}

impl From<Vec<EventOutcome>> for IngestEventsResult {
    fn from(outcomes: Vec<EventOutcome>) -> Self {
        let results: Vec<EventResult> = outcomes
            .into_iter()
            .map(|o| {
                let (status, reason) = match o.outcome {
                    Outcome::Accepted => (EventStatus::Accepted, None),
                    Outcome::Duplicate => (EventStatus::Duplicate, None),
                    Outcome::Refused(reason) => (EventStatus::Refused, Some(reason)),
                };
                EventResult {
                    index: o.index as i32,
                    event_id: o.event_id,
                    status,
                    reason,
                }
            })
            .collect();
        let count = |s: EventStatus| results.iter().filter(|r| r.status == s).count() as i32;
        IngestEventsResult {
            accepted: count(EventStatus::Accepted),
            duplicates: count(EventStatus::Duplicate),
            refused: count(EventStatus::Refused),
            results,
        }
    }
}

pub type EventConnection = crate::graphql::connection::Connection<Event>;
