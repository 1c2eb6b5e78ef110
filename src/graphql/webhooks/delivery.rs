use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::webhooks::{WebhookAttemptRow, WebhookDeliveryRow};
use crate::error::AppError;
use crate::graphql::connection::Connection;
use crate::graphql::context::ContextExt;
use crate::graphql::outbox::event::WebhookEvent;
use crate::graphql::outbox::loaders::WebhookEventById;
use crate::graphql::webhooks::endpoint::WebhookEndpoint;
use crate::graphql::webhooks::loaders::{AttemptsOfDelivery, WebhookEndpointById};

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::webhook::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not sent yet, or failed and to be retried at nextAttemptAt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt of the retry schedule failed.
    Failed,
}

/// The outcome of one attempt.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::webhook::AttemptOutcome")]
pub enum WebhookAttemptStatus {
    /// The endpoint answered 2xx.
    Succeeded,
    /// No answer in time (BILLGRAPH_WEBHOOK_TIMEOUT_SECS), a connection error, or a status other
    /// than 2xx.
    Failed,
}

pub struct WebhookDelivery(pub WebhookDeliveryRow);

/// One event sent to one endpoint, with the outcome of its latest attempt
/// (`attempts` lists them all). A replay is a new delivery of the same event.
#[Object]
impl WebhookDelivery {
    /// The delivery's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The event sent.
    async fn event(&self, ctx: &Context<'_>) -> Result<WebhookEvent> {
        let row = ctx.loader().load_one(WebhookEventById(self.0.event_id)).await?;
        Ok(WebhookEvent(row.ok_or_else(|| AppError::not_found("webhook event"))?))
    }

    /// The endpoint it is sent to.
    async fn endpoint(&self, ctx: &Context<'_>) -> Result<WebhookEndpoint> {
        let row = ctx.loader().load_one(WebhookEndpointById(self.0.endpoint_id)).await?;
        Ok(WebhookEndpoint(
            row.ok_or_else(|| AppError::not_found("webhook endpoint"))?,
        ))
    }

    /// Attempts made so far (0 before the first).
    async fn attempt(&self) -> i32 {
        self.0.attempts
    }

    /// PENDING, SUCCEEDED or FAILED.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }

    /// The latest attempt's HTTP status, when the endpoint answered.
    async fn response_code(&self) -> Option<i32> {
        self.0.last_response_code
    }

    /// How long the latest attempt took.
    async fn duration_ms(&self) -> Option<i32> {
        self.0.last_duration_ms
    }

    /// Why the latest attempt failed.
    async fn error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the latest attempt was made.
    async fn attempted_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempted_at
    }

    /// When the next attempt is due, while PENDING.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }

    /// When it was queued (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Every attempt, first to last (at most 10).
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<WebhookDeliveryAttempt>> {
        let rows = ctx.loader().load_one(AttemptsOfDelivery(self.0.id)).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(WebhookDeliveryAttempt::from)
            .collect())
    }
}

/// One POST of a delivery.
#[derive(SimpleObject)]
pub struct WebhookDeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    /// SUCCEEDED or FAILED.
    pub status: WebhookAttemptStatus,
    /// The HTTP status, when the endpoint answered.
    pub response_code: Option<i32>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was made (UTC).
    pub attempted_at: DateTime<Utc>,
}

impl From<WebhookAttemptRow> for WebhookDeliveryAttempt {
    fn from(row: WebhookAttemptRow) -> Self {
        WebhookDeliveryAttempt {
            attempt: row.attempt,
            status: row.status.into(),
            response_code: row.response_code,
            duration_ms: row.duration_ms,
            error: row.error,
            attempted_at: row.attempted_at,
        }
    }
}

pub type WebhookDeliveryConnection = Connection<WebhookDelivery>;
