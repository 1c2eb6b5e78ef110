use async_graphql::{Enum, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::events::EventRow;
use crate::usage::ingest::{EventOutcome, Outcome};

#[derive(Clone)]
pub struct Event(pub EventRow);

#[Object]
impl Event {
    /// The sender's idempotency key.
    async fn event_id(&self) -> &str {
        &self.0.event_id
    }

    async fn event_name(&self) -> &str {
        &self.0.event_name
    }

    async fn external_customer_id(&self) -> &str {
        &self.0.external_customer_id
    }

    async fn timestamp(&self) -> DateTime<Utc> {
        self.0.timestamp
    }

    async fn properties(&self) -> Json<serde_json::Value> {
        Json(self.0.properties.clone())
    }

    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    async fn ingested_at(&self) -> DateTime<Utc> {
        self.0.ingested_at
    }
}

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
    pub event_id: Option<String>,
    pub status: EventStatus,
    pub reason: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct IngestEventsResult {
    pub accepted: i32,
    pub duplicates: i32,
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

crate::graphql::connection::connection_type!(EventConnection, EventEdge, Event);
