//! Queries of meters and raw events.

use async_graphql::{Context, Object, Result};
use chrono::DateTime;
use futures_util::FutureExt;
use uuid::Uuid;

use crate::db::events::{self, EventPosition};
use crate::db::meters;
use crate::domain::stored::RecordStatus;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{PageRequest, decode_text_cursor, encode_text_cursor, page_limit, wants_total_count};
use crate::graphql::usage::event::{Event, EventConnection};
use crate::graphql::usage::inputs::EventFilterInput;
use crate::graphql::usage::loaders::MeterById;
use crate::graphql::usage::meter::{Meter, MeterConnection, MeterStatus};

#[derive(Default)]
pub struct UsageQueryRoot;

fn event_position(e: &events::EventRow) -> String {
    format!("{}|{}", e.timestamp.timestamp_micros(), e.event_id)
}

fn parse_event_position(cursor: &str) -> Option<EventPosition> {
    let text = decode_text_cursor(cursor)?;
    let (micros, event_id) = text.split_once('|')?;
    Some(EventPosition {
        timestamp: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        event_id: event_id.to_string(),
    })
}

#[Object]
impl UsageQueryRoot {
    /// The meter with this id, archived or not. Another tenant's id, or none: NOT_FOUND.
    async fn meter(&self, ctx: &Context<'_>, #[graphql(desc = "The meter's id.")] id: Uuid) -> Result<Meter> {
        let row = ctx.loader().load_one(MeterById(id)).await?;
        Ok(Meter(row.ok_or_else(|| AppError::not_found("meter"))?))
    }

    /// Meters in creation order.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn meters(
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
        #[graphql(desc = "Only meters with this status. Omitted: all.")] status: Option<MeterStatus>,
    ) -> Result<MeterConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let status = status.map(RecordStatus::from);
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total_count) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = meters::list(conn, tenant_id, status, after, limit).await?;
                    let total = if with_total {
                        meters::count(conn, tenant_id, status).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(MeterConnection::from_rows(rows, &page, total_count, |r| r.id, Meter))
    }

    /// Raw events, newest first.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted: every event.")] filter: Option<EventFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<EventConnection> {
        let limit = page_limit(first, ctx.limits())?;
        let after = match after.as_deref() {
            None => None,
            Some(c) => {
                Some(parse_event_position(c).ok_or_else(|| AppError::validation("after", "is not a valid cursor"))?)
            }
        };
        let filter = filter.unwrap_or_default().into();
        let tenant_id = ctx.tenant_id();
        let with_total = wants_total_count(ctx);
        let position = after.clone();
        let (rows, total_count) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = events::list(conn, tenant_id, &filter, position.as_ref(), limit as i64 + 1).await?;
                    let total = if with_total {
                        events::count(conn, tenant_id, &filter).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(EventConnection::from_rows_by(
            rows,
            limit,
            after.is_some(),
            total_count,
            |r| encode_text_cursor(&event_position(r)),
            Event,
        ))
    }
}
