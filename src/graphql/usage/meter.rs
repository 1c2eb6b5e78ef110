use async_graphql::{Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::meters::MeterRow;
use crate::domain::meter::Aggregation;
use crate::domain::stored::RecordStatus;
use crate::usage::meters::filters_from_json;

/// How a meter turns matching events into one number.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::meter::Aggregation")]
pub enum MeterAggregation {
    /// Number of matching events.
    Count,
    /// Sum of the property's numeric values.
    Sum,
    /// Largest numeric value.
    Max,
    /// Number of distinct values of the property.
    UniqueCount,
    /// Numeric value of the most recent event.
    Latest,
    /// Average of the numeric values.
    Avg,
}

/// Whether a meter is in use.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::stored::RecordStatus")]
pub enum MeterStatus {
    /// Counts in usage queries that name no meters.
    Active,
    /// Archived by archiveMeter: keeps its past usage, left out of usage queries that name no
    /// meters.
    Archived,
}

/// An event property must equal one of the values.
#[derive(SimpleObject, Debug, Clone)]
pub struct MeterFilter {
    /// The event property.
    pub key: String,
    /// Accepted values; the event matches when the property equals any of them.
    pub values: Vec<String>,
}

#[derive(Clone)]
pub struct Meter(pub MeterRow);

impl Meter {
    pub fn aggregation_kind(&self) -> Aggregation {
        self.0.aggregation
    }
}

/// A meter: which events count (eventName and filters) and how they become a number (aggregation of
/// a property).
#[Object]
impl Meter {
    /// The meter's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Events of this name count.
    async fn event_name(&self) -> &str {
        &self.0.event_name
    }

    /// How matching events become a number.
    async fn aggregation(&self) -> MeterAggregation {
        self.aggregation_kind().into()
    }

    /// The event property the aggregation reads (none for COUNT).
    async fn property(&self) -> Option<&str> {
        self.0.property.as_deref()
    }

    /// Every filter must match for an event to count.
    async fn filters(&self) -> Vec<MeterFilter> {
        filters_from_json(&self.0.filters)
            .into_iter()
            .map(|f| MeterFilter {
                key: f.key,
                values: f.values,
            })
            .collect()
    }

    /// ACTIVE, or ARCHIVED after archiveMeter.
    async fn status(&self) -> MeterStatus {
        if self.0.status == RecordStatus::Archived {
            MeterStatus::Archived
        } else {
            MeterStatus::Active
        }
    }

    /// When the meter was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the meter was archived; null while active.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

pub type MeterConnection = crate::graphql::connection::Connection<Meter>;
