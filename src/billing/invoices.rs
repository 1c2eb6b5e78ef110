//! Invoices: assembly, finalization (usage recomputed, number assigned,
//! the payer's credit balance then wallet credits applied, amounts frozen),
//! voiding and one-off invoices.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::adjustments::{self, Purpose};
use crate::billing::credit_balance::{self, LockedBalances, Movement};
use crate::billing::wallets;
use crate::config::BillingSettings;
use crate::customers::live_customer_for_update;
use crate::db::invoice_adjustments;
use crate::db::invoices::{self as rows, InvoiceRow, LineRow};
use crate::db::json_text::JsonText;
use crate::db::parties;
use crate::db::usage::{self, QuantityRequest};
use crate::db::wallets as wallet_rows;
use crate::db::{DbPool, connection, plans, subscriptions};
use crate::documents::parties::PartySnapshot;
use crate::domain::credit_balance::{CreditBalanceReason, settle_with_balance};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::invoice::PaymentStatus;
use crate::domain::invoice::{format_invoice_number, totals, totals_of_charge};
use crate::domain::money::{AmountOverflow, Currency};
use crate::domain::outbox::{EventType, newly_paid};
use crate::domain::period::Period;
use crate::domain::phase::{Phase, clip, phases_in};
use crate::domain::pricing::{Charge, price_usage};
use crate::domain::subscription as rules;
use crate::error::{AppError, AppResult};
use crate::hosted_links::HostedLinks;
use crate::outbox::objects::{emit_finalized_invoices, emit_invoice, emit_invoices};
use crate::outbox::views::invoice_payment_status;
use crate::plans::model_json;
use crate::subscriptions::{lifecycle_of, phases_by_subscription};

/// Drafts finalized per transaction by the billing run.
const FINALIZE_BATCH: i64 = 100;

/// A line before it is stored.
pub struct NewLine {
    pub description: String,
    /// The customer the charge is for.
    pub customer_id: Uuid,
    pub price_id: Option<Uuid>,
    pub meter_id: Option<Uuid>,
    pub charge: Charge,
    pub period: Option<Period>,
    /// The billable fraction of its period a prorated fixed fee bills.
    pub proration_fraction: Option<Decimal>,
}

/// A new draft invoice and its lines; amounts are added up here, once.
/// Refused when the lines add up beyond what a Decimal holds.
#[allow(clippy::too_many_arguments)]
pub fn build_invoice(
    tenant_id: Uuid,
    customer_id: Uuid,
    subscription_id: Option<Uuid>,
    currency: Currency,
    period: Option<Period>,
    lines: Vec<NewLine>,
    finalize_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(InvoiceRow, Vec<LineRow>), AmountOverflow> {
    let id = Uuid::now_v7();
    let amounts: Vec<Decimal> = lines.iter().map(|l| l.charge.amount).collect();
    let sums = totals(&amounts, Decimal::ZERO, Decimal::ZERO, currency)?;
    let invoice = InvoiceRow {
        tenant_id,
        id,
        customer_id,
        subscription_id,
        status: InvoiceStatus::Draft,
        number: None,
        currency,
        period_start: period.map(|p| p.start),
        period_end: period.map(|p| p.end),
        subtotal: sums.subtotal,
        credits_applied: sums.credits_applied,
        total: sums.total,
        amount_paid: sums.amount_paid,
        finalize_after,
        issued_at: None,
        due_at: None,
        finalized_at: None,
        voided_at: None,
        created_at: now,
        updated_at: now,
        credit_balance_applied: Decimal::ZERO,
        credit_note_total: Decimal::ZERO,
        amount_credited: Decimal::ZERO,
        discount_total: Decimal::ZERO,
        tax_total: Decimal::ZERO,
        tax_added: Decimal::ZERO,
        billed_to: None,
        issued_by: None,
    };
    let lines = (0..)
        .zip(lines)
        .map(|(position, line)| LineRow {
            tenant_id,
            id: Uuid::now_v7(),
            invoice_id: id,
            position,
            customer_id: line.customer_id,
            price_id: line.price_id,
            meter_id: line.meter_id,
            description: line.description,
            quantity: line.charge.quantity,
            unit_amount: line.charge.unit_amount,
            amount: line.charge.amount,
            period_start: line.period.map(|p| p.start),
            period_end: line.period.map(|p| p.end),
            proration_fraction: line.proration_fraction,
            discount_amount: Decimal::ZERO,
            tax_amount: Decimal::ZERO,
            tax_added: Decimal::ZERO,
        })
        .collect();
    Ok((invoice, lines))
}

/// The end of a draft's grace period, from `now`.
pub fn grace_end(settings: &BillingSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    chrono::Duration::from_std(settings.invoice_grace)
        .ok()
        .and_then(|grace| now.checked_add_signed(grace))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What one batch of finalization did.
pub struct FinalizedBatch {
    /// Drafts the batch looked at; 0 when none were due.
    pub due: usize,
    pub finalized: usize,
    /// Drafts left as they are because a recomputed charge exceeds the
    /// amount bound; logged, and skipped for the rest of the run.
    pub refused: Vec<Uuid>,
}

/// Finalizes the drafts whose grace is over, except those in `skip`.
pub async fn finalize_due_batch(
    pool: &DbPool,
    settings: &BillingSettings,
    links: &HostedLinks,
    now: DateTime<Utc>,
    skip: &[Uuid],
) -> AppResult<FinalizedBatch> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let drafts = rows::due_drafts_for_update(conn, now, skip, FINALIZE_BATCH).await?;
        let due = drafts.len();
        let (finalized, refused) = finalize_locked(conn, settings, links, drafts, now).await?;
        for (invoice, why) in &refused {
            tracing::error!(%invoice, error = %why, "invoice left as a draft: a charge exceeds the amount bound");
        }
        Ok(FinalizedBatch {
            due,
            finalized: finalized.len(),
            refused: refused.into_iter().map(|(id, _)| id).collect(),
        })
    })
    .await
}

/// Emits invoice.overdue for up to one batch of invoices that became
/// overdue by `now` (finalized, unpaid, past their due date), each exactly
/// once; returns how many. The run calls it until it returns 0.
pub async fn announce_overdue_batch(pool: &DbPool, now: DateTime<Utc>) -> AppResult<usize> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let overdue = rows::mark_overdue_announced(conn, now, FINALIZE_BATCH).await?;
        let mut tenants: Vec<Uuid> = overdue.iter().map(|i| i.tenant_id).collect();
        tenants.sort();
        tenants.dedup();
        let mut lines = Vec::new();
        for tenant_id in tenants {
            let ids: Vec<Uuid> = overdue
                .iter()
                .filter(|i| i.tenant_id == tenant_id)
                .map(|i| i.id)
                .collect();
            lines.extend(rows::lines_of(conn, tenant_id, &ids).await?);
        }
        let all: Vec<&InvoiceRow> = overdue.iter().collect();
        emit_invoices(conn, EventType::InvoiceOverdue, &all, &lines).await?;
        Ok(overdue.len())
    })
    .await
}

/// Finalizes a draft now (finalizeInvoice).
pub async fn finalize(
    pool: &DbPool,
    settings: &BillingSettings,
    links: &HostedLinks,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<InvoiceRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let invoice = rows::invoice_for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice"))?;
        if invoice.status != InvoiceStatus::Draft {
            return Err(AppError::conflict(format!(
                "invoice is {}; only a DRAFT can be finalized",
                invoice.status
            )));
        }
        let (mut finalized, mut refused) = finalize_locked(conn, settings, links, vec![invoice], Utc::now()).await?;
        if let Some((_, why)) = refused.pop() {
            return Err(why.into());
        }
        finalized.pop().ok_or_else(|| AppError::not_found("invoice"))
    })
    .await
}

/// Recomputes usage lines (late events count until now), assigns the next
/// numbers in the given order, lets each payer's credit balance and then
/// its wallets pay what they can, keeps the negative part of a subtotal
/// below zero on the payer's credit balance, and freezes the amounts. The
/// invoices are locked by the caller; their lines and usage are read for
/// all of them at once. A draft whose recomputed charges exceed the amount
/// bound is returned with why, and left untouched: it takes no number, so
/// numbers stay gapless.
///
/// Locks are taken in one order everywhere money moves: invoices, the
/// invoice counter, credit balances (all the batch's payers at once, in
/// key order), then wallets.
async fn finalize_locked(
    conn: &mut AsyncPgConnection,
    settings: &BillingSettings,
    links: &HostedLinks,
    drafts: Vec<InvoiceRow>,
    now: DateTime<Utc>,
) -> AppResult<(Vec<InvoiceRow>, Vec<(Uuid, AmountOverflow)>)> {
    let mut tenants: Vec<Uuid> = drafts.iter().map(|d| d.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    // The drafts with their discounts and taxes worked out.
    let mut adjusted: HashMap<Uuid, InvoiceRow> = HashMap::new();
    let mut issuers: HashMap<Uuid, JsonText> = HashMap::new();
    let mut recipients: HashMap<(Uuid, Uuid), JsonText> = HashMap::new();
    let mut numbers: HashMap<Uuid, i64> = HashMap::new();
    let mut wallet_holders: HashSet<(Uuid, Currency)> = HashSet::new();
    let mut balances = LockedBalances::default();
    let mut refused: Vec<(Uuid, AmountOverflow)> = Vec::new();
    // The lines as finalized, for the events.
    let mut final_lines: Vec<LineRow> = Vec::new();
    for tenant_id in tenants {
        let of_tenant: Vec<&InvoiceRow> = drafts.iter().filter(|d| d.tenant_id == tenant_id).collect();
        let ids: Vec<Uuid> = of_tenant.iter().map(|d| d.id).collect();
        let mut lines = rows::lines_of(conn, tenant_id, &ids).await?;
        let overflowed = recompute_usage(conn, tenant_id, &of_tenant, &mut lines).await?;
        let of_tenant: Vec<&InvoiceRow> = of_tenant
            .into_iter()
            .filter(|d| !overflowed.iter().any(|(id, _)| *id == d.id))
            .collect();
        refused.extend(overflowed);
        // Discounts and taxes on the recomputed lines, with the discounts
        // and rates as they are now; the discounts count this period.
        let mut adjusting: Vec<InvoiceRow> = of_tenant.iter().map(|d| (*d).clone()).collect();
        let ids: Vec<Uuid> = adjusting.iter().map(|d| d.id).collect();
        lines.retain(|line| ids.contains(&line.invoice_id));
        let computed = adjustments::compute(conn, tenant_id, &mut adjusting, &mut lines, Purpose::Finalize).await?;
        let changed: Vec<LineRow> = lines
            .iter()
            .filter(|line| computed.changed_lines.contains(&line.id))
            .cloned()
            .collect();
        invoice_adjustments::replace(conn, tenant_id, &ids, &computed.rows, &changed).await?;
        invoice_adjustments::count_periods(conn, tenant_id, &computed.applied_discounts).await?;
        for invoice in adjusting {
            adjusted.insert(invoice.id, invoice);
        }
        final_lines.extend(lines);
        let first = rows::take_invoice_numbers(conn, tenant_id, of_tenant.len() as i64).await?;
        numbers.insert(tenant_id, first);
        let mut payers: Vec<Uuid> = of_tenant.iter().map(|d| d.customer_id).collect();
        payers.sort();
        payers.dedup();
        balances.lock(conn, tenant_id, &payers).await?;
        // Who issues and who receives each invoice, as they are now.
        issuers.insert(
            tenant_id,
            PartySnapshot::of_tenant(&crate::db::tenants::settings(conn, tenant_id).await?).to_stored(),
        );
        for payer in parties::customer_parties(conn, tenant_id, &payers).await? {
            recipients.insert((tenant_id, payer.id), PartySnapshot::of_customer(&payer).to_stored());
        }
        // Only payers holding a wallet need their wallets locked.
        for (customer, currency) in wallet_rows::active_wallet_holders(conn, tenant_id, &payers).await? {
            wallet_holders.insert((customer, currency));
        }
    }
    let mut finalized = Vec::with_capacity(drafts.len());
    for draft in drafts {
        if refused.iter().any(|(id, _)| *id == draft.id) {
            continue;
        }
        let Some(mut invoice) = adjusted.remove(&draft.id) else {
            continue;
        };
        let currency = invoice.currency;
        // Numbers follow the drafts' order within each tenant.
        let next = numbers.entry(invoice.tenant_id).or_default();
        let number = *next;
        *next += 1;
        let charged = invoice.charged();
        let (tenant_id, payer) = (invoice.tenant_id, invoice.customer_id);
        let settlement = settle_with_balance(charged, balances.available(tenant_id, payer, currency), currency);
        let movement = |amount, reason| Movement {
            customer_id: payer,
            currency,
            amount,
            reason,
            invoice_id: invoice.id,
            credit_note_id: None,
        };
        if settlement.applied > Decimal::ZERO {
            let spent = movement(settlement.applied, CreditBalanceReason::InvoicePayment);
            balances.record(conn, tenant_id, spent, now).await?;
        }
        if settlement.granted > Decimal::ZERO {
            let kept = movement(settlement.granted, CreditBalanceReason::NegativeInvoice);
            balances.record(conn, tenant_id, kept, now).await?;
        }
        let left = charged.max(Decimal::ZERO) - settlement.applied;
        let wallet_credits = if left > Decimal::ZERO && wallet_holders.contains(&(payer, currency)) {
            wallets::pay_invoice(conn, tenant_id, payer, currency, invoice.id, left, now).await?
        } else {
            Decimal::ZERO
        };
        // Both kinds of prepaid credit come off what the invoice charges;
        // they are shown apart.
        let sums = totals_of_charge(
            invoice.subtotal,
            charged,
            settlement.applied + wallet_credits,
            Decimal::ZERO,
            currency,
        );
        invoice.status = InvoiceStatus::Finalized;
        invoice.number = Some(format_invoice_number(number));
        invoice.issued_by = issuers.get(&tenant_id).cloned();
        invoice.billed_to = recipients.get(&(tenant_id, payer)).cloned();
        invoice.credit_balance_applied = settlement.applied;
        invoice.credits_applied = sums.credits_applied - settlement.applied;
        invoice.total = sums.total;
        invoice.amount_paid = Decimal::ZERO;
        invoice.issued_at = Some(now);
        invoice.due_at = Some(crate::domain::invoice::due_at(now, settings.net_terms_days));
        invoice.finalized_at = Some(now);
        invoice.updated_at = now;
        finalized.push(invoice);
    }
    rows::save_finalized(conn, &finalized).await?;
    let all: Vec<&InvoiceRow> = finalized.iter().collect();
    emit_finalized_invoices(conn, &all, &final_lines, links).await?;
    // Covered by credits, or with nothing to pay: settled as it is issued.
    let paid: Vec<&InvoiceRow> = all
        .into_iter()
        .filter(|i| newly_paid(PaymentStatus::Pending, invoice_payment_status(i)))
        .collect();
    emit_invoices(conn, EventType::InvoicePaid, &paid, &final_lines).await?;
    // Invoices of payers who collect automatically are charged by the
    // provider worker; queued here so a finalized invoice is never missed.
    let (tenants, chargeable): (Vec<Uuid>, Vec<Uuid>) = finalized
        .iter()
        .filter(|i| i.amount_due() > Decimal::ZERO)
        .map(|i| (i.tenant_id, i.id))
        .unzip();
    crate::db::providers::queue_first_charges(conn, &tenants, &chargeable, now).await?;
    Ok((finalized, refused))
}

/// The subscription facts a usage line is recomputed from.
struct UsageContext {
    life: rules::Lifecycle,
    pauses: Vec<Period>,
    /// Its plans over time: a usage line counts only the stretches its
    /// price's plan was in force, as the billing run measured it.
    phases: Vec<Phase>,
    currency: Currency,
}

/// Prices the usage lines of one tenant's invoices again over the same
/// stretches of time, so events that arrived during the grace period are
/// billed; one usage statement for all of them. Returns the invoices with a
/// line that now exceeds the amount bound; their lines are not changed.
async fn recompute_usage(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoices: &[&InvoiceRow],
    lines: &mut [LineRow],
) -> AppResult<Vec<(Uuid, AmountOverflow)>> {
    let subscription_of: HashMap<Uuid, Uuid> = invoices
        .iter()
        .filter_map(|i| Some((i.id, i.subscription_id?)))
        .collect();
    let usage_lines: Vec<usize> = (0..lines.len())
        .filter(|i| {
            let line = &lines[*i];
            line.meter_id.is_some() && line.price_id.is_some() && subscription_of.contains_key(&line.invoice_id)
        })
        .collect();
    if usage_lines.is_empty() {
        return Ok(Vec::new());
    }
    let subscription_ids: Vec<Uuid> = subscription_of.values().copied().collect();
    let mut pauses: HashMap<Uuid, Vec<Period>> = HashMap::new();
    for p in subscriptions::pauses_of(conn, tenant_id, &subscription_ids).await? {
        pauses.entry(p.subscription_id).or_default().push(p.period());
    }
    let rows = subscriptions::by_ids(conn, tenant_id, &subscription_ids).await?;
    let mut phases = phases_by_subscription(conn, tenant_id, &rows).await?;
    let mut contexts: HashMap<Uuid, UsageContext> = HashMap::new();
    for subscription in rows {
        let context = UsageContext {
            life: lifecycle_of(&subscription),
            pauses: pauses.remove(&subscription.id).unwrap_or_default(),
            phases: phases.remove(&subscription.id).unwrap_or_default(),
            currency: subscription.currency,
        };
        contexts.insert(subscription.id, context);
    }
    let price_ids: Vec<Uuid> = usage_lines.iter().filter_map(|i| lines[*i].price_id).collect();
    let prices: HashMap<Uuid, _> = plans::prices_by_ids(conn, tenant_id, &price_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let context_of = |line: &LineRow| subscription_of.get(&line.invoice_id).and_then(|s| contexts.get(s));
    let intervals: Vec<Vec<(DateTime<Utc>, DateTime<Utc>)>> = usage_lines
        .iter()
        .map(|i| {
            let line = &lines[*i];
            let plan = line.price_id.and_then(|id| prices.get(&id)).map(|p| p.plan_id);
            match (context_of(line), line.period_start, line.period_end, plan) {
                (Some(context), Some(start), Some(end), Some(plan)) => {
                    let period = Period { start, end };
                    let billable = rules::billable_intervals(&context.life, period, &context.pauses, end);
                    phases_in(&context.phases, period)
                        .into_iter()
                        .filter(|(phase, _)| phase.plan_id == plan)
                        .flat_map(|(_, span)| clip(&billable, span))
                        .map(|p| (p.start, p.end))
                        .collect()
                }
                _ => Vec::new(),
            }
        })
        .collect();
    let meters: Vec<[Uuid; 1]> = usage_lines
        .iter()
        .map(|i| [lines[*i].meter_id.unwrap_or_default()])
        .collect();
    let requests: Vec<QuantityRequest> = usage_lines
        .iter()
        .zip(&intervals)
        .zip(&meters)
        .map(|((i, intervals), meter)| QuantityRequest {
            customer_id: lines[*i].customer_id,
            intervals,
            meter_ids: meter,
        })
        .collect();
    let quantities = usage::quantities(conn, tenant_id, &requests).await?;
    let mut changed = Vec::new();
    let mut overflowed: Vec<(Uuid, AmountOverflow)> = Vec::new();
    for ((i, meter), quantity) in usage_lines.iter().zip(&meters).zip(quantities) {
        let Some(currency) = context_of(&lines[*i]).map(|c| c.currency) else {
            continue;
        };
        let line = &mut lines[*i];
        let model = line
            .price_id
            .and_then(|id| prices.get(&id))
            .and_then(|p| model_json::from_json(p.billing_model?, p.model.as_ref()?));
        let Some(model) = model else { continue };
        let charge = match price_usage(&model, quantity.get(&meter[0]).copied().unwrap_or_default(), currency) {
            Ok(charge) => charge,
            Err(why) => {
                overflowed.push((line.invoice_id, why));
                continue;
            }
        };
        if charge.quantity != line.quantity || charge.amount != line.amount {
            line.quantity = charge.quantity;
            line.unit_amount = charge.unit_amount;
            line.amount = charge.amount;
            changed.push(line.clone());
        }
    }
    changed.retain(|line| !overflowed.iter().any(|(id, _)| *id == line.invoice_id));
    rows::update_line_amounts(conn, &changed).await?;
    Ok(overflowed)
}

/// Voids an invoice that has no payments and no credit notes (money the
/// customer paid goes back through a credit note instead). What it took
/// from the credit balance and the wallets goes back to them; what a
/// negative invoice added to the credit balance is taken back, if it is
/// still there.
pub async fn void(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<InvoiceRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let mut invoice = rows::invoice_for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice"))?;
        if invoice.status == InvoiceStatus::Voided {
            return Err(AppError::conflict("invoice is already voided"));
        }
        if invoice.amount_paid > Decimal::ZERO {
            return Err(AppError::conflict(
                "invoice has payments; issue a credit note (createCreditNote) instead",
            ));
        }
        if invoice.credit_note_total > Decimal::ZERO {
            return Err(AppError::conflict(
                "invoice has credit notes; it cannot be voided (credit what is left with createCreditNote)",
            ));
        }
        let now = Utc::now();
        if invoice.status == InvoiceStatus::Finalized {
            return_credit_balance(conn, &invoice, now).await?;
        }
        wallets::refund_invoice(conn, tenant_id, id, now).await?;
        invoice.status = InvoiceStatus::Voided;
        invoice.voided_at = Some(now);
        invoice.updated_at = now;
        let invoice = rows::save_invoice(conn, &invoice).await?;
        emit_invoice(conn, EventType::InvoiceVoided, &invoice).await?;
        Ok(invoice)
    })
    .await
}

/// Undoes what finalizing `invoice` did to its payer's credit balance.
async fn return_credit_balance(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let granted = (-invoice.charged()).max(Decimal::ZERO);
    if invoice.credit_balance_applied.is_zero() && granted.is_zero() {
        return Ok(());
    }
    let (tenant_id, payer, currency) = (invoice.tenant_id, invoice.customer_id, invoice.currency);
    let held = credit_balance::lock(conn, tenant_id, payer, currency, now).await?;
    let movement = |amount, reason| Movement {
        customer_id: payer,
        currency,
        amount,
        reason,
        invoice_id: invoice.id,
        credit_note_id: None,
    };
    if invoice.credit_balance_applied > Decimal::ZERO {
        let given_back = movement(invoice.credit_balance_applied, CreditBalanceReason::VoidRefund);
        credit_balance::record(conn, tenant_id, given_back, now).await?;
    }
    if granted > Decimal::ZERO {
        if held < granted {
            return Err(AppError::conflict(format!(
                "the {} {currency} this invoice added to the customer's credit balance has been spent; \
                 it cannot be voided",
                crate::domain::money::round_amount(granted, currency)
            )));
        }
        let taken_back = movement(granted, CreditBalanceReason::VoidReversal);
        credit_balance::record(conn, tenant_id, taken_back, now).await?;
    }
    Ok(())
}

/// A manual charge: quantity times unit amount, rounded once per line.
pub struct OneOffLine {
    pub description: String,
    pub unit_amount: Decimal,
    pub quantity: Decimal,
}

/// A draft invoice of manual charges for an active customer.
pub async fn create_one_off(
    pool: &DbPool,
    settings: &BillingSettings,
    tenant_id: Uuid,
    customer_id: Uuid,
    currency: Currency,
    lines: Vec<OneOffLine>,
) -> AppResult<InvoiceRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        live_customer_for_update(conn, tenant_id, customer_id).await?;
        let now = Utc::now();
        let new_lines = lines
            .into_iter()
            .map(|l| {
                Ok(NewLine {
                    description: l.description,
                    customer_id,
                    price_id: None,
                    meter_id: None,
                    charge: crate::domain::pricing::price_fixed(l.unit_amount, l.quantity, currency)?,
                    period: None,
                    proration_fraction: None,
                })
            })
            .collect::<Result<_, AmountOverflow>>()?;
        let (invoice, mut lines) = build_invoice(
            tenant_id,
            customer_id,
            None,
            currency,
            None,
            new_lines,
            grace_end(settings, now),
            now,
        )?;
        let mut invoices = [invoice];
        let computed = adjustments::compute(conn, tenant_id, &mut invoices, &mut lines, Purpose::Draft).await?;
        let [invoice] = invoices;
        rows::insert_invoices(conn, std::slice::from_ref(&invoice)).await?;
        rows::insert_lines(conn, &lines).await?;
        invoice_adjustments::insert(conn, &computed.rows).await?;
        emit_invoices(conn, EventType::InvoiceCreated, &[&invoice], &lines).await?;
        Ok(invoice)
    })
    .await
}
