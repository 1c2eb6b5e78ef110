use async_graphql::{Json, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::outbox::OutboxEventRow;

pub struct WebhookEvent(pub OutboxEventRow);

/// Something that happened to an object, as webhook endpoints receive it.
#[Object]
impl WebhookEvent {
    /// Also the `webhook-id` of every delivery of this event.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The event type, e.g. `customer.created`.
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// The kind of object it is about, e.g. `customer`.
    async fn object_type(&self) -> &str {
        &self.0.object_type
    }

    /// The id of the object the event is about.
    async fn object_id(&self) -> Uuid {
        self.0.object_id
    }

    /// When it happened (UTC).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// The object as this API showed it when the event occurred.
    async fn data(&self) -> Json<&serde_json::Value> {
        Json(&self.0.data)
    }
}

pub type WebhookEventConnection = crate::graphql::connection::Connection<WebhookEvent>;
