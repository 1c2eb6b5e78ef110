use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::coupons::DiscountHolder;
use crate::db::subscriptions::{SubscriptionPageKey, SubscriptionRow};
use crate::domain::period::{self};
use crate::domain::subscription::{self as rules, Payer, Status};
use crate::error::AppError;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::coupons::discount::DiscountConnection;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::invoices::invoice::{InvoiceConnection, InvoiceStatusType};
use crate::graphql::invoices::loaders::PayerOf;
use crate::graphql::pagination::{PageRequest, page_complexity};
use crate::graphql::plans::loaders::PlanById;
use crate::graphql::plans::plan::{BillingPeriodType, Plan};
use crate::graphql::subscriptions::changes::{PriceQuantity, SubscriptionPhase, current_phase, pending_change};
use crate::graphql::subscriptions::loaders::{PausesOf, SubscriptionCount, SubscriptionsPage};
use crate::graphql::subscriptions::preview::{UpcomingInvoice, upcoming_invoice};
use crate::subscriptions::lifecycle_of;

/// Who a subscription's invoices go to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "Payer", remote = "crate::domain::subscription::Payer")]
pub enum PayerType {
    /// Invoiced to the subscribing customer.
    #[graphql(name = "SELF")]
    Customer,
    /// Invoiced to the nearest ancestor that pays for itself: one with a
    /// SELF subscription that has not ended, or the top of the hierarchy.
    Parent,
}

/// A subscription's state at an instant; it follows the clock (a trial ends, a scheduled
/// cancellation takes effect) without any call.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::subscription::Status")]
pub enum SubscriptionStatus {
    /// In its trial: nothing accrues.
    Trialing,
    /// Billing normally.
    Active,
    /// Nothing accrues until it is resumed.
    Paused,
    /// Ended; no more periods.
    Cancelled,
}

/// A half-open stretch of time: [start, end).
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(name = "Period")]
pub struct PeriodValue {
    /// Start, inclusive (UTC).
    pub start: DateTime<Utc>,
    /// End, exclusive (UTC).
    pub end: DateTime<Utc>,
}

impl From<period::Period> for PeriodValue {
    fn from(p: period::Period) -> Self {
        PeriodValue {
            start: p.start,
            end: p.end,
        }
    }
}

#[derive(Clone)]
pub struct Subscription(pub SubscriptionRow);

/// The moment a subscription is shown as of: the request's clock, or the
/// row's last change if that came later (a mutation in this request).
pub fn as_of(ctx: &Context<'_>, row: &SubscriptionRow) -> DateTime<Utc> {
    ctx.now().max(row.updated_at)
}

impl Subscription {
    /// The anchor and cadence periods follow at the request's clock.
    fn rule_now(&self, ctx: &Context<'_>) -> (DateTime<Utc>, period::Cadence) {
        rules::rule_at(&lifecycle_of(&self.0), ctx.now())
    }
}

/// A customer's subscription to a plan: billed per period in the plan's currency, by the plan's
/// prices (fixed fees and usage).
#[Object(name = "Subscription")]
impl Subscription {
    /// The subscription's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The subscribing customer.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.0.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The plan in force now.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let plan_id = current_phase(ctx, &self.0).await?.0.plan_id;
        let row = ctx.loader().load_one(PlanById(plan_id)).await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// Fixed prices billed now for another quantity than the price's own.
    async fn quantities(&self, ctx: &Context<'_>) -> Result<Vec<PriceQuantity>> {
        Ok(current_phase(ctx, &self.0).await?.quantities_now())
    }

    /// The plan or quantity change scheduled for the end of the current
    /// period (cancellable with cancelPendingChange).
    async fn pending_change(&self, ctx: &Context<'_>) -> Result<Option<SubscriptionPhase>> {
        pending_change(ctx, &self.0).await
    }

    /// Who is invoiced for it now: the customer, or for payer PARENT its
    /// nearest ancestor that pays for itself.
    async fn invoiced_to(&self, ctx: &Context<'_>) -> Result<Customer> {
        let payer = match self.0.payer {
            Payer::Parent => ctx
                .loader()
                .load_one(PayerOf(self.0.customer_id))
                .await?
                .unwrap_or(self.0.customer_id),
            Payer::Customer => self.0.customer_id,
        };
        let row = ctx.loader().load_one(CustomerById(payer)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// SELF (the customer is invoiced) or PARENT (its nearest self-paying ancestor is).
    async fn payer(&self) -> PayerType {
        self.0.payer.into()
    }

    /// How this subscription's invoices are collected; null: the customer's.
    async fn collection_method(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::providers::CollectionMethodType>> {
        let method = ctx
            .loader()
            .load_one(crate::graphql::providers::loaders::SubscriptionCollectionMethodOf(
                self.0.id,
            ))
            .await?;
        Ok(method.map(Into::into))
    }

    /// As of this request.
    async fn status(&self, ctx: &Context<'_>) -> SubscriptionStatus {
        rules::status_at(&lifecycle_of(&self.0), as_of(ctx, &self.0)).into()
    }

    /// ISO 4217 code of every charge.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    /// The billing period in force now (a plan change can switch it, from
    /// the change on).
    async fn billing_period(&self, ctx: &Context<'_>) -> Option<BillingPeriodType> {
        Some(self.rule_now(ctx).1.unit.into())
    }

    /// Units per billing period (e.g. 3 with MONTHLY: every three months), as in force now.
    async fn billing_period_count(&self, ctx: &Context<'_>) -> i32 {
        i32::try_from(self.rule_now(ctx).1.count).unwrap_or(i32::MAX)
    }

    /// When billing starts (UTC).
    async fn start_at(&self) -> DateTime<Utc> {
        self.0.start_at
    }

    /// Periods are cut from this instant, calendar-correct (the one in
    /// force now: a change of billing period anchors them at the change).
    async fn billing_anchor(&self, ctx: &Context<'_>) -> DateTime<Utc> {
        self.rule_now(ctx).0
    }

    /// When the trial ends (UTC); null without a trial.
    async fn trial_end(&self) -> Option<DateTime<Utc>> {
        self.0.trial_end
    }

    /// Start of the pause in force.
    async fn paused_at(&self) -> Option<DateTime<Utc>> {
        self.0.paused_at
    }

    /// When it ends or ended; set by cancellation.
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }

    /// When the cancellation was requested (UTC); null unless cancelled. `endsAt` is when it takes
    /// effect.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }

    /// When the subscription was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The billing period this request's moment falls in (the first one
    /// before the start, the last one after the end).
    async fn current_period(&self, ctx: &Context<'_>) -> PeriodValue {
        let life = lifecycle_of(&self.0);
        let now = as_of(ctx, &self.0);
        let at = life.ends_at.map_or(now, |end| now.min(end));
        rules::current_period(&life, at).into()
    }

    /// Past pauses, in time order; the one in force is `pausedAt`.
    async fn pauses(&self, ctx: &Context<'_>) -> Result<Vec<PeriodValue>> {
        let rows = ctx.loader().load_one(PausesOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows.iter().map(|p| p.period().into()).collect())
    }

    /// The invoices of its periods, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invoices with this status. Omitted: all.")] status: Option<InvoiceStatusType>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<InvoiceConnection> {
        InvoiceConnection::load_for_subscription(ctx, self.0.id, status, first, after).await
    }

    /// Coupons applied to it, oldest first: the order they apply in.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn discounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Removed discounts too; false by default.", default = false)] include_removed: bool,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<DiscountConnection> {
        DiscountConnection::load(
            ctx,
            DiscountHolder::Subscription,
            self.0.id,
            include_removed,
            first,
            after,
        )
        .await
    }

    /// What the current period would bill if it ended now.
    async fn upcoming_invoice(&self, ctx: &Context<'_>) -> Result<UpcomingInvoice> {
        upcoming_invoice(ctx, self.0.clone()).await
    }
}

pub type SubscriptionConnection = Connection<Subscription>;

impl SubscriptionConnection {
    /// One page of a customer's subscriptions, through the page loader.
    pub async fn load(
        ctx: &Context<'_>,
        customer_id: Uuid,
        status: Option<SubscriptionStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let status = status.map(Status::from);
        let key = SubscriptionPageKey {
            customer_id,
            status,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx.loader().load_one(SubscriptionsPage(key)).await?.unwrap_or_default();
        Ok(SubscriptionConnection::from_rows(
            rows,
            &page,
            Total::loaded(SubscriptionCount { customer_id, status }),
            |r| r.id,
            Subscription,
        ))
    }
}
