//! Changes to what a running subscription bills: its plan and the quantities
//! of its fixed prices (seats). A change starts a new phase, now or at the
//! end of the current period; the billing run then bills each phase by its
//! share of the period and settles what was billed ahead (see
//! `domain::charges`), so nothing is billed twice or lost.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{bills_on, lifecycle_of, phase_terms, phases_of, plan_terms, quantities_to_json};
use crate::db::phases::{self as phase_rows, PhaseRow};
use crate::db::plans::{self, PriceRow};
use crate::db::subscriptions::{self, SubscriptionRow};
use crate::db::{DbPool, connection};
use crate::domain::charges::{BilledLine, PlanUsage, PriceType, difference, period_lines, subtotal};
use crate::domain::money::validate_quantity;
use crate::domain::outbox::EventType;
use crate::domain::period::Period;
use crate::domain::phase::{Effective, Phase, pending_after, phase_at};
use crate::domain::stored::RecordStatus;
use crate::domain::subscription::{self as rules, Lifecycle, Status};
use crate::error::{AppError, AppResult};
use crate::outbox::objects::emit_subscription;

/// What a client asks to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsChange {
    /// Move to another plan in the same currency and billing period.
    Plan(Uuid),
    /// Bill a fixed price of the plan for this many units.
    Quantity { price_id: Uuid, quantity: Decimal },
}

/// A change worked out against the locked subscription, before it is stored.
pub struct PlannedChange {
    /// The subscription as it is.
    pub subscription: SubscriptionRow,
    /// The subscription with the change: its plan, and for a change of
    /// billing period the cut (its billing cursor stops there).
    pub changed: SubscriptionRow,
    /// The phases with the change.
    pub phases: Vec<Phase>,
    /// The phases without it.
    pub before: Vec<Phase>,
    pub effective_at: DateTime<Utc>,
}

/// Works out a change: when it takes effect, and the phases after it. A
/// change that would reach a period already invoiced, or that conflicts
/// with one pending, is refused.
async fn plan_change(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    change: TermsChange,
    effective: Effective,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<PlannedChange> {
    let row = subscriptions::for_update(conn, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("subscription"))?;
    let life = lifecycle_of(&row);
    if rules::status_at(&life, now) == Status::Cancelled {
        return Err(AppError::conflict("subscription is cancelled"));
    }
    let through = rules::billed_through(&life, row.next_billing_at);
    if let Some(cut) = row.cut_at.filter(|cut| *cut > through) {
        return Err(AppError::conflict(format!(
            "the billing period changes at {}; further changes wait until that is billed",
            cut.to_rfc3339()
        )));
    }
    let effective_at = match (effective, at) {
        // A subscription not started yet changes from its start.
        (Effective::Now, None) => now.max(row.start_at),
        (Effective::Now, Some(at)) => rules::validate_change_at("at", at, through, now, true)?.max(row.start_at),
        (Effective::PeriodEnd, None) => rules::current_period(&life, now).end,
        (Effective::PeriodEnd, Some(_)) => {
            return Err(AppError::validation("at", "is only for changes effective NOW"));
        }
    };
    if let Some(end) = row.ends_at.filter(|end| *end <= effective_at) {
        return Err(AppError::conflict(format!(
            "subscription ends at {}, before the change would take effect",
            end.to_rfc3339()
        )));
    }
    let stored = if row.phased {
        phase_rows::phases_of(conn, tenant_id, &[row.id]).await?
    } else {
        Vec::new()
    };
    let before = phases_of(&row, &stored);
    if let Some(later) = before.iter().find(|p| p.starts_at > effective_at && p.starts_at <= now) {
        return Err(AppError::validation(
            "at",
            format!("must not be before the last change ({})", later.starts_at.to_rfc3339()),
        ));
    }
    if let Some(pending) = pending_after(&before, now)
        && pending.starts_at != effective_at
    {
        return Err(AppError::conflict(format!(
            "a change is pending for {}; cancel it first (cancelPendingChange)",
            pending.starts_at.to_rfc3339()
        )));
    }
    let base = phase_at(&before, effective_at)
        .cloned()
        .expect("a subscription has a phase");
    let (_, cadence_then) = rules::rule_at(&life, effective_at);
    let mut new_cadence = None;
    let next = match change {
        TermsChange::Plan(plan_id) => {
            if plan_id == base.plan_id {
                return Err(AppError::conflict("subscription is already on this plan"));
            }
            let plan = plans::plan_for_update(conn, tenant_id, plan_id)
                .await?
                .ok_or_else(|| AppError::not_found("plan"))?;
            if plan.status != RecordStatus::Active {
                return Err(AppError::conflict("plan is archived"));
            }
            let prices = plans::prices_of_plans(conn, tenant_id, &[plan.id]).await?;
            let (currency, cadence) = plan_terms(&prices)?;
            if currency != row.currency {
                return Err(AppError::validation(
                    "planId",
                    format!("plan bills in {currency}; the subscription bills in {}", row.currency),
                ));
            }
            // Another billing period cuts the period in progress at the change.
            new_cadence = (cadence != cadence_then).then_some(cadence);
            Phase {
                starts_at: effective_at,
                plan_id,
                quantities: BTreeMap::new(),
            }
        }
        TermsChange::Quantity { price_id, quantity } => {
            let quantity = validate_quantity("quantity", quantity)?;
            let price = plans::prices_by_ids(conn, tenant_id, &[price_id])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| AppError::not_found("price"))?;
            let billed = price.plan_id == base.plan_id && bills_on(&price, row.currency, cadence_then);
            if !billed || price.price_type != PriceType::Fixed {
                return Err(AppError::validation(
                    "priceId",
                    "must be an active FIXED price of the subscription's plan",
                ));
            }
            let current = base.quantities.get(&price_id).copied().or(price.quantity);
            if current == Some(quantity) {
                return Err(AppError::conflict(format!("quantity is already {quantity}")));
            }
            let mut quantities = base.quantities.clone();
            quantities.insert(price_id, quantity);
            Phase {
                starts_at: effective_at,
                quantities,
                ..base
            }
        }
    };
    let mut phases: Vec<Phase> = before.iter().filter(|p| p.starts_at != effective_at).cloned().collect();
    phases.push(next);
    phases.sort_by_key(|p| p.starts_at);
    let mut changed = row.clone();
    changed.phased = true;
    // The plan column follows the latest phase, scheduled ones included,
    // so a plan's live subscriptions include those moving to it.
    if let Some(last) = phases.last() {
        changed.plan_id = last.plan_id;
    }
    if let Some(cadence) = new_cadence {
        let cut = rules::with_cut(&life, effective_at, cadence)
            .cut
            .expect("a cut was made");
        changed.billing_anchor = effective_at;
        changed.billing_period = cadence.unit;
        changed.billing_period_count = cadence.count as i32;
        changed.cut_at = Some(cut.at);
        changed.cut_anchor = Some(cut.anchor);
        changed.cut_billing_period = Some(cut.cadence.unit);
        changed.cut_billing_period_count = Some(cut.cadence.count as i32);
        // The cut is a boundary the run must bill.
        changed.next_billing_at = changed.next_billing_at.map(|next| next.min(effective_at));
    }
    Ok(PlannedChange {
        subscription: row,
        changed,
        phases,
        before,
        effective_at,
    })
}

fn phase_rows_of(subscription: &SubscriptionRow, phases: &[Phase], now: DateTime<Utc>) -> Vec<PhaseRow> {
    phases
        .iter()
        .map(|p| PhaseRow {
            tenant_id: subscription.tenant_id,
            subscription_id: subscription.id,
            starts_at: p.starts_at,
            plan_id: p.plan_id,
            quantities: quantities_to_json(&p.quantities),
            created_at: now,
        })
        .collect()
}

/// Applies a plan or quantity change and stores it.
pub async fn change_terms(
    pool: &DbPool,
    tenant_id: Uuid,
    id: Uuid,
    change: TermsChange,
    effective: Effective,
    at: Option<DateTime<Utc>>,
) -> AppResult<SubscriptionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let now = Utc::now();
        let PlannedChange { changed, phases, .. } =
            plan_change(conn, tenant_id, id, change, effective, at, now).await?;
        phase_rows::upsert(conn, &phase_rows_of(&changed, &phases, now)).await?;
        let row = subscriptions::update_lifecycle(conn, &changed, now).await?;
        emit_subscription(conn, EventType::SubscriptionChanged, &row).await?;
        Ok(row)
    })
    .await
}

/// Drops the change scheduled for a later period end.
pub async fn cancel_pending(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<SubscriptionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let now = Utc::now();
        let mut subscription = subscriptions::for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription"))?;
        let dropped = if subscription.phased {
            phase_rows::delete_after(conn, tenant_id, id, now).await?
        } else {
            0
        };
        if dropped == 0 {
            return Err(AppError::conflict("subscription has no pending change"));
        }
        let stored = phase_rows::phases_of(conn, tenant_id, &[id]).await?;
        if let Some(last) = phases_of(&subscription, &stored).last() {
            subscription.plan_id = last.plan_id;
        }
        // A change of billing period that was pending goes with it.
        if let (Some(cut), Some(anchor), Some(unit), Some(count)) = (
            subscription.cut_at,
            subscription.cut_anchor,
            subscription.cut_billing_period,
            subscription.cut_billing_period_count,
        ) && cut > now
        {
            subscription.billing_anchor = anchor;
            subscription.billing_period = unit;
            subscription.billing_period_count = count;
            subscription.cut_at = None;
            subscription.cut_anchor = None;
            subscription.cut_billing_period = None;
            subscription.cut_billing_period_count = None;
        }
        let row = subscriptions::update_lifecycle(conn, &subscription, now).await?;
        emit_subscription(conn, EventType::SubscriptionChanged, &row).await?;
        Ok(row)
    })
    .await
}

/// What a change would do to the bills, written nowhere: for the period in
/// which it takes effect, each fixed fee under the new terms less under the
/// old (the unused part of the old plan credited, the new plan's share
/// billed; usage depends on what is used). Lines come with their prices.
pub struct ChangePreview {
    pub subscription: SubscriptionRow,
    pub effective_at: DateTime<Utc>,
    pub period: Period,
    pub lines: Vec<BilledLine>,
    pub prices: HashMap<Uuid, PriceRow>,
    pub total: Decimal,
}

pub async fn preview(
    pool: &DbPool,
    tenant_id: Uuid,
    id: Uuid,
    change: TermsChange,
    effective: Effective,
    at: Option<DateTime<Utc>>,
) -> AppResult<ChangePreview> {
    // Reads only: the checks of a real change, then the lines, no writes.
    let mut conn = connection(pool).await?;
    let planned = plan_change(&mut conn, tenant_id, id, change, effective, at, Utc::now()).await?;
    preview_lines(&mut conn, tenant_id, planned).await
}

async fn preview_lines(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    planned: PlannedChange,
) -> AppResult<ChangePreview> {
    let PlannedChange {
        subscription,
        changed,
        phases,
        before,
        effective_at,
    } = planned;
    let (old_life, new_life) = (lifecycle_of(&subscription), lifecycle_of(&changed));
    let old_period = rules::current_period(&old_life, effective_at);
    // The period the change takes effect in, by the new terms.
    let period = rules::current_period(&new_life, effective_at);
    let pauses: Vec<Period> = subscriptions::pauses_of(conn, tenant_id, &[subscription.id])
        .await?
        .iter()
        .map(|p| p.period())
        .collect();
    let mut plan_ids: Vec<Uuid> = phases.iter().chain(&before).map(|p| p.plan_id).collect();
    plan_ids.sort();
    plan_ids.dedup();
    let prices = plans::prices_of_plans(conn, tenant_id, &plan_ids).await?;
    let currency = subscription.currency;
    let no_usage = PlanUsage::new();
    // The fixed fees a period bills on one version of the subscription.
    let fees =
        |row: &SubscriptionRow, life: &Lifecycle, phases: &[Phase], period: Period| -> AppResult<Vec<BilledLine>> {
            let share = rules::share_of(life, period, &pauses, period.end);
            let lines = period_lines(&phase_terms(row, phases, &prices, period), &no_usage, &share, currency)?;
            Ok(lines.into_iter().filter(|l| l.line.meter_id.is_none()).collect())
        };
    let old = fees(&subscription, &old_life, &before, old_period)?;
    let mut new = Vec::new();
    if period.start > old_period.start {
        // A new billing period cut the old one short at the change.
        let cut_short = Period {
            start: old_period.start,
            end: effective_at,
        };
        new.extend(fees(&changed, &new_life, &phases, cut_short)?);
    }
    new.extend(fees(&changed, &new_life, &phases, period)?);
    let lines = difference(&old, &new, currency)?;
    let total = subtotal(&lines, currency)?;
    Ok(ChangePreview {
        prices: prices
            .into_iter()
            .filter(|p| lines.iter().any(|l| l.line.price_id == p.id))
            .map(|p| (p.id, p))
            .collect(),
        subscription: changed,
        effective_at,
        period,
        lines,
        total,
    })
}
