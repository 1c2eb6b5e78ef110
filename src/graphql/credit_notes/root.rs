//! Queries and mutations of credit notes.

use async_graphql::{Context, InputObject, Object, Result};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::credit_notes::{self, Credit, CreditNoteDraft, Refund};
use crate::domain::credit_note::MAX_CREDIT_NOTE_LINES;
use crate::domain::customer::validate_optional_text;
use crate::domain::validation::{required_text, validate_idempotency_key};
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::credit_notes::credit_note::{CreditNote, CreditNoteReasonType, RefundDestinationType};
use crate::graphql::credit_notes::loaders::CreditNoteById;
use crate::graphql::invoices::invoice::PaymentMethod;

/// Longest memo, in characters.
const MAX_MEMO_CHARS: usize = 500;

/// An amount to credit on one invoice line.
#[derive(InputObject, Debug, Clone)]
pub struct CreditNoteLineInput {
    /// `InvoiceLineItem.id` of a line of the invoice.
    pub line_item_id: Uuid,
    /// Above 0, in the invoice's minor units at most, and at most the
    /// line's amount less earlier credit notes on it.
    pub amount: Decimal,
}

/// A credit note: by `lines` or by `amount`, never both.
#[derive(InputObject, Debug, Clone)]
pub struct CreateCreditNoteInput {
    /// Credit these lines; give either `lines` or `amount`.
    pub lines: Option<Vec<CreditNoteLineInput>>,
    /// Credit an amount of the invoice as a whole; give either `lines` or `amount`.
    pub amount: Option<Decimal>,
    /// Why it is issued.
    pub reason: CreditNoteReasonType,
    /// Free text, at most 500 characters.
    pub memo: Option<String>,
    /// Where the part already paid goes; required when the credit note
    /// exceeds what the invoice still asks for.
    pub refund_to: Option<RefundDestinationType>,
    /// With refundTo WALLET: an active wallet of the invoice's customer in its currency.
    pub wallet_id: Option<Uuid>,
    /// With refundTo RECORD_REFUND: how the refund is paid out.
    pub refund_method: Option<PaymentMethod>,
    /// With refundTo RECORD_REFUND: the payout's id in the system that makes it.
    pub refund_reference: Option<String>,
    /// Sending the same key again returns the first credit note.
    pub idempotency_key: Option<String>,
}

/// A field that only goes with some refund destination, sent with another.
fn only_with(field: &str, destination: &str) -> AppError {
    AppError::validation(field, format!("is only taken with refundTo {destination}"))
}

impl CreateCreditNoteInput {
    fn validate(self, invoice_id: Uuid) -> AppResult<CreditNoteDraft> {
        let credit = match (self.lines, self.amount) {
            (Some(_), Some(_)) => {
                return Err(AppError::validation(
                    "input.amount",
                    "give either lines or amount, not both",
                ));
            }
            (None, None) => return Err(AppError::validation("input.lines", "give either lines or amount")),
            (None, Some(amount)) => Credit::Amount(amount),
            (Some(lines), None) => {
                if lines.is_empty() || lines.len() > MAX_CREDIT_NOTE_LINES {
                    return Err(AppError::validation(
                        "input.lines",
                        format!("must have between 1 and {MAX_CREDIT_NOTE_LINES} lines"),
                    ));
                }
                Credit::Lines(lines.into_iter().map(|l| (l.line_item_id, l.amount)).collect())
            }
        };
        let memo = match self.memo.as_deref().map(str::trim) {
            Some(memo) if !memo.is_empty() => Some(required_text("input.memo", memo, MAX_MEMO_CHARS)?),
            _ => None,
        };
        let reference = match &self.refund_reference {
            Some(text) => validate_optional_text("input.refundReference", text)?,
            None => None,
        };
        let refund = match self.refund_to {
            None | Some(RefundDestinationType::CreditBalance) => {
                if self.wallet_id.is_some() {
                    return Err(only_with("input.walletId", "WALLET"));
                }
                if self.refund_method.is_some() {
                    return Err(only_with("input.refundMethod", "RECORD_REFUND"));
                }
                if reference.is_some() {
                    return Err(only_with("input.refundReference", "RECORD_REFUND"));
                }
                self.refund_to.map(|_| Refund::CreditBalance)
            }
            Some(RefundDestinationType::Wallet) => {
                if self.refund_method.is_some() {
                    return Err(only_with("input.refundMethod", "RECORD_REFUND"));
                }
                if reference.is_some() {
                    return Err(only_with("input.refundReference", "RECORD_REFUND"));
                }
                let wallet = self
                    .wallet_id
                    .ok_or_else(|| AppError::validation("input.walletId", "is required with refundTo WALLET"))?;
                Some(Refund::Wallet(wallet))
            }
            Some(RefundDestinationType::RecordRefund) => {
                if self.wallet_id.is_some() {
                    return Err(only_with("input.walletId", "WALLET"));
                }
                let method = self.refund_method.ok_or_else(|| {
                    AppError::validation("input.refundMethod", "is required with refundTo RECORD_REFUND")
                })?;
                Some(Refund::Record {
                    method: crate::domain::invoice::PaymentMethod::from(method).as_str(),
                    reference,
                })
            }
        };
        let idempotency_key = match &self.idempotency_key {
            Some(key) => Some(validate_idempotency_key("input.idempotencyKey", key)?),
            None => None,
        };
        Ok(CreditNoteDraft {
            invoice_id,
            credit,
            reason: self.reason.into(),
            memo,
            refund,
            idempotency_key,
        })
    }
}

#[derive(Default)]
pub struct CreditNoteQueryRoot;

#[Object]
impl CreditNoteQueryRoot {
    /// The credit note with this id. Another tenant's id, or none: NOT_FOUND.
    async fn credit_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The credit note's id.")] id: Uuid,
    ) -> Result<CreditNote> {
        let row = ctx.loader().load_one(CreditNoteById(id)).await?;
        Ok(CreditNote(row.ok_or_else(|| AppError::not_found("credit note"))?))
    }
}

#[derive(Default)]
pub struct CreditNoteMutationRoot;

#[Object]
impl CreditNoteMutationRoot {
    /// Credits a FINALIZED invoice, by lines or by an amount: what it still
    /// asks for drops first (amountDue), the rest goes to refundTo. The
    /// invoice's credit notes never add up to more than it charged.
    async fn create_credit_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice to credit, FINALIZED. Another tenant's id, or none: NOT_FOUND.")]
        invoice_id: Uuid,
        #[graphql(
            desc = "What to credit and where the paid part goes. VALIDATION names the bad field (`input.lines[0].amount`, `input.refundTo`, ...); CONFLICT when the invoice is a DRAFT or VOIDED, or the idempotencyKey was used for a different credit note."
        )]
        input: CreateCreditNoteInput,
    ) -> Result<CreditNote> {
        let draft = input.validate(invoice_id)?;
        Ok(CreditNote(
            credit_notes::create(ctx.pool(), ctx.tenant_id(), draft).await?,
        ))
    }
}
