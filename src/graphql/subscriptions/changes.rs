//! Plan and quantity changes of a subscription: the mutations, the pending
//! change a subscription shows, and the preview of a change.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::phases::PhaseRow;
use crate::db::subscriptions::SubscriptionRow;
use crate::domain::phase::{Phase, pending_after, phase_at};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::plans::loaders::PlanById;
use crate::graphql::plans::plan::Plan;
use crate::graphql::subscriptions::loaders::PhasesOf;
use crate::graphql::subscriptions::preview::LineItem;
use crate::graphql::subscriptions::subscription::Subscription;
use crate::subscriptions::changes::{self, ChangePreview, TermsChange};
use crate::subscriptions::phases_of;

/// When a plan or quantity change takes effect.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ChangeEffective", remote = "crate::domain::phase::Effective")]
pub enum EffectiveType {
    /// At once: the current period is shared between the old and new terms,
    /// each billed by its share (fees billed ahead are settled at the
    /// period's end).
    Now,
    /// At the end of the current period; pending until then.
    PeriodEnd,
}

/// A fixed price billed for another quantity than its own.
#[derive(SimpleObject, Clone, Debug)]
pub struct PriceQuantity {
    /// The FIXED price's id.
    pub price_id: Uuid,
    /// Units billed per period instead of the price's own quantity.
    pub quantity: Decimal,
}

fn quantities(phase: &Phase) -> Vec<PriceQuantity> {
    phase
        .quantities
        .iter()
        .map(|(price_id, quantity)| PriceQuantity {
            price_id: *price_id,
            quantity: *quantity,
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct SubscriptionPhase(pub Phase);

/// The terms of a subscription from an instant on.
#[Object]
impl SubscriptionPhase {
    /// When these terms take effect (UTC).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    /// The plan of these terms.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let row = ctx.loader().load_one(PlanById(self.0.plan_id)).await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// Fixed prices billed for another quantity than the price's own.
    async fn quantities(&self) -> Vec<PriceQuantity> {
        quantities(&self.0)
    }
}

impl SubscriptionPhase {
    pub fn quantities_now(&self) -> Vec<PriceQuantity> {
        quantities(&self.0)
    }
}

/// The phases of a subscription, read only for one that ever changed.
pub async fn phases(ctx: &Context<'_>, row: &SubscriptionRow) -> Result<Vec<Phase>> {
    let stored: Vec<PhaseRow> = if row.phased {
        ctx.loader().load_one(PhasesOf(row.id)).await?.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(phases_of(row, &stored))
}

/// The terms in force at the request's clock.
pub async fn current_phase(ctx: &Context<'_>, row: &SubscriptionRow) -> Result<SubscriptionPhase> {
    let phases = phases(ctx, row).await?;
    let phase = phase_at(&phases, ctx.now())
        .cloned()
        .expect("a subscription has a phase");
    Ok(SubscriptionPhase(phase))
}

/// The change scheduled for a later period end, if any.
pub async fn pending_change(ctx: &Context<'_>, row: &SubscriptionRow) -> Result<Option<SubscriptionPhase>> {
    let phases = phases(ctx, row).await?;
    Ok(pending_after(&phases, ctx.now()).cloned().map(SubscriptionPhase))
}

#[derive(Clone)]
pub struct SubscriptionChangePreview {
    subscription: SubscriptionRow,
    effective_at: DateTime<Utc>,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    line_items: Vec<LineItem>,
    total: Decimal,
}

impl From<ChangePreview> for SubscriptionChangePreview {
    fn from(p: ChangePreview) -> Self {
        let customer_id = p.subscription.customer_id;
        let line_items = p
            .lines
            .into_iter()
            .filter_map(|billed| {
                let price = p.prices.get(&billed.line.price_id)?.clone();
                Some(LineItem::new(customer_id, price, billed.line, billed.period))
            })
            .collect();
        SubscriptionChangePreview {
            subscription: p.subscription,
            effective_at: p.effective_at,
            period_start: p.period.start,
            period_end: p.period.end,
            line_items,
            total: p.total,
        }
    }
}

/// What a change would do to the bills of the period it takes effect in.
#[Object]
impl SubscriptionChangePreview {
    /// The subscription as it is now (the preview changes nothing).
    async fn subscription(&self) -> Subscription {
        Subscription(self.subscription.clone())
    }

    /// When the change would take effect (UTC).
    async fn effective_at(&self) -> DateTime<Utc> {
        self.effective_at
    }

    /// The period the change takes effect in.
    async fn period_start(&self) -> DateTime<Utc> {
        self.period_start
    }

    /// End of the period the change takes effect in, exclusive.
    async fn period_end(&self) -> DateTime<Utc> {
        self.period_end
    }

    /// Per fixed price, what the period bills with the change less without
    /// it: the unused part of old fees credited (negative), the new terms'
    /// share billed. Usage is priced as it happens and is not included.
    async fn line_items(&self) -> &[LineItem] {
        &self.line_items
    }

    /// Sum of the line items, in the subscription's currency (negative: a credit).
    async fn total(&self) -> Decimal {
        self.total
    }
}

/// The one change a preview asks about: a plan, or a price's quantity.
fn requested(plan_id: Option<Uuid>, price_id: Option<Uuid>, quantity: Option<Decimal>) -> AppResult<TermsChange> {
    match (plan_id, price_id, quantity) {
        (Some(plan_id), None, None) => Ok(TermsChange::Plan(plan_id)),
        (None, Some(price_id), Some(quantity)) => Ok(TermsChange::Quantity { price_id, quantity }),
        (None, Some(_), None) => Err(AppError::validation("quantity", "is required with priceId")),
        (None, None, Some(_)) => Err(AppError::validation("priceId", "is required with quantity")),
        _ => Err(AppError::validation(
            "planId",
            "give either planId, or priceId and quantity",
        )),
    }
}

#[derive(Default)]
pub struct SubscriptionChangeQueryRoot;

#[Object]
impl SubscriptionChangeQueryRoot {
    /// The invoice lines a plan change (planId) or a quantity change
    /// (priceId and quantity) would produce, writing nothing.
    #[allow(clippy::too_many_arguments)]
    async fn preview_subscription_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription. Another tenant's id, or none: NOT_FOUND.")] id: Uuid,
        #[graphql(desc = "Preview a move to this plan (not with priceId and quantity).")] plan_id: Option<Uuid>,
        #[graphql(desc = "Preview a new quantity of this FIXED price of the plan (with quantity).")] price_id: Option<
            Uuid,
        >,
        #[graphql(desc = "The new quantity (with priceId), above 0.")] quantity: Option<Decimal>,
        #[graphql(default_with = "EffectiveType::Now", desc = "NOW (default) or PERIOD_END.")] effective: EffectiveType,
        #[graphql(
            desc = "With NOW: the instant the change takes effect, in the past back to the last invoiced boundary and the last change (default now)"
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<SubscriptionChangePreview> {
        let change = requested(plan_id, price_id, quantity)?;
        let preview = changes::preview(ctx.pool(), ctx.tenant_id(), id, change, effective.into(), at).await?;
        Ok(preview.into())
    }
}

#[derive(Default)]
pub struct SubscriptionChangeMutationRoot;

#[Object]
impl SubscriptionChangeMutationRoot {
    /// Moves the subscription to another plan in the same currency and
    /// billing period, now or at the end of the current period.
    async fn change_subscription_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The subscription. Another tenant's id, or none: NOT_FOUND. CONFLICT when the subscription is cancelled, ends before the change would take effect, or already has a pending change (cancelPendingChange first)."
        )]
        id: Uuid,
        #[graphql(
            desc = "The new plan, active, in the subscription's currency (VALIDATION on `planId` otherwise; CONFLICT when archived or the same plan; NOT_FOUND when unknown)."
        )]
        plan_id: Uuid,
        #[graphql(
            default_with = "EffectiveType::Now",
            desc = "NOW (default) or PERIOD_END (pending until then)."
        )]
        effective: EffectiveType,
        #[graphql(
            desc = "With NOW: the instant the change takes effect, in the past back to the last invoiced boundary and the last change (default now)"
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<Subscription> {
        let change = TermsChange::Plan(plan_id);
        let row = changes::change_terms(ctx.pool(), ctx.tenant_id(), id, change, effective.into(), at).await?;
        Ok(Subscription(row))
    }

    /// Bills a FIXED price of the plan (seats) for `quantity` units, now or
    /// at the end of the current period.
    async fn set_subscription_quantity(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The subscription. Another tenant's id, or none: NOT_FOUND. CONFLICT when the subscription is cancelled, ends before the change would take effect, or already has a pending change (cancelPendingChange first)."
        )]
        id: Uuid,
        #[graphql(desc = "An active FIXED price of the subscription's plan (VALIDATION on `priceId` otherwise).")]
        price_id: Uuid,
        #[graphql(
            desc = "Units to bill per period, above 0, at most 10^15 (VALIDATION on `quantity`); the current quantity again is CONFLICT."
        )]
        quantity: Decimal,
        #[graphql(
            default_with = "EffectiveType::Now",
            desc = "NOW (default) or PERIOD_END (pending until then)."
        )]
        effective: EffectiveType,
        #[graphql(
            desc = "With NOW: the instant the change takes effect, in the past back to the last invoiced boundary and the last change (default now)"
        )]
        at: Option<DateTime<Utc>>,
    ) -> Result<Subscription> {
        let change = TermsChange::Quantity { price_id, quantity };
        let row = changes::change_terms(ctx.pool(), ctx.tenant_id(), id, change, effective.into(), at).await?;
        Ok(Subscription(row))
    }

    /// Drops the change scheduled for the end of the current period.
    async fn cancel_pending_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The subscription. Another tenant's id, or none: NOT_FOUND. CONFLICT when no change is pending."
        )]
        id: Uuid,
    ) -> Result<Subscription> {
        let row = changes::cancel_pending(ctx.pool(), ctx.tenant_id(), id).await?;
        Ok(Subscription(row))
    }
}
