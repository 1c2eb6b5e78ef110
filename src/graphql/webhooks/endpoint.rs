use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::prepared::ParentPage;
use crate::db::webhooks::WebhookEndpointRow;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{PageRequest, page_complexity};
use crate::graphql::webhooks::delivery::{WebhookDelivery, WebhookDeliveryConnection};
use crate::graphql::webhooks::loaders::{EndpointDeliveriesPage, WebhookDeliveryCount};

/// Whether an endpoint receives deliveries.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::webhook::EndpointStatus")]
pub enum WebhookEndpointStatus {
    /// Receives deliveries.
    Enabled,
    /// Switched off by the user; its pending deliveries wait until it is enabled again.
    Disabled,
    /// Switched off by billgraph after every attempt failed for 5 days
    /// (see disabledAt, disabledReason); enable it to resume.
    FailingDisabled,
}

pub struct WebhookEndpoint(pub WebhookEndpointRow);

/// A URL the tenant's events are sent to, signed with the endpoint's secret.
#[Object]
impl WebhookEndpoint {
    /// The endpoint's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Free text, if any.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The event types it receives; `["*"]` for all of them.
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }

    /// ENABLED, DISABLED or FAILING_DISABLED.
    async fn status(&self) -> WebhookEndpointStatus {
        self.0.status.into()
    }

    /// When it stopped receiving deliveries, while disabled.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }

    /// Why it stopped, while disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Until when the secret replaced by the last rotation still signs beside the new one.
    async fn previous_secret_expires_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at.filter(|at| *at > ctx.now())
    }

    /// When it was registered (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Its deliveries, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = EndpointDeliveriesPage(ParentPage {
            parent: self.0.id,
            after: page.after,
            limit: page.fetch_limit(),
        });
        let rows = ctx.loader().load_one(key).await?.unwrap_or_default();
        Ok(WebhookDeliveryConnection::from_rows(
            rows,
            &page,
            Total::loaded(WebhookDeliveryCount::Endpoint(self.0.id)),
            |r| r.id,
            WebhookDelivery,
        ))
    }
}

pub type WebhookEndpointConnection = Connection<WebhookEndpoint>;

/// An endpoint with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 of the key: verify deliveries with it. It is
    /// stored sealed and never shown again.
    pub secret: String,
}
