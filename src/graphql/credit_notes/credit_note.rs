//! Credit notes, their lines and the refunds they record.

use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::credit_notes::{CreditNoteLineRow, CreditNotePageKey, CreditNoteRow, RefundRow};
use crate::domain::credit_note::RefundDestination;
use crate::domain::money::{Currency, round_amount};
use crate::error::AppError;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::credit_notes::loaders::{CreditNoteCount, CreditNoteLinesOf, CreditNotesPage, RefundsOf};
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::invoices::invoice::{Invoice, InvoiceLineItem, PaymentMethod};
use crate::graphql::invoices::loaders::{InvoiceById, LineItemById};
use crate::graphql::pagination::PageRequest;
use crate::graphql::wallets::loaders::WalletById;
use crate::graphql::wallets::wallet::Wallet;

/// Why a credit note was issued.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "CreditNoteReason", remote = "crate::domain::credit_note::CreditNoteReason")]
pub enum CreditNoteReasonType {
    /// The invoice charged something twice.
    Duplicate,
    /// The charge was fraudulent.
    Fraudulent,
    /// What was ordered changed after the invoice.
    OrderChange,
    /// The customer was not satisfied with what was billed.
    ProductUnsatisfactory,
    /// Any other reason (say which in `memo`).
    Other,
}

/// Where the already-paid part of a credit note goes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "RefundDestination", remote = "crate::domain::credit_note::RefundDestination")]
pub enum RefundDestinationType {
    /// The customer's credit balance, which its next invoices spend before wallets.
    CreditBalance,
    /// Credits granted to one of the customer's active wallets in the invoice's currency.
    Wallet,
    /// A refund to pay out outside billgraph, recorded with its method and reference.
    RecordRefund,
}

#[derive(Clone)]
pub struct CreditNote(pub CreditNoteRow);

impl CreditNote {
    fn money(&self, amount: Decimal) -> Decimal {
        round_amount(amount, self.0.currency)
    }
}

/// A credit of a finalized invoice: it cancels what the invoice still asks
/// for first, and refunds the rest (money already paid) to `refundTo`.
#[Object]
impl CreditNote {
    /// The credit note's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Per tenant and gapless, e.g. CN-000042.
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// The credited invoice.
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Invoice> {
        let row = ctx.loader().load_one(InvoiceById(self.0.invoice_id)).await?;
        Ok(Invoice(row.ok_or_else(|| AppError::not_found("invoice"))?))
    }

    /// The invoice's payer, who is credited.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        let row = ctx.loader().load_one(CustomerById(self.0.customer_id)).await?;
        Ok(Customer(row.ok_or_else(|| AppError::not_found("customer"))?))
    }

    /// The invoice's currency.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    /// Why it was issued.
    async fn reason(&self) -> CreditNoteReasonType {
        self.0.reason.into()
    }

    /// Free text, if any.
    async fn memo(&self) -> Option<&str> {
        self.0.memo.as_deref()
    }

    /// What the credit note credits: amountCredited + refundedAmount.
    async fn total(&self) -> Decimal {
        self.money(self.0.total)
    }

    /// The part that cancelled what the invoice still asked for (its amountDue dropped by it).
    async fn amount_credited(&self) -> Decimal {
        self.money(self.0.amount_credited)
    }

    /// The part of money already paid (payments, wallet credits, credit
    /// balance) that went back to the customer, to `refundTo`.
    async fn refunded_amount(&self) -> Decimal {
        self.money(self.0.refunded_amount)
    }

    /// Where refundedAmount went; null when nothing was refunded.
    async fn refund_to(&self) -> Option<RefundDestinationType> {
        self.0.refund_to.map(Into::into)
    }

    /// What went to the customer's credit balance (refundedAmount when
    /// refundTo is CREDIT_BALANCE, else 0).
    async fn credited_to_balance(&self) -> Decimal {
        match self.0.refund_to {
            Some(RefundDestination::CreditBalance) => self.money(self.0.refunded_amount),
            _ => self.money(Decimal::ZERO),
        }
    }

    /// The wallet credited, when refundTo is WALLET.
    async fn wallet(&self, ctx: &Context<'_>) -> Result<Option<Wallet>> {
        let Some(id) = self.0.wallet_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(WalletById(id)).await?.map(Wallet))
    }

    /// The part of total that reverses the invoice's taxes, in proportion
    /// to what it credits.
    async fn tax_amount(&self) -> Decimal {
        self.money(self.0.tax_amount)
    }

    /// A link to the credit note's page for its recipient: opens without
    /// an API key, offers the PDF, and expires BILLGRAPH_HOSTED_LINK_DAYS
    /// (30 by default) after this request.
    async fn hosted_url(&self, ctx: &Context<'_>) -> String {
        ctx.state()
            .links
            .credit_note_url(self.0.tenant_id, self.0.id, ctx.now())
    }

    /// The taxes reversed, per rate of the invoice.
    async fn taxes(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::invoices::adjustments::CreditNoteTax>> {
        let rows = ctx
            .loader()
            .load_one(crate::graphql::invoices::loaders::TaxesOfCreditNote(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| crate::graphql::invoices::adjustments::CreditNoteTax {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// The lines credited; empty for a credit note of an amount.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<CreditNoteLine>> {
        let rows = ctx
            .loader()
            .load_one(CreditNoteLinesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| CreditNoteLine {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// The refunds to pay out, when refundTo is RECORD_REFUND.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        let rows = ctx.loader().load_one(RefundsOf(self.0.id)).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| Refund {
                row,
                currency: self.0.currency,
            })
            .collect())
    }

    /// When it was issued (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct CreditNoteLine {
    row: CreditNoteLineRow,
    currency: Currency,
}

/// What a credit note credits on one invoice line.
#[Object]
impl CreditNoteLine {
    /// The invoice line credited.
    async fn line_item(&self, ctx: &Context<'_>) -> Result<InvoiceLineItem> {
        let row = ctx.loader().load_one(LineItemById(self.row.line_item_id)).await?;
        Ok(InvoiceLineItem {
            row: row.ok_or_else(|| AppError::not_found("invoice line item"))?,
            currency: self.currency,
        })
    }

    /// The amount credited on the line, in the invoice's currency (major unit).
    async fn amount(&self) -> Decimal {
        crate::domain::money::in_minor_units(self.row.amount, self.currency.code())
    }
}

pub struct Refund {
    row: RefundRow,
    currency: Currency,
}

/// Money a credit note gives back outside billgraph.
#[Object]
impl Refund {
    /// The refund's id.
    async fn id(&self) -> Uuid {
        self.row.id
    }

    /// The amount to pay out, in the invoice's currency (major unit).
    async fn amount(&self) -> Decimal {
        crate::domain::money::in_minor_units(self.row.amount, self.currency.code())
    }

    /// How it is paid out.
    async fn method(&self) -> Result<PaymentMethod> {
        let method = crate::domain::invoice::PaymentMethod::parse(&self.row.method)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown stored refund method {:?}", self.row.method)))?;
        Ok(method.into())
    }

    /// The payout's id in the system that makes it.
    async fn reference(&self) -> Option<&str> {
        self.row.reference.as_deref()
    }

    /// When it was recorded (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// The payment provider's refund (e.g. Stripe's re_...), once sent.
    async fn provider_refund_id(&self) -> Option<&str> {
        self.row.provider_refund_id.as_deref()
    }

    /// What the provider says of the refund (e.g. succeeded, pending).
    async fn provider_status(&self) -> Option<&str> {
        self.row.provider_status.as_deref()
    }
}

pub type CreditNoteConnection = Connection<CreditNote>;

impl CreditNoteConnection {
    /// One page of a customer's credit notes, newest first.
    pub async fn load(ctx: &Context<'_>, customer_id: Uuid, first: Option<i32>, after: Option<String>) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = CreditNotePageKey {
            customer_id,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx.loader().load_one(CreditNotesPage(key)).await?.unwrap_or_default();
        Ok(CreditNoteConnection::from_rows(
            rows,
            &page,
            Total::loaded(CreditNoteCount(customer_id)),
            |r| r.id,
            CreditNote,
        ))
    }
}
