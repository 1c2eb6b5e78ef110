//! Queries and mutations of invoices and payments.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::invoices::{self, OneOffLine};
use crate::billing::payments::{self, PaymentDraft};
use crate::db::invoice_lists::InvoiceFilter;
use crate::domain::money::{Currency, validate_amount, validate_quantity};
use crate::domain::pricing::validate_fixed_charge;
use crate::domain::validation::{required_text, validate_idempotency_key};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::invoices::invoice::{
    Invoice, InvoiceConnection, InvoiceStatusType, Payment, PaymentMethod, PaymentStatusType,
};
use crate::graphql::invoices::loaders::InvoiceById;
use crate::graphql::pagination::page_complexity;

/// Lines a one-off invoice may have.
const MAX_ONE_OFF_LINES: usize = 100;

/// A manual charge on a one-off invoice.
#[derive(InputObject, Debug, Clone)]
pub struct OneOffLineInput {
    /// What is charged, 1 to 500 characters.
    pub description: String,
    /// Price of one unit; negative for a credit line.
    pub unit_amount: Decimal,
    /// At most 10^15; unitAmount x quantity may be at most 10^15 in the
    /// currency, either way.
    #[graphql(default_with = "Decimal::ONE")]
    pub quantity: Decimal,
}

/// A payment received outside billgraph.
#[derive(InputObject, Debug, Clone)]
pub struct RecordPaymentInput {
    /// The paid invoice, finalized (NOT_FOUND when unknown).
    pub invoice_id: Uuid,
    /// The amount received, in the invoice's currency (major unit): above 0, at most the amount
    /// due, no more decimals than the currency has (VALIDATION on `input.amount`).
    pub amount: Decimal,
    /// How it was paid.
    pub method: PaymentMethod,
    /// The payment's id in the system it came from.
    pub reference: Option<String>,
    /// Sending the same key again returns the first payment.
    pub idempotency_key: String,
}

/// Narrows the tenant's invoice list; the parts given must all hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct InvoiceFilterInput {
    /// Invoices this customer pays.
    pub customer_id: Option<Uuid>,
    /// Only invoices with this status.
    pub status: Option<InvoiceStatusType>,
    /// Only invoices with this payment status.
    pub payment_status: Option<PaymentStatusType>,
    /// Invoice date (when it was issued; for a draft, when it was created)
    /// at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Invoice date before this instant (exclusive); after `from`.
    pub to: Option<DateTime<Utc>>,
    /// true: only overdue invoices (finalized, an amount due above zero,
    /// due date passed at the request's time); false: only the others.
    pub overdue: Option<bool>,
}

impl InvoiceFilterInput {
    fn validate(self) -> AppResult<InvoiceFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(AppError::validation("filter.to", "must be after filter.from"));
        }
        Ok(InvoiceFilter {
            customer_id: self.customer_id,
            status: self.status.map(Into::into),
            payment_status: self.payment_status.map(Into::into),
            from: self.from,
            to: self.to,
            overdue: self.overdue,
        })
    }
}

/// A recorded payment and the invoice it paid, as updated.
#[derive(SimpleObject)]
pub struct PaymentResult {
    /// The payment.
    pub payment: Payment,
    /// The invoice after the payment.
    pub invoice: Invoice,
}

fn one_off_lines(currency: Currency, lines: Vec<OneOffLineInput>) -> AppResult<Vec<OneOffLine>> {
    if lines.is_empty() || lines.len() > MAX_ONE_OFF_LINES {
        return Err(AppError::validation(
            "lines",
            format!("must have between 1 and {MAX_ONE_OFF_LINES} lines"),
        ));
    }
    (0..)
        .zip(lines)
        .map(|(i, line)| {
            let field = |name: &str| format!("lines[{i}].{name}");
            let unit_amount = validate_amount(&field("unitAmount"), line.unit_amount, currency, true)?;
            let quantity = validate_quantity(&field("quantity"), line.quantity)?;
            validate_fixed_charge(&field("quantity"), unit_amount, quantity, currency)?;
            Ok(OneOffLine {
                description: required_text(&field("description"), &line.description, 500)?,
                unit_amount,
                quantity,
            })
        })
        .collect()
}

#[derive(Default)]
pub struct BillingQueryRoot;

#[Object]
impl BillingQueryRoot {
    /// The invoice with this id. Another tenant's id, or none: NOT_FOUND.
    async fn invoice(&self, ctx: &Context<'_>, #[graphql(desc = "The invoice's id.")] id: Uuid) -> Result<Invoice> {
        let row = ctx.loader().load_one(InvoiceById(id)).await?;
        Ok(Invoice(row.ok_or_else(|| AppError::not_found("invoice"))?))
    }

    /// The tenant's invoices by invoice date (when issued; for a draft,
    /// when created), newest first, through an optional filter.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; omitted: every invoice. `to` not after `from`: VALIDATION on `filter.to`."
        )]
        filter: Option<InvoiceFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<InvoiceConnection> {
        let filter = filter.unwrap_or_default().validate()?;
        InvoiceConnection::load_for_tenant(ctx, filter, first, after).await
    }
}

#[derive(Default)]
pub struct BillingMutationRoot;

#[Object]
impl BillingMutationRoot {
    /// Finalizes a draft now: usage recomputed, number assigned, wallet
    /// credits applied, amounts frozen.
    async fn finalize_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The draft to finalize. Another tenant's id, or none: NOT_FOUND. CONFLICT when it is not a DRAFT, or a usage charge would exceed 10^15."
        )]
        id: Uuid,
    ) -> Result<Invoice> {
        let settings = ctx.state().config.billing;
        Ok(Invoice(
            invoices::finalize(ctx.pool(), &settings, &ctx.state().links, ctx.tenant_id(), id).await?,
        ))
    }

    /// Voids an invoice without payments; wallet credits it used are refunded.
    async fn void_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The invoice to void. Another tenant's id, or none: NOT_FOUND. CONFLICT when already voided, when it has payments or credit notes, or when the credit balance it granted has been spent."
        )]
        id: Uuid,
    ) -> Result<Invoice> {
        Ok(Invoice(invoices::void(ctx.pool(), ctx.tenant_id(), id).await?))
    }

    /// A draft invoice of manual charges.
    async fn create_one_off_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to invoice. Another tenant's id, or none: NOT_FOUND.")] customer_id: Uuid,
        #[graphql(desc = "ISO 4217 code, e.g. `USD` (VALIDATION on `currency` when unknown).")] currency: String,
        #[graphql(desc = "The charges, 1 to 100 (VALIDATION on `lines`, or `lines[i].<field>`).")] lines: Vec<
            OneOffLineInput,
        >,
    ) -> Result<Invoice> {
        let currency = Currency::parse("currency", &currency).map_err(AppError::from)?;
        let lines = one_off_lines(currency, lines)?;
        let settings = ctx.state().config.billing;
        Ok(Invoice(
            invoices::create_one_off(ctx.pool(), &settings, ctx.tenant_id(), customer_id, currency, lines).await?,
        ))
    }

    /// Records a payment of a finalized invoice, at most its amount due.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The payment. CONFLICT when the invoice is not finalized or nothing is due, or the idempotencyKey was used for a different payment."
        )]
        input: RecordPaymentInput,
    ) -> Result<PaymentResult> {
        let draft = PaymentDraft {
            invoice_id: input.invoice_id,
            amount: input.amount,
            method: input.method.into(),
            reference: input.reference.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()),
            idempotency_key: validate_idempotency_key("input.idempotencyKey", &input.idempotency_key)
                .map_err(AppError::from)?,
        };
        let (payment, invoice) = payments::record(ctx.pool(), ctx.tenant_id(), draft).await?;
        Ok(PaymentResult {
            payment: Payment {
                row: payment,
                currency: invoice.currency,
            },
            invoice: Invoice(invoice),
        })
    }
}
