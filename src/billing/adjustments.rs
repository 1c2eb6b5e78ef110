//! Discounts and taxes on invoices: which apply to each invoice (its
//! payer's and its subscription's discounts, its payer's tax rates), the
//! arithmetic of `domain::adjustments` on its lines, and the rows that
//! record the result.

use std::collections::{HashMap, HashSet};

use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::coupons::{DiscountWithCoupon, discounts_for_invoicing};
use crate::db::invoice_adjustments::{AdjustmentRows, InvoiceDiscountRow, InvoiceTaxRow, LineDiscountRow, LineTaxRow};
use crate::db::invoices::{InvoiceRow, LineRow};
use crate::db::tax_rates::{TaxRateRow, applicable_rates};
use crate::domain::adjustments::{DiscountTerms, DiscountValue, PricedLine, RateTerms, adjust};
use crate::domain::coupon::still_applies;
use crate::domain::invoice::totals_of_charge;
use crate::domain::money::Currency;
use crate::error::AppResult;

/// The discounts and taxes of a set of invoices, ready to store.
#[derive(Debug, Default)]
pub struct Computed {
    pub rows: AdjustmentRows,
    /// Each discount once per invoice it applied to: the billed periods to count.
    pub applied_discounts: Vec<Uuid>,
    /// The lines whose discount or tax sums changed (the others need no write).
    pub changed_lines: HashSet<Uuid>,
}

/// Whether the computation is for drafts (discounts read as they are) or
/// for finalization (discounts locked, and each invoice counts as one of
/// their periods, so a ONCE discount reduces only the first of two
/// invoices finalized together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Draft,
    Finalize,
}

/// Computes the discounts and taxes of one tenant's `invoices` from their
/// `lines`, in the invoices' order, and writes the results into both: each
/// line's discount and tax sums, each invoice's discount and tax totals and
/// its total (credits and payments untouched). Reads discounts and rates
/// in one statement each for all of them.
pub async fn compute(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoices: &mut [InvoiceRow],
    lines: &mut [LineRow],
    purpose: Purpose,
) -> AppResult<Computed> {
    let mut payers: Vec<Uuid> = invoices.iter().map(|i| i.customer_id).collect();
    payers.sort();
    payers.dedup();
    let mut subscriptions: Vec<Uuid> = invoices.iter().filter_map(|i| i.subscription_id).collect();
    subscriptions.sort();
    subscriptions.dedup();
    let discounts =
        discounts_for_invoicing(conn, tenant_id, &payers, &subscriptions, purpose == Purpose::Finalize).await?;
    let mut rates_of: HashMap<Uuid, Vec<TaxRateRow>> = HashMap::new();
    for applicable in applicable_rates(conn, tenant_id, &payers).await? {
        rates_of
            .entry(applicable.customer_id)
            .or_default()
            .push(applicable.rate);
    }
    let mut periods_used: HashMap<Uuid, i32> = discounts
        .iter()
        .map(|d| (d.discount.id, d.discount.periods_applied))
        .collect();
    let mut line_index: HashMap<Uuid, Vec<usize>> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        line_index.entry(line.invoice_id).or_default().push(i);
    }
    let mut computed = Computed::default();
    for invoice in invoices.iter_mut() {
        let mut own = line_index.remove(&invoice.id).unwrap_or_default();
        own.sort_by_key(|&i| lines[i].position);
        let applying = applicable_discounts(
            &discounts,
            invoice.customer_id,
            invoice.subscription_id,
            invoice.currency,
            &periods_used,
        );
        let rates: &[TaxRateRow] = rates_of
            .get(&invoice.customer_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let priced: Vec<PricedLine> = own
            .iter()
            .map(|&i| PricedLine {
                amount: lines[i].amount,
                price_id: lines[i].price_id,
            })
            .collect();
        let terms: Vec<DiscountTerms> = applying.iter().map(|d| terms_of(d)).collect();
        let rate_terms = rate_terms(rates);
        let adjusted = adjust(&priced, &terms, &rate_terms, invoice.currency);
        for (position, (d, amount)) in applying.iter().zip(&adjusted.discounts).enumerate() {
            computed.rows.discounts.push(InvoiceDiscountRow {
                tenant_id,
                invoice_id: invoice.id,
                discount_id: d.discount.id,
                coupon_id: d.coupon.id,
                position: position as i32,
                description: description_of(d),
                amount: *amount,
            });
        }
        for (position, (rate, total)) in rates.iter().zip(&adjusted.rates).enumerate() {
            computed.rows.taxes.push(InvoiceTaxRow {
                tenant_id,
                invoice_id: invoice.id,
                tax_rate_id: rate.id,
                position: position as i32,
                name: rate.name.clone(),
                percentage: rate.percentage.normalize(),
                inclusive: rate.inclusive,
                taxable_amount: total.taxable,
                amount: total.amount,
            });
        }
        for (&i, adjustment) in own.iter().zip(&adjusted.lines) {
            let line = &mut lines[i];
            if (line.discount_amount, line.tax_amount, line.tax_added)
                != (adjustment.discount, adjustment.tax, adjustment.tax_added)
            {
                computed.changed_lines.insert(line.id);
            }
            line.discount_amount = adjustment.discount;
            line.tax_amount = adjustment.tax;
            line.tax_added = adjustment.tax_added;
            for (d, amount) in applying.iter().zip(&adjustment.discounts) {
                if *amount > Decimal::ZERO {
                    computed.rows.line_discounts.push(LineDiscountRow {
                        tenant_id,
                        invoice_id: invoice.id,
                        line_item_id: line.id,
                        discount_id: d.discount.id,
                        amount: *amount,
                    });
                }
            }
            for (rate, amount) in rates.iter().zip(&adjustment.taxes) {
                computed.rows.line_taxes.push(LineTaxRow {
                    tenant_id,
                    invoice_id: invoice.id,
                    line_item_id: line.id,
                    tax_rate_id: rate.id,
                    amount: *amount,
                });
            }
        }
        if purpose == Purpose::Finalize {
            for d in &applying {
                *periods_used.entry(d.discount.id).or_default() += 1;
                computed.applied_discounts.push(d.discount.id);
            }
        }
        invoice.subtotal = adjusted.subtotal;
        invoice.discount_total = adjusted.discount_total;
        invoice.tax_total = adjusted.tax_total;
        invoice.tax_added = adjusted.tax_added;
        let sums = totals_of_charge(
            adjusted.subtotal,
            adjusted.charged,
            invoice.credit_balance_applied + invoice.credits_applied,
            invoice.amount_paid,
            invoice.currency,
        );
        invoice.total = sums.total;
    }
    Ok(computed)
}

/// The discounts, of `discounts`, that reduce an invoice of `payer` (and
/// of `subscription`) in `currency`, in the order they apply: a customer
/// discount reduces the invoices its customer pays, a subscription
/// discount that subscription's; a coupon of an amount reduces only
/// invoices in its currency; and a discount reduces only as many invoices
/// as its duration allows (`periods_used`: what each has reduced so far,
/// defaulting to its stored count).
pub fn applicable_discounts<'a>(
    discounts: &'a [DiscountWithCoupon],
    payer: Uuid,
    subscription: Option<Uuid>,
    currency: Currency,
    periods_used: &HashMap<Uuid, i32>,
) -> Vec<&'a DiscountWithCoupon> {
    discounts
        .iter()
        .filter(|d| {
            let owner = d.discount.customer_id == Some(payer)
                || (d.discount.subscription_id.is_some() && d.discount.subscription_id == subscription);
            let in_currency = d.coupon.amount_off.is_none() || d.coupon.currency == Some(currency);
            let used = periods_used
                .get(&d.discount.id)
                .copied()
                .unwrap_or(d.discount.periods_applied);
            owner && in_currency && still_applies(d.coupon.duration, d.coupon.duration_periods, used)
        })
        .collect()
}

/// How an invoice names a discount: its coupon's name and code.
pub fn description_of(d: &DiscountWithCoupon) -> String {
    format!("{} ({})", d.coupon.name, d.coupon.code)
}

/// The arithmetic's view of tax rates.
pub fn rate_terms(rates: &[TaxRateRow]) -> Vec<RateTerms> {
    rates
        .iter()
        .map(|r| RateTerms {
            percentage: r.percentage,
            inclusive: r.inclusive,
        })
        .collect()
}

/// The arithmetic's view of a discount's coupon.
pub fn terms_of(d: &DiscountWithCoupon) -> DiscountTerms {
    let value = match (d.coupon.percent_off, d.coupon.amount_off) {
        (Some(percent), _) => DiscountValue::PercentOff(percent),
        (None, Some(amount)) => DiscountValue::AmountOff(amount),
        // The table's CHECK makes this unreachable; a coupon of nothing takes nothing.
        (None, None) => DiscountValue::AmountOff(Decimal::ZERO),
    };
    DiscountTerms {
        value,
        price_ids: d.coupon.applies_to_price_ids.clone(),
    }
}
