//! The billing run: every subscription boundary that has passed becomes one
//! invoice, and drafts whose grace period is over are finalized.
//!
//! Work is taken in batches of subscriptions locked with SKIP LOCKED, so
//! any number of runs (server workers, `billgraph bill`) share it without
//! waiting on each other. A batch is one transaction: its invoices, their
//! lines and the subscriptions' billing cursors commit together or not at
//! all, and the unique index on (subscription, period end) refuses a second
//! invoice for a boundary whatever happens.
//!
//! One run bills at most `max_boundaries_per_run` boundaries of any one
//! subscription (a subscription started long ago has one per period since),
//! so a backlog never keeps a run, and the tenants behind it, waiting; the
//! next run continues from the subscription's billing cursor. A boundary
//! whose charges exceed the amount bound is logged and left unbilled, its
//! cursor unmoved, without holding up the other subscriptions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::adjustments::{self, Purpose};
use crate::billing::invoices::{self, NewLine, build_invoice};
use crate::billing::wallets;
use crate::config::BillingSettings;
use crate::db::billed_fees::{Stretch, billed_fees};
use crate::db::invoice_adjustments::{self, AdjustmentRows};
use crate::db::invoices::{self as invoice_rows, InvoiceRow, LineRow};
use crate::db::subscriptions::{self, SubscriptionRow};
use crate::db::usage::{self, QuantityRequest};
use crate::db::{DbPool, connection, meters, plans};
use crate::domain::charges::{Advance, Arrears, PhaseTerms, PlanUsage, boundary_lines, usage_groups};
use crate::domain::money::AmountOverflow;
use crate::domain::outbox::EventType;
use crate::domain::period::Period;
use crate::domain::proration::PeriodShare;
use crate::domain::subscription::{self as rules, Payer};
use crate::error::{AppError, AppResult};
use crate::hosted_links::HostedLinks;
use crate::outbox::objects::emit_invoices;
use crate::subscriptions::{lifecycle_of, phase_terms, phases_by_subscription};
use crate::telemetry::error_detail;
use crate::telemetry::metrics::{BillingCounts, METRICS};

/// Subscriptions billed per transaction.
const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Boundaries billed (a boundary with nothing to charge makes no invoice).
    pub boundaries: usize,
    pub invoices_created: usize,
    pub invoices_finalized: usize,
    /// Invoices found past due and announced (invoice.overdue).
    pub invoices_overdue: usize,
    pub credits_expired: u64,
    /// Subscriptions that reached the per-run bound with boundaries still
    /// due; the next run goes on with them.
    pub subscriptions_deferred: usize,
    /// Boundaries and drafts left alone because a charge exceeds the amount
    /// bound (each is logged).
    pub refused: usize,
}

/// "12 invoices created, 10 finalized, 3 overdue", then what else happened.
impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} invoices created, {} finalized, {} overdue",
            self.invoices_created, self.invoices_finalized, self.invoices_overdue
        )?;
        if self.credits_expired > 0 {
            write!(f, ", {} wallet credits expired", self.credits_expired)?;
        }
        if self.subscriptions_deferred > 0 {
            write!(
                f,
                ", {} subscriptions deferred to the next run",
                self.subscriptions_deferred
            )?;
        }
        if self.refused > 0 {
            write!(f, ", {} refused (a charge exceeds the amount bound)", self.refused)?;
        }
        Ok(())
    }
}

/// Bills the boundaries up to `until` (at most now), at most
/// `settings.max_boundaries_per_run` per subscription, finalizes the drafts
/// whose grace is over, and expires wallet credits that are due.
pub async fn run(
    pool: &DbPool,
    settings: &BillingSettings,
    links: &HostedLinks,
    until: DateTime<Utc>,
) -> AppResult<RunSummary> {
    let now = Utc::now();
    if until > now {
        return Err(AppError::validation("until", "must not be in the future"));
    }
    let mut summary = RunSummary::default();
    let mut billed: HashMap<Uuid, usize> = HashMap::new();
    // Subscriptions done for this run: at the bound, or refused.
    let mut skip: Vec<Uuid> = Vec::new();
    loop {
        let batch = bill_due_batch(pool, settings, until, &skip).await?;
        if batch.due == 0 {
            break;
        }
        summary.boundaries += batch.billed.len();
        summary.invoices_created += batch.invoices_created;
        summary.refused += batch.refused.len();
        skip.extend(batch.refused);
        for (subscription, next) in batch.billed {
            let count = billed.entry(subscription).or_default();
            *count += 1;
            if *count >= settings.max_boundaries_per_run {
                skip.push(subscription);
                if next.is_some_and(|next| next <= until) {
                    summary.subscriptions_deferred += 1;
                }
            }
        }
    }
    let mut skip_drafts: Vec<Uuid> = Vec::new();
    loop {
        let batch = invoices::finalize_due_batch(pool, settings, links, Utc::now(), &skip_drafts).await?;
        if batch.due == 0 {
            break;
        }
        summary.invoices_finalized += batch.finalized;
        summary.refused += batch.refused.len();
        skip_drafts.extend(batch.refused);
    }
    loop {
        let announced = invoices::announce_overdue_batch(pool, Utc::now()).await?;
        summary.invoices_overdue += announced;
        if announced == 0 {
            break;
        }
    }
    summary.credits_expired = wallets::expire_due_lots(pool, Utc::now()).await?;
    METRICS.record_billing_run(BillingCounts {
        invoices_created: summary.invoices_created as u64,
        invoices_finalized: summary.invoices_finalized as u64,
    });
    Ok(summary)
}

/// Runs the billing every `interval` until the process ends; failures are
/// logged and retried on the next tick.
pub fn spawn_worker(pool: DbPool, settings: BillingSettings, links: HostedLinks, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = Instant::now();
            match run(&pool, &settings, &links, Utc::now()).await {
                Ok(summary) if summary != RunSummary::default() => {
                    let ms = started.elapsed().as_millis();
                    tracing::info!("billing run: {summary} in {ms} ms");
                }
                Ok(_) => {}
                Err(e) => tracing::error!("billing run failed, will retry: {}", error_detail(&e)),
            }
        }
    });
}

/// What one batch did.
struct Batch {
    /// Subscriptions the batch looked at; 0 when none were due.
    due: usize,
    /// The subscriptions whose due boundary was billed, and their next one.
    billed: Vec<(Uuid, Option<DateTime<Utc>>)>,
    invoices_created: usize,
    /// The subscriptions whose due boundary was refused (and logged).
    refused: Vec<Uuid>,
}

/// One batch: the due boundary of each subscription not in `skip`.
async fn bill_due_batch(
    pool: &DbPool,
    settings: &BillingSettings,
    until: DateTime<Utc>,
    skip: &[Uuid],
) -> AppResult<Batch> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let due = invoice_rows::due_subscriptions_for_update(conn, until, skip, BATCH).await?;
        let mut by_tenant: HashMap<Uuid, Vec<SubscriptionRow>> = HashMap::new();
        for subscription in &due {
            by_tenant
                .entry(subscription.tenant_id)
                .or_default()
                .push(subscription.clone());
        }
        let now = Utc::now();
        let (mut invoices, mut lines, mut moves, mut refused) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut adjustments = AdjustmentRows::default();
        for (tenant_id, subs) in by_tenant {
            let (mut tenant_invoices, mut tenant_lines) = (Vec::new(), Vec::new());
            for (subscription, outcome) in bill_tenant(conn, settings, tenant_id, &subs, now).await? {
                match outcome {
                    Ok((next, invoice)) => {
                        moves.push((tenant_id, subscription, next));
                        if let Some((invoice, invoice_lines)) = invoice {
                            tenant_invoices.push(invoice);
                            tenant_lines.extend(invoice_lines);
                        }
                    }
                    Err(why) => {
                        tracing::error!(%subscription, error = %why, "boundary not billed: a charge exceeds the amount bound");
                        refused.push(subscription);
                    }
                }
            }
            let computed = adjustments::compute(conn, tenant_id, &mut tenant_invoices, &mut tenant_lines, Purpose::Draft).await?;
            adjustments.extend(computed.rows);
            invoices.extend(tenant_invoices);
            lines.extend(tenant_lines);
        }
        invoice_rows::insert_invoices(conn, &invoices).await?;
        invoice_rows::insert_lines(conn, &lines).await?;
        invoice_adjustments::insert(conn, &adjustments).await?;
        let created: Vec<&InvoiceRow> = invoices.iter().collect();
        emit_invoices(conn, EventType::InvoiceCreated, &created, &lines).await?;
        invoice_rows::advance_billing(conn, &moves).await?;
        Ok(Batch {
            due: due.len(),
            billed: moves.iter().map(|m| (m.1, m.2)).collect(),
            invoices_created: invoices.len(),
            refused,
        })
    })
    .await
}

/// The usage one plan of an ending period prices: its meters over the
/// stretches its phases were billable.
struct UsageNeed {
    plan_id: Uuid,
    intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    meter_ids: Vec<Uuid>,
}

/// A boundary's outcome for one subscription: its next boundary and the
/// invoice (None when the boundary charges nothing), or why it cannot be
/// billed; a refused boundary writes nothing.
type Billed = (
    Uuid,
    Result<(Option<DateTime<Utc>>, Option<(InvoiceRow, Vec<LineRow>)>), AmountOverflow>,
);

/// Bills the due boundary of each of one tenant's subscriptions, reading
/// prices, pauses, names, payers and usage in one statement each.
async fn bill_tenant(
    conn: &mut AsyncPgConnection,
    settings: &BillingSettings,
    tenant_id: Uuid,
    subs: &[SubscriptionRow],
    now: DateTime<Utc>,
) -> AppResult<Vec<Billed>> {
    let sub_ids: Vec<Uuid> = subs.iter().map(|s| s.id).collect();
    let phases = phases_by_subscription(conn, tenant_id, subs).await?;
    let mut plan_ids: Vec<Uuid> = phases.values().flatten().map(|p| p.plan_id).collect();
    plan_ids.sort();
    plan_ids.dedup();
    let prices = plans::prices_of_plans(conn, tenant_id, &plan_ids).await?;
    let plan_names: HashMap<Uuid, String> = plans::plans_by_ids(conn, tenant_id, &plan_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let plan_of_price: HashMap<Uuid, Uuid> = prices.iter().map(|p| (p.id, p.plan_id)).collect();
    let mut meter_ids: Vec<Uuid> = prices.iter().filter_map(|p| p.meter_id).collect();
    meter_ids.sort();
    meter_ids.dedup();
    let meter_names: HashMap<Uuid, String> = meters::find_by_ids(conn, tenant_id, &meter_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut pauses: HashMap<Uuid, Vec<Period>> = HashMap::new();
    for p in subscriptions::pauses_of(conn, tenant_id, &sub_ids).await? {
        pauses.entry(p.subscription_id).or_default().push(p.period());
    }
    let parent_paid: Vec<Uuid> = subs
        .iter()
        .filter(|s| s.payer == Payer::Parent)
        .map(|s| s.customer_id)
        .collect();
    let payers: HashMap<Uuid, Uuid> = if parent_paid.is_empty() {
        HashMap::new()
    } else {
        subscriptions::paying_ancestors(conn, tenant_id, &parent_paid, now)
            .await?
            .into_iter()
            .map(|r| (r.customer_id, r.payer_id))
            .collect()
    };

    // What each boundary bills, and the usage it needs: the period that
    // ends here as it turned out, the one that starts as it is expected to.
    struct Plan<'a> {
        sub: &'a SubscriptionRow,
        at: DateTime<Utc>,
        bill: rules::BoundaryBill,
        arrears: Option<(PeriodShare, Vec<PhaseTerms>)>,
        advance: Option<(PeriodShare, Vec<PhaseTerms>)>,
        /// Per plan of the ending period: its usage stretches and meters.
        usage: Vec<UsageNeed>,
    }
    let mut planned = Vec::with_capacity(subs.len());
    for sub in subs {
        let Some(at) = sub.next_billing_at else { continue };
        let life = lifecycle_of(sub);
        let bill = rules::bill_at(&life, at);
        let sub_pauses = pauses.get(&sub.id).map(Vec::as_slice).unwrap_or_default();
        let phases = phases.get(&sub.id).map(Vec::as_slice).unwrap_or_default();
        let arrears = bill.arrears.map(|period| {
            let share = rules::share_of(&life, period, sub_pauses, at);
            (share, phase_terms(sub, phases, &prices, period))
        });
        let advance = bill.advance.map(|period| {
            let share = rules::share_of(&life, period, sub_pauses, period.end);
            (share, phase_terms(sub, phases, &prices, period))
        });
        let usage = arrears
            .as_ref()
            .map(|(share, terms)| {
                usage_groups(terms, &share.billable)
                    .into_iter()
                    .map(|g| UsageNeed {
                        plan_id: g.plan_id,
                        intervals: g.stretches.iter().map(|i| (i.start, i.end)).collect(),
                        meter_ids: g.meter_ids,
                    })
                    .collect()
            })
            .unwrap_or_default();
        planned.push(Plan {
            sub,
            at,
            bill,
            arrears,
            advance,
            usage,
        });
    }
    // What the fixed fees of each ending period billed before (in advance).
    let stretches: Vec<Stretch> = planned
        .iter()
        .filter_map(|p| {
            let period = p.arrears.as_ref()?.0.period;
            Some(Stretch {
                subscription_id: p.sub.id,
                from: period.start,
                to: period.end,
            })
        })
        .collect();
    let mut billed_before: HashMap<Uuid, HashMap<Uuid, Decimal>> = HashMap::new();
    for fee in billed_fees(conn, tenant_id, &stretches).await? {
        billed_before
            .entry(fee.subscription_id)
            .or_default()
            .insert(fee.price_id, fee.amount);
    }
    // One usage request per plan of each ending period, answered in one statement.
    let requests: Vec<QuantityRequest> = planned
        .iter()
        .flat_map(|p| {
            p.usage.iter().map(|need| QuantityRequest {
                customer_id: p.sub.customer_id,
                intervals: &need.intervals,
                meter_ids: &need.meter_ids,
            })
        })
        .collect();
    let mut quantities = usage::quantities(conn, tenant_id, &requests).await?.into_iter();

    let mut billed = Vec::with_capacity(planned.len());
    for plan in &planned {
        let usage: PlanUsage = plan
            .usage
            .iter()
            .map(|need| (need.plan_id, quantities.next().unwrap_or_default()))
            .collect();
        let sub = plan.sub;
        let currency = sub.currency;
        let none_before = HashMap::new();
        let arrears = plan.arrears.as_ref().map(|(share, phases)| Arrears {
            share,
            phases,
            billed_before: billed_before.get(&sub.id).unwrap_or(&none_before),
        });
        let advance = plan.advance.as_ref().map(|(share, phases)| Advance { share, phases });
        let charged = match boundary_lines(&usage, arrears, advance, currency) {
            Ok(charged) => charged,
            Err(why) => {
                billed.push((sub.id, Err(why)));
                continue;
            }
        };
        let invoice = (!charged.is_empty()).then(|| {
            let payer = match sub.payer {
                Payer::Parent => payers.get(&sub.customer_id).copied().unwrap_or(sub.customer_id),
                Payer::Customer => sub.customer_id,
            };
            let new_lines: Vec<NewLine> = charged
                .into_iter()
                .map(|billed| NewLine {
                    description: {
                        let plan_name = || {
                            plan_of_price
                                .get(&billed.line.price_id)
                                .and_then(|plan| plan_names.get(plan))
                                .cloned()
                                .unwrap_or_default()
                        };
                        match billed.line.meter_id {
                            Some(meter) => meter_names.get(&meter).cloned().unwrap_or_default(),
                            None if billed.adjustment => format!("{} (adjustment)", plan_name()),
                            None => plan_name(),
                        }
                    },
                    customer_id: sub.customer_id,
                    price_id: Some(billed.line.price_id),
                    meter_id: billed.line.meter_id,
                    charge: billed.line.charge,
                    period: Some(billed.period),
                    proration_fraction: billed.line.proration_fraction,
                })
                .collect();
            let period = plan.bill.arrears.unwrap_or(Period {
                start: plan.at,
                end: plan.at,
            });
            build_invoice(
                tenant_id,
                payer,
                Some(sub.id),
                currency,
                Some(period),
                new_lines,
                invoices::grace_end(settings, now),
                now,
            )
        });
        let outcome = invoice.transpose().map(|invoice| (plan.bill.next, invoice));
        billed.push((sub.id, outcome));
    }
    Ok(billed)
}
