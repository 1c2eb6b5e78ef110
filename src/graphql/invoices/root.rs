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

#[derive(InputObject, Debug, Clone)]
pub struct OneOffLineInput {
    pub description: String,
    /// Price of one unit; negative for a credit line.
    pub unit_amount: Decimal,
    /// At most 10^15; unitAmount x quantity may be at most 10^15 in the
    /// currency, either way.
    #[graphql(default_with = "Decimal::ONE")]
    pub quantity: Decimal,
}

#[derive(InputObject, Debug, Clone)]
pub struct RecordPaymentInput {
    pub invoice_id: Uuid,
    pub amount: Decimal,
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
    pub status: Option<InvoiceStatusType>,
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

#[derive(SimpleObject)]
pub struct PaymentResult {
    pub payment: Payment,
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
    async fn invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<Invoice> {
        let row = ctx.loader().load_one(InvoiceById(id)).await?;
        Ok(Invoice(row.ok_or_else(|| AppError::not_found("invoice"))?))
    }

    /// The tenant's invoices by invoice date (when issued; for a draft,
    /// when created), newest first, through an optional filter.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        filter: Option<InvoiceFilterInput>,
        #[graphql(desc = "Page size (default 20, at most the maximum page size)")] first: Option<i32>,
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
    async fn finalize_invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<Invoice> {
        let settings = ctx.state().config.billing;
        Ok(Invoice(
            invoices::finalize(ctx.pool(), &settings, ctx.tenant_id(), id).await?,
        ))
    }

    /// Voids an invoice without payments; wallet credits it used are refunded.
    async fn void_invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<Invoice> {
        Ok(Invoice(invoices::void(ctx.pool(), ctx.tenant_id(), id).await?))
    }

    /// A draft invoice of manual charges.
    async fn create_one_off_invoice(
        &self,
        ctx: &Context<'_>,
        customer_id: Uuid,
        currency: String,
        lines: Vec<OneOffLineInput>,
    ) -> Result<Invoice> {
        let currency = Currency::parse("currency", &currency).map_err(AppError::from)?;
        let lines = one_off_lines(currency, lines)?;
        let settings = ctx.state().config.billing;
        Ok(Invoice(
            invoices::create_one_off(ctx.pool(), &settings, ctx.tenant_id(), customer_id, currency, lines).await?,
        ))
    }

    /// Records a payment of a finalized invoice, at most its amount due.
    async fn record_payment(&self, ctx: &Context<'_>, input: RecordPaymentInput) -> Result<PaymentResult> {
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
