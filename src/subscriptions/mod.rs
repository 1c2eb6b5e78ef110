//! Subscriptions: creation and lifecycle changes, each one transaction that
//! locks what it checks.

pub mod changes;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::provider::CollectionMethod;

use crate::customers::live_customer_for_update;
use crate::db::phases::{self as phase_rows, PhaseRow};
use crate::db::plans::{self, PriceRow};
use crate::db::subscriptions::{self, PauseRow, SubscriptionRow};
use crate::db::{DbPool, connection};
use crate::domain::charges::{PhaseTerms, PriceTerms};
use crate::domain::money::Currency;
use crate::domain::outbox::EventType;
use crate::domain::period::Period;
use crate::domain::period::{BillingPeriod, Cadence};
use crate::domain::phase::{Phase, phases_in};
use crate::domain::stored::RecordStatus;
use crate::domain::subscription::{self as rules, CancelAt, Cut, Lifecycle, Payer, Refusal};
use crate::error::{AppError, AppResult};
use crate::outbox::objects::emit_subscription;
use crate::plans::price_terms;

/// A validated request to subscribe.
#[derive(Debug, Clone)]
pub struct SubscriptionDraft {
    pub customer_id: Uuid,
    pub plan_id: Uuid,
    pub start_at: DateTime<Utc>,
    pub billing_anchor: Option<DateTime<Utc>>,
    pub trial_days: u32,
    pub payer: Payer,
    /// None: the customer's.
    pub collection_method: Option<CollectionMethod>,
}

/// The cadence a stored subscription or price bills on.
pub fn cadence_of(billing_period: BillingPeriod, count: i32) -> Cadence {
    Cadence {
        unit: billing_period,
        count: u32::try_from(count).unwrap_or(1),
    }
}

pub fn lifecycle_of(row: &SubscriptionRow) -> Lifecycle {
    Lifecycle {
        start_at: row.start_at,
        billing_anchor: row.billing_anchor,
        cadence: cadence_of(row.billing_period, row.billing_period_count),
        trial_end: row.trial_end,
        paused_at: row.paused_at,
        ends_at: row.ends_at,
        cut: match (
            row.cut_at,
            row.cut_anchor,
            row.cut_billing_period,
            row.cut_billing_period_count,
        ) {
            (Some(at), Some(anchor), Some(unit), Some(count)) => Some(Cut {
                at,
                anchor,
                cadence: cadence_of(unit, count),
            }),
            _ => None,
        },
    }
}

/// Whether a price bills on a subscription in `currency` while `cadence`
/// is in force: active, and in both (a plan may gain prices in others
/// after it was subscribed).
pub fn bills_on(price: &PriceRow, currency: Currency, cadence: Cadence) -> bool {
    price.status == RecordStatus::Active
        && price.currency == currency
        && price.billing_period == cadence.unit
        && u32::try_from(price.billing_period_count) == Ok(cadence.count)
}

/// A subscription's phases from its stored ones (sorted by start): a
/// subscription never changed has one, its plan from its start.
pub fn phases_of(subscription: &SubscriptionRow, stored: &[PhaseRow]) -> Vec<Phase> {
    if stored.is_empty() {
        return vec![Phase {
            starts_at: subscription.start_at,
            plan_id: subscription.plan_id,
            quantities: BTreeMap::new(),
        }];
    }
    stored
        .iter()
        .map(|row| Phase {
            starts_at: row.starts_at,
            plan_id: row.plan_id,
            quantities: quantities_from_json(&row.quantities),
        })
        .collect()
}

/// The phases of each of `subscriptions` (see [`phases_of`]), reading the
/// stored ones only for those ever changed: one statement, or none.
pub async fn phases_by_subscription(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    subscriptions: &[SubscriptionRow],
) -> diesel::QueryResult<HashMap<Uuid, Vec<Phase>>> {
    let changed: Vec<Uuid> = subscriptions.iter().filter(|s| s.phased).map(|s| s.id).collect();
    let mut stored: HashMap<Uuid, Vec<PhaseRow>> = HashMap::new();
    if !changed.is_empty() {
        for row in phase_rows::phases_of(conn, tenant_id, &changed).await? {
            stored.entry(row.subscription_id).or_default().push(row);
        }
    }
    Ok(subscriptions
        .iter()
        .map(|s| {
            (
                s.id,
                phases_of(s, stored.get(&s.id).map(Vec::as_slice).unwrap_or_default()),
            )
        })
        .collect())
}

/// Stored quantities, written by `quantities_to_json` from validated values.
fn quantities_from_json(value: &serde_json::Value) -> BTreeMap<Uuid, Decimal> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(id, q)| Some((id.parse().ok()?, q.as_str()?.parse().ok()?)))
        .collect()
}

pub fn quantities_to_json(quantities: &BTreeMap<Uuid, Decimal>) -> serde_json::Value {
    serde_json::Value::Object(
        quantities
            .iter()
            .map(|(id, q)| (id.to_string(), serde_json::Value::String(q.to_string())))
            .collect(),
    )
}

/// The terms each phase overlapping `period` bills on: its plan's prices
/// that bill on the subscription (see [`bills_on`]), picked out of
/// `prices` (which may hold other plans' too), with the phase's quantities.
pub fn phase_terms(
    subscription: &SubscriptionRow,
    phases: &[Phase],
    prices: &[PriceRow],
    period: Period,
) -> Vec<PhaseTerms> {
    let life = lifecycle_of(subscription);
    let terms_of = |phase: &Phase, price: &PriceRow| {
        Some(match price_terms(price)? {
            PriceTerms::Fixed {
                amount,
                quantity,
                in_advance,
                proration,
            } => PriceTerms::Fixed {
                amount,
                quantity: phase.quantities.get(&price.id).copied().unwrap_or(quantity),
                in_advance,
                proration,
            },
            usage => usage,
        })
    };
    phases_in(phases, period)
        .into_iter()
        .map(|(phase, span)| {
            // A change of billing period switches the prices that bill.
            let (_, cadence) = rules::rule_at(&life, span.start);
            PhaseTerms {
                plan_id: phase.plan_id,
                span,
                prices: prices
                    .iter()
                    .filter(|p| p.plan_id == phase.plan_id && bills_on(p, subscription.currency, cadence))
                    .filter_map(|p| Some((p.id, terms_of(phase, p)?)))
                    .collect(),
            }
        })
        .collect()
}

/// The one currency and cadence all of a plan's active prices share; a
/// subscription bills in exactly one of each.
pub(crate) fn plan_terms(prices: &[PriceRow]) -> AppResult<(Currency, Cadence)> {
    let active: Vec<&PriceRow> = prices.iter().filter(|p| p.status == RecordStatus::Active).collect();
    let first = active
        .first()
        .ok_or_else(|| AppError::validation("input.planId", "plan has no active prices"))?;
    let mixed = active.iter().any(|p| {
        p.currency != first.currency
            || p.billing_period != first.billing_period
            || p.billing_period_count != first.billing_period_count
    });
    if mixed {
        return Err(AppError::validation(
            "input.planId",
            "plan's active prices mix currencies or billing periods; a subscription bills in one of each",
        ));
    }
    Ok((
        first.currency,
        cadence_of(first.billing_period, first.billing_period_count),
    ))
}

pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: SubscriptionDraft) -> AppResult<SubscriptionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let customer = live_customer_for_update(conn, tenant_id, draft.customer_id).await?;
        if draft.payer == Payer::Parent && customer.parent_customer_id.is_none() {
            return Err(AppError::validation(
                "input.payer",
                "PARENT needs a customer with a parent to pay for it",
            ));
        }
        // Locked, so a price in another currency cannot be added meanwhile.
        let plan = plans::plan_for_update(conn, tenant_id, draft.plan_id)
            .await?
            .ok_or_else(|| AppError::not_found("plan"))?;
        if plan.status != RecordStatus::Active {
            return Err(AppError::conflict("plan is archived"));
        }
        let prices = plans::prices_of_plans(conn, tenant_id, &[plan.id]).await?;
        let (currency, cadence) = plan_terms(&prices)?;
        let first_paid = rules::default_anchor(draft.start_at, draft.trial_days);
        let anchor = match draft.billing_anchor {
            Some(anchor) => rules::validate_anchor("input.billingAnchor", anchor, first_paid, cadence)?,
            None => first_paid,
        };
        let now = Utc::now();
        let row = SubscriptionRow {
            tenant_id,
            id: Uuid::now_v7(),
            customer_id: customer.id,
            plan_id: plan.id,
            payer: draft.payer,
            currency,
            billing_period: cadence.unit,
            billing_period_count: cadence.count as i32,
            start_at: draft.start_at,
            billing_anchor: anchor,
            trial_end: (draft.trial_days > 0).then_some(first_paid),
            paused_at: None,
            ends_at: None,
            cancelled_at: None,
            created_at: now,
            updated_at: now,
            // The start is the first boundary: fees billed in advance.
            next_billing_at: Some(draft.start_at),
            phased: false,
            cut_at: None,
            cut_anchor: None,
            cut_billing_period: None,
            cut_billing_period_count: None,
        };
        let row = subscriptions::insert(conn, &row).await?;
        if draft.collection_method.is_some() {
            crate::db::providers::set_subscription_collection_method(conn, tenant_id, row.id, draft.collection_method)
                .await?;
        }
        emit_subscription(conn, EventType::SubscriptionCreated, &row).await?;
        Ok(row)
    })
    .await
}

fn conflict(refusal: Refusal) -> AppError {
    AppError::conflict(refusal.0)
}

/// A lifecycle change a client asks for. A chosen instant (`at`) may lie in
/// the past, back to the last invoiced boundary; pauses and resumes cannot
/// be scheduled ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Ends the subscription now, at the end of its current period, or at
    /// a chosen instant.
    Cancel(CancelAt),
    /// Stops charges from accruing (from `at`, or now) until resumed.
    Pause { at: Option<DateTime<Utc>> },
    /// Closes the open pause (at `at`, or now); its stretch of time stays
    /// exempt from charges.
    Resume { at: Option<DateTime<Utc>> },
}

/// The instant a change takes effect: now, or the client's `at` once checked.
fn effective_at(
    row: &SubscriptionRow,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    scheduled: bool,
) -> AppResult<DateTime<Utc>> {
    let Some(at) = at else { return Ok(now) };
    let through = rules::billed_through(&lifecycle_of(row), row.next_billing_at);
    Ok(rules::validate_change_at(
        "at",
        at,
        through.max(row.start_at),
        now,
        !scheduled,
    )?)
}

/// Applies one lifecycle change to the locked subscription and stores it.
pub async fn change(pool: &DbPool, tenant_id: Uuid, id: Uuid, change: Change) -> AppResult<SubscriptionRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let mut row = subscriptions::for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription"))?;
        let now = Utc::now();
        let life = lifecycle_of(&row);
        match change {
            Change::Cancel(when) => {
                let when = match when {
                    CancelAt::At(at) => CancelAt::At(effective_at(&row, Some(at), now, true)?),
                    other => other,
                };
                let end = rules::cancellation_end(&life, now, when).map_err(conflict)?;
                row.ends_at = Some(end);
                row.cancelled_at = Some(now);
                // The end becomes the last boundary to invoice.
                row.next_billing_at = row.next_billing_at.map(|next| next.min(end));
            }
            Change::Pause { at } => {
                rules::check_pause(&life, now).map_err(conflict)?;
                let at = effective_at(&row, at, now, false)?;
                // Pauses never overlap: a new one starts after the last one ended.
                let last_end = subscriptions::pauses_of(conn, tenant_id, &[row.id])
                    .await?
                    .iter()
                    .map(|p| p.ended_at)
                    .max();
                if let Some(last_end) = last_end.filter(|end| at < *end) {
                    return Err(AppError::validation(
                        "at",
                        format!("must not be before the last pause ended ({})", last_end.to_rfc3339()),
                    ));
                }
                if row.ends_at.is_some_and(|end| at >= end) {
                    return Err(AppError::validation("at", "must be before the subscription ends"));
                }
                row.paused_at = Some(at);
            }
            Change::Resume { at } => {
                rules::check_resume(&life, now).map_err(conflict)?;
                let at = effective_at(&row, at, now, false)?;
                if row.paused_at.is_some_and(|paused| at < paused) {
                    return Err(AppError::validation("at", "must not be before the pause started"));
                }
                close_pause(conn, &mut row, at).await?;
            }
        }
        let row = subscriptions::update_lifecycle(conn, &row, now).await?;
        let event = match change {
            Change::Cancel(_) => EventType::SubscriptionCancelled,
            Change::Pause { .. } => EventType::SubscriptionPaused,
            Change::Resume { .. } => EventType::SubscriptionResumed,
        };
        emit_subscription(conn, event, &row).await?;
        Ok(row)
    })
    .await
}

async fn close_pause(conn: &mut AsyncPgConnection, row: &mut SubscriptionRow, now: DateTime<Utc>) -> AppResult<()> {
    if let Some(started_at) = row.paused_at.take()
        && started_at < now
    {
        let pause = PauseRow {
            tenant_id: row.tenant_id,
            subscription_id: row.id,
            started_at,
            ended_at: now,
        };
        subscriptions::insert_pause(conn, &pause).await?;
    }
    Ok(())
}
