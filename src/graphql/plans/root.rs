//! Queries and mutations of plans and prices.

use async_graphql::{Context, Object, Result};
use futures_util::FutureExt;
use uuid::Uuid;

use crate::db::plans as plan_rows;
use crate::domain::stored::RecordStatus;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{PageRequest, wants_total_count};
use crate::graphql::plans::inputs::{CreatePlanInput, PriceInput};
use crate::graphql::plans::loaders::PlanById;
use crate::graphql::plans::plan::{Plan, PlanConnection, PlanStatus, Price};
use crate::plans;

#[derive(Default)]
pub struct PlanQueryRoot;

#[Object]
impl PlanQueryRoot {
    /// The plan with this id, archived or not. Another tenant's id, or none: NOT_FOUND.
    async fn plan(&self, ctx: &Context<'_>, #[graphql(desc = "The plan's id.")] id: Uuid) -> Result<Plan> {
        let row = ctx.loader().load_one(PlanById(id)).await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// The plan with this lookupKey. None: NOT_FOUND.
    async fn plan_by_lookup_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's lookupKey (surrounding spaces ignored).")] lookup_key: String,
    ) -> Result<Plan> {
        let tenant_id = ctx.tenant_id();
        let lookup_key = lookup_key.trim().to_owned();
        let row = ctx
            .request()
            .run(move |conn| async move { plan_rows::plan_by_lookup_key(conn, tenant_id, &lookup_key).await }.boxed())
            .await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// Plans in creation order.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn plans(
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
        #[graphql(desc = "Only plans with this status. Omitted: all.")] status: Option<PlanStatus>,
    ) -> Result<PlanConnection> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let status = status.map(RecordStatus::from);
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total_count) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = plan_rows::list_plans(conn, tenant_id, status, after, limit).await?;
                    let total = if with_total {
                        plan_rows::count_plans(conn, tenant_id, status).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(PlanConnection::from_rows(rows, &page, total_count, |r| r.id, Plan))
    }
}

#[derive(Default)]
pub struct PlanMutationRoot;

#[Object]
impl PlanMutationRoot {
    /// Creates a plan with its prices, all or nothing.
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The plan and its prices. VALIDATION names the bad field; CONFLICT when the lookupKey is taken; an unknown meterId is VALIDATION on it."
        )]
        input: CreatePlanInput,
    ) -> Result<Plan> {
        let draft = input.validate()?;
        let (plan, _) = plans::create_plan(ctx.pool(), ctx.tenant_id(), draft).await?;
        Ok(Plan(plan))
    }

    /// Adds a price to an active plan. CONFLICT when the plan is archived, or has subscriptions in
    /// another currency or billing period (the price would never bill them).
    async fn add_price(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan. Another tenant's id, or none: NOT_FOUND.")] plan_id: Uuid,
        #[graphql(desc = "The new price; VALIDATION names the bad field (`input.amount`, ...).")] input: PriceInput,
    ) -> Result<Price> {
        let draft = input.validate("input")?;
        Ok(Price(
            plans::add_price(ctx.pool(), ctx.tenant_id(), plan_id, draft).await?,
        ))
    }

    /// Archived prices stay visible (includeArchived) but no longer bill.
    async fn archive_price(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The price to archive. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
    ) -> Result<Price> {
        Ok(Price(plans::archive_price(ctx.pool(), ctx.tenant_id(), id).await?))
    }
}
