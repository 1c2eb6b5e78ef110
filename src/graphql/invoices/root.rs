//! Queries and mutations of invoices and payments.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::invoices::{self, OneOffLine};
use crate::billing::payments::{self, PaymentDraft};
use crate::domain::money::{Currency, validate_amount, validate_quantity};
use crate::domain::pricing::validate_fixed_charge;
use crate::domain::validation::{required_text, validate_idempotency_key};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::invoices::invoice::{Invoice, Payment, PaymentMethod};
use crate::graphql::invoices::loaders::InvoiceById;

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
