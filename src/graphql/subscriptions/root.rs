//! Queries and mutations of subscriptions.

use async_graphql::{Context, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::subscription::{CancelAt, MAX_TRIAL_DAYS, validate_start_at};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::subscriptions::loaders::SubscriptionById;
use crate::graphql::subscriptions::subscription::{PayerType, Subscription};
use crate::subscriptions::{self, Change, SubscriptionDraft};

/// A new subscription.
#[derive(InputObject, Debug, Clone)]
pub struct CreateSubscriptionInput {
    /// The subscribing customer, active (NOT_FOUND when unknown).
    pub customer_id: Uuid,
    /// The plan; its active prices must share one currency and billing period (VALIDATION on
    /// `input.planId` otherwise, or when it has no active price; CONFLICT when archived; NOT_FOUND
    /// when unknown).
    pub plan_id: Uuid,
    /// Defaults to now. Not before 2000-01-01T00:00:00Z, at most
    /// BILLGRAPH_MAX_BACKDATE_DAYS (default 365) days in the past and at
    /// most 10 years in the future.
    pub start_at: Option<DateTime<Utc>>,
    /// The instant periods are cut from; defaults to the end of the trial,
    /// or the start. Not before 2000-01-01T00:00:00Z; at most one period
    /// after the start (or the trial's end).
    pub billing_anchor: Option<DateTime<Utc>>,
    /// Days from the start in which nothing accrues.
    #[graphql(default = 0)]
    pub trial_days: i32,
    /// Who is invoiced. Default SELF; PARENT needs a customer with a parent (VALIDATION on
    /// `input.payer`).
    #[graphql(default_with = "PayerType::Customer")]
    pub payer: PayerType,
    /// How this subscription's invoices are collected; null: the customer's.
    pub collection_method: Option<crate::graphql::providers::CollectionMethodType>,
}

impl CreateSubscriptionInput {
    fn validate(self, now: DateTime<Utc>, max_backdate_days: u32) -> AppResult<SubscriptionDraft> {
        let trial_days = u32::try_from(self.trial_days)
            .ok()
            .filter(|d| *d <= MAX_TRIAL_DAYS as u32)
            .ok_or_else(|| {
                AppError::validation("input.trialDays", format!("must be between 0 and {MAX_TRIAL_DAYS}"))
            })?;
        Ok(SubscriptionDraft {
            customer_id: self.customer_id,
            plan_id: self.plan_id,
            start_at: validate_start_at("input.startAt", self.start_at.unwrap_or(now), now, max_backdate_days)?,
            billing_anchor: self.billing_anchor,
            trial_days,
            payer: self.payer.into(),
            collection_method: self.collection_method.map(Into::into),
        })
    }
}

#[derive(Default)]
pub struct SubscriptionQueryRoot;

#[Object]
impl SubscriptionQueryRoot {
    /// The subscription with this id. Another tenant's id, or none: NOT_FOUND.
    async fn subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription's id.")] id: Uuid,
    ) -> Result<Subscription> {
        let row = ctx.loader().load_one(SubscriptionById(id)).await?;
        Ok(Subscription(row.ok_or_else(|| AppError::not_found("subscription"))?))
    }
}

#[derive(Default)]
pub struct SubscriptionMutationRoot;

#[Object]
impl SubscriptionMutationRoot {
    /// Subscribes a customer to a plan whose active prices share one
    /// currency and billing period.
    async fn create_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The subscription. VALIDATION names the bad field (`input.trialDays`: 0 to 730, `input.startAt`, `input.billingAnchor`, ...)."
        )]
        input: CreateSubscriptionInput,
    ) -> Result<Subscription> {
        let draft = input.validate(ctx.now(), ctx.state().config.limits.max_backdate_days)?;
        Ok(Subscription(
            subscriptions::create(ctx.pool(), ctx.tenant_id(), draft).await?,
        ))
    }

    /// Ends the subscription now, with atPeriodEnd at the end of the
    /// current period, or at a chosen instant `at` (in the future, or in
    /// the past back to the last invoiced boundary). A set end can later be
    /// brought forward, not moved back.
    async fn cancel_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(
            default = false,
            desc = "End at the end of the current period. Default false; not together with `at` (VALIDATION on `at`)."
        )]
        at_period_end: bool,
        #[graphql(
            desc = "End at this instant (UTC) instead of now. Before the last invoiced boundary: VALIDATION on `at`; later than an end already set: CONFLICT."
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<Subscription> {
        let when = match (at_period_end, at) {
            (true, Some(_)) => return Err(AppError::validation("at", "give either at or atPeriodEnd, not both").into()),
            (true, None) => CancelAt::PeriodEnd,
            (false, Some(at)) => CancelAt::At(at),
            (false, None) => CancelAt::Now,
        };
        Ok(Subscription(
            subscriptions::change(ctx.pool(), ctx.tenant_id(), id, Change::Cancel(when)).await?,
        ))
    }

    /// Stops charges from accruing from now, or from `at` in the past (back
    /// to the last invoiced boundary and the end of the last pause): fixed
    /// fees bill only the rest of their period (see proration), and usage
    /// events in the pause do not bill.
    async fn pause_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The subscription. Another tenant's id, or none: NOT_FOUND. CONFLICT when cancelled or already paused."
        )]
        id: Uuid,
        #[graphql(
            desc = "Start of the pause (default now): not in the future, not before the last invoiced boundary or the end of the last pause (VALIDATION on `at`)."
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<Subscription> {
        Ok(Subscription(
            subscriptions::change(ctx.pool(), ctx.tenant_id(), id, Change::Pause { at }).await?,
        ))
    }

    /// Ends the pause now, or at `at` in the past (not before the pause
    /// started or the last invoiced boundary).
    async fn resume_subscription(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription. Another tenant's id, or none: NOT_FOUND. CONFLICT when it is not paused.")]
        id: Uuid,
        #[graphql(
            desc = "End of the pause (default now): not before it started or the last invoiced boundary (VALIDATION on `at`)."
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<Subscription> {
        Ok(Subscription(
            subscriptions::change(ctx.pool(), ctx.tenant_id(), id, Change::Resume { at }).await?,
        ))
    }
}
