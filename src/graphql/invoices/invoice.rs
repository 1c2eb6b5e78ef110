use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::invoice_lists::{InvoiceFilter, InvoicePosition, SubscriptionInvoicePageKey, TenantInvoicePageKey};
use crate::db::invoices::{InvoicePageKey, InvoiceRow, LineRow, PaymentRow};
use crate::domain::invoice::{self as rules, InvoiceStatus};
use crate::domain::money::{Currency, round_amount};
use crate::error::AppError;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::credit_notes::credit_note::CreditNote;
use crate::graphql::credit_notes::loaders::CreditNotesOfInvoice;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::in_place::InPlaceList;
use crate::graphql::invoices::adjustments::{InvoiceDiscount, InvoiceTax};
use crate::graphql::invoices::loaders::{
    DiscountsOfInvoice, InvoiceCount, InvoicesPage, LineTaxesOfInvoice, LinesOf, PaymentsOf, SubscriptionInvoicesPage,
    TaxesOfInvoice, TenantInvoicesPage,
};
use crate::graphql::pagination::{DatedPageRequest, PageRequest, encode_dated_cursor, nodes_select};
use crate::graphql::plans::plan::Price;
use crate::graphql::subscriptions::loaders::SubscriptionById;
use crate::graphql::subscriptions::subscription::Subscription;
use crate::graphql::usage::loaders::MeterById;
use crate::graphql::usage::meter::Meter;

/// Where an invoice is in its life.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "InvoiceStatus", remote = "crate::domain::invoice::InvoiceStatus")]
pub enum InvoiceStatusType {
    /// Still changing: usage is recomputed when it is finalized.
    Draft,
    /// Numbered and frozen.
    Finalized,
    /// Cancelled by voidInvoice: nothing is owed; wallet credits it used were returned.
    Voided,
}

/// How much of an invoice has been paid.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "PaymentStatus", remote = "crate::domain::invoice::PaymentStatus")]
pub enum PaymentStatusType {
    /// Nothing paid yet (or the invoice is still a draft).
    Pending,
    /// Some, but not all, of the total has been paid.
    PartiallyPaid,
    /// Nothing is left to pay, whether paid or credited.
    Paid,
    /// The invoice was voided; nothing is owed.
    Void,
}

/// How a payment was made.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::invoice::PaymentMethod")]
pub enum PaymentMethod {
    /// By card (payments collected through Stripe are CARD).
    Card,
    /// By bank transfer.
    BankTransfer,
    /// Cash, cheque or another offline means.
    Offline,
    /// Any other means.
    Other,
}

#[derive(Clone)]
pub struct Payment {
    pub row: PaymentRow,
    pub currency: Currency,
}

/// A payment recorded against an invoice.
#[Object]
impl Payment {
    /// The payment's id.
    async fn id(&self) -> Uuid {
        self.row.id
    }

    /// The paid invoice's id.
    async fn invoice_id(&self) -> Uuid {
        self.row.invoice_id
    }

    /// The amount paid, in the invoice's currency (major unit, e.g. `12.50`), rounded to its minor
    /// unit.
    async fn amount(&self) -> Decimal {
        round_amount(self.row.amount, self.currency)
    }

    /// How it was paid.
    async fn method(&self) -> PaymentMethod {
        self.row.method.into()
    }

    /// The payment's id in the system it came from (e.g. a Stripe PaymentIntent id).
    async fn reference(&self) -> Option<&str> {
        self.row.reference.as_deref()
    }

    /// The key it was recorded with; the same key again returns this payment.
    async fn idempotency_key(&self) -> &str {
        &self.row.idempotency_key
    }

    /// When it was recorded (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

#[derive(Clone)]
pub struct InvoiceLineItem {
    pub row: LineRow,
    pub currency: Currency,
}

/// One charge of an invoice.
#[Object]
impl InvoiceLineItem {
    /// Stable: credit notes name the lines they credit by it.
    async fn id(&self) -> Uuid {
        self.row.id
    }

    /// What is charged: the plan's name for a fixed price, the meter's for usage, the given text
    /// for a one-off line.
    async fn description(&self) -> &str {
        &self.row.description
    }

    /// The customer the charge is for: a descendant's, on a parent's invoice.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.row.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The price charged; null for a one-off line.
    async fn price(&self, ctx: &Context<'_>) -> Result<Option<Price>> {
        let Some(price_id) = self.row.price_id else {
            return Ok(None);
        };
        let prices = ctx
            .loader()
            .load_one(crate::graphql::plans::loaders::PriceById(price_id))
            .await?;
        Ok(prices.map(Price))
    }

    /// The meter of a usage charge; null otherwise.
    async fn meter(&self, ctx: &Context<'_>) -> Result<Option<Meter>> {
        let Some(meter_id) = self.row.meter_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(MeterById(meter_id)).await?.map(Meter))
    }

    /// Units billed: usage, or the fixed price's quantity.
    async fn quantity(&self) -> Decimal {
        self.row.quantity
    }

    /// The price of one unit where a single one applies (not for tiered or package prices).
    async fn unit_amount(&self) -> Option<Decimal> {
        self.row.unit_amount
    }

    /// The line's amount, in the invoice's currency (major unit, e.g. `12.50`), rounded to its
    /// minor unit (negative for a credit).
    async fn amount(&self) -> Decimal {
        round_amount(self.row.amount, self.currency)
    }

    /// Start of the stretch the line covers, inclusive (UTC); null for one-off lines.
    async fn period_start(&self) -> Option<DateTime<Utc>> {
        self.row.period_start
    }

    /// End of the stretch the line covers, exclusive (UTC); null for one-off lines.
    async fn period_end(&self) -> Option<DateTime<Utc>> {
        self.row.period_end
    }

    /// A prorated fixed fee: the billable fraction of its period it bills
    /// (to 6 decimals; the amount uses the exact fraction). On an
    /// adjustment line, the fraction the whole period came to.
    async fn proration_fraction(&self) -> Option<Decimal> {
        self.row.proration_fraction
    }

    /// What discounts took off the line (never more than its amount).
    async fn discount_amount(&self) -> Decimal {
        round_amount(self.row.discount_amount, self.currency)
    }

    /// Every tax on the line after discounts, inclusive and exclusive,
    /// each rate rounded once (negative on a credit line).
    async fn tax_amount(&self) -> Decimal {
        round_amount(self.row.tax_amount, self.currency)
    }

    /// What the line asks for: amount - discountAmount + its exclusive taxes.
    async fn total(&self) -> Decimal {
        round_amount(self.row.charged(), self.currency)
    }

    /// The line's tax per rate.
    async fn taxes(&self, ctx: &Context<'_>) -> Result<Vec<LineTax>> {
        let rates = ctx
            .loader()
            .load_one(TaxesOfInvoice(self.row.invoice_id))
            .await?
            .unwrap_or_default();
        let taxes = ctx
            .loader()
            .load_one(LineTaxesOfInvoice(self.row.invoice_id))
            .await?
            .unwrap_or_default();
        Ok(rates
            .into_iter()
            .filter_map(|rate| {
                let tax = taxes
                    .iter()
                    .find(|t| t.line_item_id == self.row.id && t.tax_rate_id == rate.tax_rate_id)?;
                Some(LineTax {
                    amount: round_amount(tax.amount, self.currency),
                    rate: InvoiceTax {
                        row: rate,
                        currency: self.currency,
                    },
                })
            })
            .collect())
    }
}

/// One rate's tax on one line.
#[derive(Clone)]
pub struct LineTax {
    rate: InvoiceTax,
    amount: Decimal,
}

/// One rate's tax on one line.
#[Object]
impl LineTax {
    /// The rate, with the invoice's total for it.
    async fn tax(&self) -> &InvoiceTax {
        &self.rate
    }

    /// The rate's tax on this line, rounded once.
    async fn amount(&self) -> Decimal {
        self.amount
    }
}

#[derive(Clone)]
pub struct Invoice(pub InvoiceRow);

impl Invoice {
    fn money(&self, amount: Decimal) -> Decimal {
        round_amount(amount, self.0.currency)
    }
}

/// An invoice: the charges of a subscription's period (or one-off charges) to its payer, in one
/// currency. Amounts are decimal strings in the currency's major unit, rounded to its minor unit
/// (USD 2 decimals, JPY 0).
#[Object]
impl Invoice {
    /// The invoice's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Per tenant and gapless, e.g. INV-000042; assigned at finalization.
    async fn number(&self) -> Option<&str> {
        self.0.number.as_deref()
    }

    /// Who pays it.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.0.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// None for one-off invoices.
    async fn subscription(&self, ctx: &Context<'_>) -> Result<Option<Subscription>> {
        let Some(id) = self.0.subscription_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(SubscriptionById(id)).await?.map(Subscription))
    }

    /// DRAFT, FINALIZED or VOIDED.
    async fn status(&self) -> InvoiceStatusType {
        self.0.status.into()
    }

    /// PAID once nothing is left due, whether paid or credited.
    async fn payment_status(&self) -> PaymentStatusType {
        let settled = self.0.amount_paid + self.0.amount_credited;
        rules::payment_status(self.0.status, self.0.total, self.0.amount_paid, settled).into()
    }

    /// Finalized, with an amount due, and past its due date at the
    /// request's time.
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        let row = &self.0;
        rules::is_overdue(
            row.status,
            row.total,
            row.amount_paid + row.amount_credited,
            row.due_at,
            ctx.now(),
        )
    }

    /// ISO 4217 code of every amount.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    /// The period billed in arrears (equal to periodEnd on the opening
    /// invoice of fees billed in advance).
    async fn period_start(&self) -> Option<DateTime<Utc>> {
        self.0.period_start
    }

    /// End of the period billed, exclusive (UTC); null for one-off invoices.
    async fn period_end(&self) -> Option<DateTime<Utc>> {
        self.0.period_end
    }

    /// Its charges.
    async fn line_items(&self, ctx: &Context<'_>) -> Result<InPlaceList<InvoiceLineItem>> {
        let primed = ctx.request().line_primer.as_deref().and_then(|p| p.lines_of(self.0.id));
        let rows = match primed {
            Some(rows) => rows,
            None => ctx.loader().load_one(LinesOf(self.0.id)).await?.unwrap_or_default(),
        };
        Ok(InPlaceList(
            rows.into_iter()
                .map(|row| InvoiceLineItem {
                    row,
                    currency: self.0.currency,
                })
                .collect(),
        ))
    }

    /// Sum of the line items (may be negative).
    async fn subtotal(&self) -> Decimal {
        self.money(self.0.subtotal)
    }

    /// What discounts took off the subtotal: the sum of `discounts`.
    async fn discount_total(&self) -> Decimal {
        self.money(self.0.discount_total)
    }

    /// Every tax on the invoice, inclusive and exclusive: the sum of the
    /// per-line taxes, each rounded once (never rounded again as a whole).
    async fn tax_total(&self) -> Decimal {
        self.money(self.0.tax_total)
    }

    /// The exclusive part of taxTotal: what taxes added to the subtotal
    /// (inclusive taxes are already inside the line amounts).
    async fn tax_added(&self) -> Decimal {
        self.money(self.0.tax_added)
    }

    /// The discounts applied, in the order they applied (each after the
    /// ones before it): one line each on the invoice.
    async fn discounts(&self, ctx: &Context<'_>) -> Result<Vec<InvoiceDiscount>> {
        let rows = ctx
            .loader()
            .load_one(DiscountsOfInvoice(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| InvoiceDiscount {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// The taxes charged, one per rate, with the rate as it was when the
    /// invoice was finalized (a draft's follow the payer's current rates).
    async fn taxes(&self, ctx: &Context<'_>) -> Result<Vec<InvoiceTax>> {
        let rows = ctx
            .loader()
            .load_one(TaxesOfInvoice(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| InvoiceTax {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// Taken from the payer's credit balance at finalization, before wallets.
    async fn credit_balance_applied(&self) -> Decimal {
        self.money(self.0.credit_balance_applied)
    }

    /// Paid from wallets at finalization (after the credit balance).
    async fn credits_applied(&self) -> Decimal {
        self.money(self.0.credits_applied)
    }

    /// The subtotal less discountTotal plus taxAdded (0 when negative),
    /// less creditBalanceApplied and creditsApplied: what is left to pay by
    /// payment.
    async fn total(&self) -> Decimal {
        self.money(self.0.total)
    }

    /// The negative part of subtotal - discountTotal + taxAdded below
    /// zero, added to the payer's credit balance when the invoice was
    /// finalized (0 for a draft).
    async fn credit_balance_granted(&self) -> Decimal {
        if self.0.status == InvoiceStatus::Draft {
            return self.money(Decimal::ZERO);
        }
        self.money((-self.0.charged()).max(Decimal::ZERO))
    }

    /// Sum of its payments.
    async fn amount_paid(&self) -> Decimal {
        self.money(self.0.amount_paid)
    }

    /// What the invoice's credit notes add up to: at most what it charged.
    async fn credit_note_total(&self) -> Decimal {
        self.money(self.0.credit_note_total)
    }

    /// The part of creditNoteTotal that cancelled what was still due (the
    /// rest was refunded: see each credit note).
    async fn amount_credited(&self) -> Decimal {
        self.money(self.0.amount_credited)
    }

    /// What is left to pay: total - amountPaid - amountCredited (0 once voided).
    async fn amount_due(&self) -> Decimal {
        self.money(self.0.amount_due())
    }

    /// Its credit notes, oldest first.
    async fn credit_notes(&self, ctx: &Context<'_>) -> Result<Vec<CreditNote>> {
        let rows = ctx
            .loader()
            .load_one(CreditNotesOfInvoice(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(CreditNote).collect())
    }

    /// The tries to collect the invoice through the payment provider.
    async fn payment_attempts(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::providers::PaymentAttempt>> {
        let rows = ctx
            .loader()
            .load_one(crate::graphql::providers::loaders::AttemptsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Payments recorded against it, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let rows = ctx.loader().load_one(PaymentsOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| Payment {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// When it was finalized and sent (UTC); null for a draft.
    async fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.0.issued_at
    }

    /// When payment is due: issue plus BILLGRAPH_NET_TERMS_DAYS (30 by default); null for a draft.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }

    /// When it was finalized (UTC); null for a draft.
    async fn finalized_at(&self) -> Option<DateTime<Utc>> {
        self.0.finalized_at
    }

    /// When it was voided (UTC); null unless voided.
    async fn voided_at(&self) -> Option<DateTime<Utc>> {
        self.0.voided_at
    }

    /// When a draft is finalized automatically.
    async fn finalize_after(&self) -> Option<DateTime<Utc>> {
        (self.0.status == InvoiceStatus::Draft).then_some(self.0.finalize_after)
    }

    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// A link to the invoice's page for its recipient: opens without an
    /// API key, offers the PDF, shows this invoice only, and expires
    /// BILLGRAPH_HOSTED_LINK_DAYS (30 by default) after this request. A
    /// draft's page is marked DRAFT, a voided one's VOID.
    async fn hosted_url(&self, ctx: &Context<'_>) -> String {
        ctx.state().links.invoice_url(self.0.tenant_id, self.0.id, ctx.now())
    }
}

pub type InvoiceConnection = Connection<Invoice>;

impl InvoiceConnection {
    /// One page of a customer's (or its subtree's) invoices, newest first.
    pub async fn load(
        ctx: &Context<'_>,
        customer_id: Uuid,
        include_children: bool,
        status: Option<InvoiceStatusType>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let status = status.map(InvoiceStatus::from);
        let key = InvoicePageKey {
            customer_id,
            include_children,
            status,
            after: page.after,
            limit: page.fetch_limit(),
        };
        // Lines asked for under the page's invoices come with the page.
        let with_lines = nodes_select(ctx, "lineItems");
        let rows = ctx
            .loader()
            .load_one(InvoicesPage { key, with_lines })
            .await?
            .unwrap_or_default();
        let count = InvoiceCount::Customer {
            customer_id,
            include_children,
            status,
        };
        Ok(InvoiceConnection::from_rows(
            rows,
            &page,
            Total::loaded(count),
            |r| r.id,
            Invoice,
        ))
    }

    /// One page of a subscription's invoices, newest first.
    pub async fn load_for_subscription(
        ctx: &Context<'_>,
        subscription_id: Uuid,
        status: Option<InvoiceStatusType>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let status = status.map(InvoiceStatus::from);
        let key = SubscriptionInvoicePageKey {
            subscription_id,
            status,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx
            .loader()
            .load_one(SubscriptionInvoicesPage(key))
            .await?
            .unwrap_or_default();
        let count = InvoiceCount::Subscription {
            subscription_id,
            status,
        };
        Ok(InvoiceConnection::from_rows(
            rows,
            &page,
            Total::loaded(count),
            |r| r.id,
            Invoice,
        ))
    }

    /// One page of the tenant's invoices through `filter`, by invoice date
    /// (issued, or created for drafts), newest first.
    pub async fn load_for_tenant(
        ctx: &Context<'_>,
        filter: InvoiceFilter,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let page = DatedPageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = TenantInvoicePageKey {
            filter,
            after: page.after.map(|(at, id)| InvoicePosition { at, id }),
            limit: page.fetch_limit(),
        };
        let rows = ctx
            .loader()
            .load_one(TenantInvoicesPage(key))
            .await?
            .unwrap_or_default();
        Ok(InvoiceConnection::from_rows_by(
            rows,
            page.limit,
            page.after.is_some(),
            Total::loaded(InvoiceCount::Tenant(filter)),
            dated_cursor,
            Invoice,
        ))
    }
}

/// The tenant list's cursor: the invoice's place in invoice-date order.
fn dated_cursor(row: &InvoiceRow) -> String {
    encode_dated_cursor(rules::invoice_date(row.issued_at, row.created_at), row.id)
}
