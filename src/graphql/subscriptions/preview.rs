//! The live preview: what a subscription's current period bills, by the one
//! function its invoices use: its fixed fees by the share of the period
//! expected to be billable (today's trial, pauses and end), its usage so far.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use futures_util::try_join;
use rust_decimal::Decimal;
use uuid::Uuid;

use std::collections::HashMap;

use crate::billing::adjustments::{applicable_discounts, description_of, rate_terms, terms_of};
use crate::db::coupons::DiscountWithCoupon;
use crate::db::plans::PriceRow;
use crate::db::subscriptions::{PauseRow, SubscriptionRow};
use crate::domain::adjustments::{Adjusted, PricedLine, adjust};
use crate::domain::charges::{PlanUsage, PriceLine, period_lines, subtotal as charges_subtotal, usage_groups};
use crate::domain::money::{self, in_minor_units};
use crate::domain::period::Period;
use crate::domain::phase::phases_in;
use crate::domain::pricing::TierCharge;
use crate::domain::subscription as rules;
use crate::domain::subscription::Payer;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::invoices::loaders::{InvoicingDiscounts, PayerOf};
use crate::graphql::plans::loaders::{PlanById, PricesOfPlan};
use crate::graphql::plans::plan::Price;
use crate::graphql::subscriptions::loaders::{PausesOf, PhasesOf};
use crate::graphql::subscriptions::subscription::{Subscription, as_of};
use crate::graphql::taxes::loaders::ApplicableRatesOf;
use crate::graphql::usage::loaders::{BillableUsage, MeterById};
use crate::graphql::usage::meter::Meter;
use crate::subscriptions::{lifecycle_of, phase_terms, phases_of};

/// The part of a tiered charge one tier contributes.
#[derive(SimpleObject, Debug, Clone)]
pub struct TierBreakdown {
    /// 0-based position of the tier in the price.
    pub tier: i32,
    /// Units that fell in the tier.
    pub quantity: Decimal,
    /// The tier's price per unit, in the currency's major unit.
    pub unit_amount: Decimal,
    /// The tier's flat amount, charged once when any unit falls in it.
    pub flat_amount: Decimal,
    /// Exact, before the line's one rounding.
    pub amount: Decimal,
}

impl From<&TierCharge> for TierBreakdown {
    fn from(t: &TierCharge) -> Self {
        TierBreakdown {
            tier: i32::try_from(t.tier).unwrap_or(i32::MAX),
            quantity: t.quantity,
            unit_amount: t.unit_amount,
            flat_amount: t.flat_amount,
            amount: t.amount,
        }
    }
}

#[derive(Clone)]
pub struct LineItem {
    customer_id: Uuid,
    plan_id: Uuid,
    price: PriceRow,
    line: PriceLine,
    period: Period,
}

impl LineItem {
    pub fn new(customer_id: Uuid, price: PriceRow, line: PriceLine, period: Period) -> Self {
        LineItem {
            customer_id,
            plan_id: price.plan_id,
            price,
            line,
            period,
        }
    }
}

/// One charge of a period.
#[Object]
impl LineItem {
    /// The plan's name for a fixed price, the meter's for a usage price.
    async fn description(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(match self.line.meter_id {
            Some(meter_id) => ctx
                .loader()
                .load_one(MeterById(meter_id))
                .await?
                .map(|m| m.name)
                .unwrap_or_default(),
            None => ctx
                .loader()
                .load_one(PlanById(self.plan_id))
                .await?
                .map(|p| p.name)
                .unwrap_or_default(),
        })
    }

    /// The customer the charge is for.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The price charged.
    async fn price(&self) -> Price {
        Price(self.price.clone())
    }

    /// The meter of a usage price; null for a fixed price.
    async fn meter(&self, ctx: &Context<'_>) -> Result<Option<Meter>> {
        let Some(meter_id) = self.line.meter_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(MeterById(meter_id)).await?.map(Meter))
    }

    /// Units used (usage) or the price's quantity (fixed).
    async fn quantity(&self) -> Decimal {
        self.line.charge.quantity
    }

    /// The price of one unit, where a single one applies.
    async fn unit_amount(&self) -> Option<Decimal> {
        self.line.charge.unit_amount
    }

    /// Per tier, for tiered prices.
    async fn tiers(&self) -> Vec<TierBreakdown> {
        self.line.charge.tiers.iter().map(TierBreakdown::from).collect()
    }

    /// Rounded to the currency's minor units.
    async fn amount(&self) -> Decimal {
        self.line.charge.amount
    }

    /// A prorated fixed fee: the billable fraction of its period it bills
    /// (to 6 decimals; the amount uses the exact fraction).
    async fn proration_fraction(&self) -> Option<Decimal> {
        self.line.proration_fraction
    }

    /// Start of the stretch this charge covers, inclusive (UTC).
    async fn period_start(&self) -> DateTime<Utc> {
        self.period.start
    }

    /// End of the stretch this charge covers, exclusive (UTC).
    async fn period_end(&self) -> DateTime<Utc> {
        self.period.end
    }
}

#[derive(Clone)]
pub struct UpcomingInvoice {
    subscription: SubscriptionRow,
    period: Period,
    line_items: Vec<LineItem>,
    subtotal: Decimal,
    adjusted: Adjusted,
    discounts: Vec<UpcomingDiscount>,
    taxes: Vec<UpcomingTax>,
}

/// A discount the upcoming invoice would apply.
#[derive(SimpleObject, Debug, Clone)]
pub struct UpcomingDiscount {
    /// The discount (a coupon applied to the payer or the subscription).
    pub discount_id: Uuid,
    /// Its coupon.
    pub coupon_id: Uuid,
    /// The coupon's name and code.
    pub description: String,
    /// What it would take off.
    pub amount: Decimal,
}

/// A tax rate's share of the upcoming invoice.
#[derive(SimpleObject, Debug, Clone)]
pub struct UpcomingTax {
    /// The rate.
    pub tax_rate_id: Uuid,
    /// Its name.
    pub name: String,
    /// In percent.
    pub percentage: Decimal,
    /// Carved out of the lines (true) or added to them (false).
    pub inclusive: bool,
    /// What the rate is charged on: the lines after discounts, without inclusive taxes.
    pub taxable_amount: Decimal,
    /// The tax: the sum of the per-line taxes, each rounded once.
    pub amount: Decimal,
}

/// What a subscription's current period would bill if it ended now, computed as the invoice would
/// be; nothing is written.
#[Object]
impl UpcomingInvoice {
    /// The subscription previewed.
    async fn subscription(&self) -> Subscription {
        Subscription(self.subscription.clone())
    }

    /// The subscribing customer.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx
            .loader()
            .load_one(CustomerById(self.subscription.customer_id))
            .await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// ISO 4217 code of every amount.
    async fn currency(&self) -> &str {
        self.subscription.currency.code()
    }

    /// Start of the current period, inclusive (UTC).
    async fn period_start(&self) -> DateTime<Utc> {
        self.period.start
    }

    /// End of the current period, exclusive (UTC).
    async fn period_end(&self) -> DateTime<Utc> {
        self.period.end
    }

    /// Its charges: fixed fees for the share of the period expected to be billable, usage so far.
    async fn line_items(&self) -> &[LineItem] {
        &self.line_items
    }

    /// Sum of the line items, rounded to the currency's minor unit.
    async fn subtotal(&self) -> Decimal {
        self.subtotal
    }

    /// The discounts the invoice would apply now (the payer's and the
    /// subscription's that still have periods left), in order.
    async fn discounts(&self) -> &[UpcomingDiscount] {
        &self.discounts
    }

    /// What they would take off.
    async fn discount_total(&self) -> Decimal {
        self.adjusted.discount_total
    }

    /// The taxes, one per rate the payer is charged now.
    async fn taxes(&self) -> &[UpcomingTax] {
        &self.taxes
    }

    /// Every tax, inclusive and exclusive.
    async fn tax_total(&self) -> Decimal {
        self.adjusted.tax_total
    }

    /// The subtotal less discountTotal plus exclusive taxes (0 when
    /// negative), before the payer's credit balance and wallets.
    async fn total(&self) -> Decimal {
        self.adjusted.charged.max(Decimal::ZERO)
    }
}

/// An amount in one currency.
#[derive(SimpleObject, Debug, Clone)]
pub struct CurrencyAmount {
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    /// The amount in the currency's major unit, rounded to its minor unit (e.g. `12.50`).
    pub amount: Decimal,
}

impl CurrencyAmount {
    /// Rounded to the currency's minor units.
    pub fn new(currency: String, amount: Decimal) -> Self {
        CurrencyAmount {
            amount: in_minor_units(amount, &currency),
            currency,
        }
    }
}

/// The previews a customer pays for, and their sums per currency.
#[derive(SimpleObject, Clone)]
pub struct UpcomingCharges {
    /// Per currency, in code order.
    pub totals: Vec<CurrencyAmount>,
    /// One preview per subscription paid for.
    pub invoices: Vec<UpcomingInvoice>,
}

impl UpcomingCharges {
    pub fn new(invoices: Vec<UpcomingInvoice>) -> Result<Self, AppError> {
        let sums = money::sums_per_currency(invoices.iter().map(|invoice| {
            (
                invoice.subscription.currency.code(),
                invoice.adjusted.charged.max(Decimal::ZERO),
            )
        }))
        .ok_or_else(|| AppError::conflict("the upcoming charges add up beyond what an amount can hold"))?;
        let totals = sums
            .into_iter()
            .map(|(currency, amount)| CurrencyAmount::new(currency.to_string(), amount))
            .collect();
        Ok(UpcomingCharges { totals, invoices })
    }
}

/// The preview of one subscription: its phases and pauses, its plans'
/// prices, then its usage over the stretches that count, each through a
/// loader so a page of subscriptions shares the statements.
pub async fn upcoming_invoice(ctx: &Context<'_>, subscription: SubscriptionRow) -> Result<UpcomingInvoice> {
    let currency = subscription.currency;
    let loader = ctx.loader();
    let stored_phases = async {
        if subscription.phased {
            loader.load_one(PhasesOf(subscription.id)).await
        } else {
            Ok(None)
        }
    };
    let (stored_phases, pauses) = try_join!(stored_phases, loader.load_one(PausesOf(subscription.id)))?;
    let phases = phases_of(&subscription, &stored_phases.unwrap_or_default());
    let pauses: Vec<Period> = pauses.unwrap_or_default().iter().map(PauseRow::period).collect();
    let now = as_of(ctx, &subscription);
    let life = lifecycle_of(&subscription);
    let current = rules::current_period(&life, life.ends_at.map_or(now, |end| now.min(end)));
    // The period runs to its end, or to the subscription's end inside it.
    let period = Period {
        end: life
            .ends_at
            .map_or(current.end, |end| end.min(current.end).max(current.start)),
        ..current
    };
    let share = rules::share_of(&life, period, &pauses, period.end);
    let intervals = rules::billable_intervals(&life, period, &pauses, now);

    let plan_ids: Vec<Uuid> = phases_in(&phases, period).iter().map(|(p, _)| p.plan_id).collect();
    let prices: Vec<PriceRow> = loader
        .load_many(plan_ids.into_iter().map(PricesOfPlan))
        .await?
        .into_values()
        .flatten()
        .collect();
    let terms = phase_terms(&subscription, &phases, &prices, period);
    let keys: Vec<(Uuid, BillableUsage)> = usage_groups(&terms, &intervals)
        .into_iter()
        .filter(|g| !g.meter_ids.is_empty() && !g.stretches.is_empty())
        .map(|g| {
            let key = BillableUsage {
                customer_id: subscription.customer_id,
                intervals: g.stretches.iter().map(|i| (i.start, i.end)).collect(),
                meter_ids: g.meter_ids,
            };
            (g.plan_id, key)
        })
        .collect();
    let mut measured = loader.load_many(keys.iter().map(|(_, key)| key.clone())).await?;
    let usage: PlanUsage = keys
        .into_iter()
        .map(|(plan_id, key)| (plan_id, measured.remove(&key).unwrap_or_default()))
        .collect();
    let lines = period_lines(&terms, &usage, &share, currency).map_err(AppError::from)?;
    let subtotal = charges_subtotal(&lines, currency).map_err(AppError::from)?;
    let line_items: Vec<LineItem> = lines
        .into_iter()
        .filter_map(|billed| {
            let price = prices.iter().find(|p| p.id == billed.line.price_id)?.clone();
            Some(LineItem {
                customer_id: subscription.customer_id,
                plan_id: price.plan_id,
                price,
                line: billed.line,
                period: billed.period,
            })
        })
        .collect();
    let (adjusted, discounts, taxes) = upcoming_adjustments(ctx, &subscription, &line_items).await?;
    Ok(UpcomingInvoice {
        subscription,
        period,
        line_items,
        subtotal,
        adjusted,
        discounts,
        taxes,
    })
}

/// The discounts and taxes the upcoming invoice would carry: its payer's
/// rates and discounts and its subscription's, as finalization would apply
/// them now.
async fn upcoming_adjustments(
    ctx: &Context<'_>,
    subscription: &SubscriptionRow,
    lines: &[LineItem],
) -> Result<(Adjusted, Vec<UpcomingDiscount>, Vec<UpcomingTax>)> {
    let loader = ctx.loader();
    let payer = match subscription.payer {
        Payer::Parent => loader
            .load_one(PayerOf(subscription.customer_id))
            .await?
            .unwrap_or(subscription.customer_id),
        Payer::Customer => subscription.customer_id,
    };
    let key = InvoicingDiscounts {
        payer,
        subscription: subscription.id,
    };
    let (discounts, rates) = try_join!(loader.load_one(key), loader.load_one(ApplicableRatesOf(payer)))?;
    let all: Vec<DiscountWithCoupon> = discounts.unwrap_or_default();
    let currency = subscription.currency;
    let applying = applicable_discounts(&all, payer, Some(subscription.id), currency, &HashMap::new());
    let rates = rates.unwrap_or_default();
    let priced: Vec<PricedLine> = lines
        .iter()
        .map(|l| PricedLine {
            amount: l.line.charge.amount,
            price_id: Some(l.price.id),
        })
        .collect();
    let terms: Vec<_> = applying.iter().map(|d| terms_of(d)).collect();
    let rate_terms = rate_terms(&rates);
    let adjusted = adjust(&priced, &terms, &rate_terms, currency);
    let discounts = applying
        .iter()
        .zip(&adjusted.discounts)
        .map(|(d, amount)| UpcomingDiscount {
            discount_id: d.discount.id,
            coupon_id: d.coupon.id,
            description: description_of(d),
            amount: *amount,
        })
        .collect();
    let taxes = rates
        .iter()
        .zip(&adjusted.rates)
        .map(|(rate, total)| UpcomingTax {
            tax_rate_id: rate.id,
            name: rate.name.clone(),
            percentage: rate.percentage.normalize(),
            inclusive: rate.inclusive,
            taxable_amount: total.taxable,
            amount: total.amount,
        })
        .collect();
    Ok((adjusted, discounts, taxes))
}
