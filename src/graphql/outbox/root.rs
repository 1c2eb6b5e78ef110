//! Reading the outbox: the tenant's events, newest first.

use async_graphql::{Context, InputObject, Object, Result};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::db::outbox::{self as rows, EventFilter};
use crate::domain::outbox::{EventType, ObjectType, matching_types};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::outbox::event::{WebhookEvent, WebhookEventConnection};
use crate::graphql::outbox::loaders::WebhookEventById;
use crate::graphql::pagination::{PageRequest, wants_total_count};

/// Narrows the tenant's events; every condition given must hold. An unknown type or object type:
/// VALIDATION on `filter.types` or `filter.objectType`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct WebhookEventFilterInput {
    /// Event types, e.g. `invoice.paid`; any of them.
    pub types: Option<Vec<String>>,
    /// Only events about this kind of object, e.g. `invoice`.
    pub object_type: Option<String>,
    /// Only events about this object.
    pub object_id: Option<Uuid>,
}

impl WebhookEventFilterInput {
    /// The filter, or None when it can match nothing (types of another object).
    fn validate(self) -> AppResult<Option<EventFilter>> {
        let types = self
            .types
            .map(|names| {
                names
                    .iter()
                    .map(|name| {
                        name.parse::<EventType>()
                            .map_err(|e| AppError::validation("filter.types", e.to_string()))
                    })
                    .collect::<AppResult<Vec<_>>>()
            })
            .transpose()?;
        let object = self
            .object_type
            .map(|name| {
                name.parse::<ObjectType>()
                    .map_err(|e| AppError::validation("filter.objectType", e.to_string()))
            })
            .transpose()?;
        let types = matching_types(types.as_deref(), object);
        if types.as_ref().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        Ok(Some(EventFilter {
            types: types.map(|ts| ts.into_iter().map(|t| t.as_str().to_string()).collect()),
            object_id: self.object_id,
        }))
    }
}

#[derive(Default)]
pub struct OutboxQueryRoot;

#[Object]
impl OutboxQueryRoot {
    /// One event of the tenant.
    async fn webhook_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The event's id (its `webhook-id`). Another tenant's id, or none: NOT_FOUND. Also NOT_FOUND once deleted (after BILLGRAPH_EVENT_RETENTION_DAYS)."
        )]
        id: Uuid,
    ) -> Result<WebhookEvent> {
        let row = ctx.loader().load_one(WebhookEventById(id)).await?;
        Ok(WebhookEvent(row.ok_or_else(|| AppError::not_found("webhook event"))?))
    }

    /// The tenant's events (kept at least 30 days), newest first.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted: every event kept.")] filter: Option<WebhookEventFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<WebhookEventConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let Some(filter) = filter.unwrap_or_default().validate()? else {
            return Ok(WebhookEventConnection::from_rows(
                Vec::new(),
                &page,
                0,
                |r| r.id,
                WebhookEvent,
            ));
        };
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total_count) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = rows::page(conn, tenant_id, &filter, after, limit).await?;
                    let total = if with_total {
                        rows::count(conn, tenant_id, &filter).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(WebhookEventConnection::from_rows(
            rows,
            &page,
            total_count,
            |r| r.id,
            WebhookEvent,
        ))
    }
}
