//! Queries and mutations of webhook endpoints and deliveries.

use async_graphql::{Context, InputObject, Object, Result};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::db::webhooks::{self as rows, DeliveryFilter};
use crate::domain::webhook::{validate_description, validate_event_types};
use crate::error::{AppError, AppResult};
use crate::graphql::connection::Total;
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{PageRequest, page_complexity, wants_total_count};
use crate::graphql::webhooks::delivery::{WebhookDelivery, WebhookDeliveryConnection, WebhookDeliveryStatus};
use crate::graphql::webhooks::endpoint::{WebhookEndpoint, WebhookEndpointConnection, WebhookEndpointWithSecret};
use crate::graphql::webhooks::loaders::{WebhookDeliveryCount, WebhookEndpointById};
use crate::webhooks::{self, EndpointDraft, EndpointPatch, target};

/// A new webhook endpoint. VALIDATION names the bad field (`input.url` when not https or not
/// public, `input.eventTypes` for an unknown type).
#[derive(InputObject, Debug, Clone)]
pub struct CreateWebhookEndpointInput {
    /// An https URL whose host resolves only to public addresses (unless
    /// the server allows private targets); a host that does not resolve yet
    /// is accepted, and its deliveries fail until it does.
    pub url: String,
    /// Event type names such as `customer.created`, or `["*"]` for all.
    pub event_types: Vec<String>,
    /// Free text, at most 500 characters; blank means none.
    pub description: Option<String>,
}

/// Changes to an endpoint; only the fields given change.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateWebhookEndpointInput {
    /// A new https URL, with the same rules as at creation.
    pub url: Option<String>,
    /// The new event types (replacing the old ones), or `["*"]` for all.
    pub event_types: Option<Vec<String>>,
    /// A blank description removes it.
    pub description: Option<String>,
    /// false disables the endpoint; true enables it, also after billgraph
    /// disabled it for failing.
    pub enabled: Option<bool>,
}

/// Narrows the tenant's deliveries; every condition given must hold.
#[derive(InputObject, Debug, Clone, Copy, Default)]
pub struct WebhookDeliveryFilterInput {
    /// Only deliveries to this endpoint.
    pub endpoint_id: Option<Uuid>,
    /// Only deliveries of this event.
    pub event_id: Option<Uuid>,
    /// Only deliveries with this status.
    pub status: Option<WebhookDeliveryStatus>,
}

/// The URL as it may be saved (see [`target::check_for_saving`]).
async fn checked_url(ctx: &Context<'_>, field: &str, url: &str) -> AppResult<String> {
    let settings = ctx.state().config.webhooks;
    let url = target::check_for_saving(field, url, settings.allow_private, settings.timeout).await?;
    Ok(url.to_string())
}

#[derive(Default)]
pub struct WebhookQueryRoot;

#[Object]
impl WebhookQueryRoot {
    /// The endpoint with this id. Another tenant's id, or none: NOT_FOUND.
    async fn webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's id.")] id: Uuid,
    ) -> Result<WebhookEndpoint> {
        let row = ctx.loader().load_one(WebhookEndpointById(id)).await?;
        Ok(WebhookEndpoint(
            row.ok_or_else(|| AppError::not_found("webhook endpoint"))?,
        ))
    }

    /// The tenant's endpoints, oldest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn webhook_endpoints(
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
    ) -> Result<WebhookEndpointConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = rows::endpoint_page(conn, tenant_id, after, limit).await?;
                    let total = if with_total {
                        rows::endpoint_count(conn, tenant_id).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(WebhookEndpointConnection::from_rows(
            rows,
            &page,
            total,
            |r| r.id,
            WebhookEndpoint,
        ))
    }

    /// The tenant's deliveries, newest first, through an optional filter.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted: every delivery.")] filter: Option<WebhookDeliveryFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let filter = filter.unwrap_or_default();
        let filter = DeliveryFilter {
            endpoint_id: filter.endpoint_id,
            event_id: filter.event_id,
            status: filter.status.map(Into::into),
        };
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let rows = ctx
            .request()
            .run(move |conn| async move { rows::delivery_page(conn, tenant_id, filter, after, limit).await }.boxed())
            .await?;
        Ok(WebhookDeliveryConnection::from_rows(
            rows,
            &page,
            Total::loaded(WebhookDeliveryCount::Filtered(filter)),
            |r| r.id,
            WebhookDelivery,
        ))
    }
}

#[derive(Default)]
pub struct WebhookMutationRoot;

#[Object]
impl WebhookMutationRoot {
    /// Registers an endpoint. The answer carries its signing secret, shown
    /// this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret> {
        let event_types = validate_event_types("input.eventTypes", &input.event_types).map_err(AppError::from)?;
        let description = match &input.description {
            Some(text) => validate_description("input.description", text).map_err(AppError::from)?,
            None => None,
        };
        let url = checked_url(ctx, "input.url", &input.url).await?;
        let draft = EndpointDraft {
            url,
            event_types,
            description,
        };
        let (row, secret) = webhooks::create(ctx.state(), ctx.tenant_id(), draft).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(row),
            secret,
        })
    }

    /// Changes an endpoint; enabling it again resumes its pending deliveries.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(desc = "The changes; VALIDATION names the bad field.")] input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpoint> {
        let mut patch = EndpointPatch {
            enabled: input.enabled,
            ..EndpointPatch::default()
        };
        if let Some(types) = &input.event_types {
            patch.event_types = Some(validate_event_types("input.eventTypes", types).map_err(AppError::from)?);
        }
        if let Some(text) = &input.description {
            patch.description = Some(validate_description("input.description", text).map_err(AppError::from)?);
        }
        if let Some(url) = &input.url {
            patch.url = Some(checked_url(ctx, "input.url", url).await?);
        }
        Ok(WebhookEndpoint(
            webhooks::update(ctx.pool(), ctx.tenant_id(), id, patch).await?,
        ))
    }

    /// Deletes the endpoint with its deliveries; true when it existed.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
    ) -> Result<bool> {
        webhooks::delete(ctx.pool(), ctx.tenant_id(), id).await?;
        Ok(true)
    }

    /// A new signing secret, shown this once. The previous secret keeps
    /// signing beside it for 24 hours (deliveries carry both signatures).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
    ) -> Result<WebhookEndpointWithSecret> {
        let (row, secret) = webhooks::rotate_secret(ctx.state(), ctx.tenant_id(), id).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(row),
            secret,
        })
    }

    /// Sends the event to the endpoint again, now: a new delivery with its
    /// own attempts and the same `webhook-id`. The endpoint must be enabled.
    async fn replay_webhook_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event. Another tenant's id, or none: NOT_FOUND.")] event_id: Uuid,
        #[graphql(desc = "The endpoint, enabled (CONFLICT otherwise). Another tenant's id, or none: NOT_FOUND.")]
        endpoint_id: Uuid,
    ) -> Result<WebhookDelivery> {
        Ok(WebhookDelivery(
            webhooks::replay(ctx.pool(), ctx.tenant_id(), event_id, endpoint_id).await?,
        ))
    }
}
