//! Credit notes: crediting a finalized invoice, in one transaction under the
//! invoice's lock, so credit notes created at once can never add up to more
//! than the invoice charged. What is still due is cancelled first; the rest
//! is refunded to the customer's credit balance, to a wallet, or recorded
//! as a refund to pay out.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::credit_balance::{self, Movement};
use crate::billing::wallets;
use crate::db::credit_notes::{self as rows, CreditNoteLineRow, CreditNoteRow, IDEMPOTENCY_INDEX, RefundRow};
use crate::db::errors::unique_violation;
use crate::db::invoice_adjustments::{self, CreditNoteTaxRow};
use crate::db::invoices::{self as invoice_rows, InvoiceRow};
use crate::db::wallets::WalletRow;
use crate::db::{DbPool, connection};
use crate::domain::adjustments::reversed_taxes;
use crate::domain::credit_balance::CreditBalanceReason;
use crate::domain::credit_note::{
    CreditNoteReason, CreditRefusal, CreditRequest, CreditSplit, CreditableInvoice, LineCredit, RefundDestination,
    check_credit_amount, format_credit_note_number, plan_credit_note,
};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::money::round_amount;
use crate::domain::outbox::EventType;
use crate::error::{AppError, AppResult};
use crate::outbox::objects::emit_invoice_if_paid;
use crate::outbox::views::{CreditNoteView, invoice_payment_status};
use crate::outbox::{self};

/// What to credit, as the client sent it (amounts not yet checked against
/// the invoice's currency).
#[derive(Debug, Clone)]
pub enum Credit {
    Amount(Decimal),
    /// `(line item id, amount)`, each line once.
    Lines(Vec<(Uuid, Decimal)>),
}

impl Credit {
    /// The total asked for, to compare a replayed request with the first.
    fn total(&self) -> Option<Decimal> {
        match self {
            Credit::Amount(amount) => Some(*amount),
            Credit::Lines(lines) => crate::domain::money::checked_sum(lines.iter().map(|l| l.1)),
        }
    }
}

/// Where the refunded part goes, with what each destination needs.
#[derive(Debug, Clone)]
pub enum Refund {
    CreditBalance,
    Wallet(Uuid),
    /// The stored payment method name and the payout's reference.
    Record {
        method: &'static str,
        reference: Option<String>,
    },
}

impl Refund {
    fn destination(&self) -> RefundDestination {
        match self {
            Refund::CreditBalance => RefundDestination::CreditBalance,
            Refund::Wallet(_) => RefundDestination::Wallet,
            Refund::Record { .. } => RefundDestination::RecordRefund,
        }
    }
}

/// A checked request for a credit note (text and shape checked by the caller).
#[derive(Debug, Clone)]
pub struct CreditNoteDraft {
    pub invoice_id: Uuid,
    pub credit: Credit,
    pub reason: CreditNoteReason,
    pub memo: Option<String>,
    pub refund: Option<Refund>,
    pub idempotency_key: Option<String>,
}

fn refusal(refusal: CreditRefusal) -> AppError {
    if refusal.is_conflict() {
        AppError::conflict(refusal.message())
    } else {
        AppError::validation(refusal.field(), refusal.message())
    }
}

fn reused_key() -> AppError {
    AppError::conflict("idempotencyKey was already used for a different credit note")
}

/// Creates a credit note of a finalized invoice and applies it: the
/// invoice's amount due drops first, the rest goes where `refund` says.
/// The same idempotency key returns the first credit note again.
pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: CreditNoteDraft) -> AppResult<CreditNoteRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        // The invoice lock serialises the credit notes of one invoice.
        let mut invoice = invoice_rows::invoice_for_update(conn, tenant_id, draft.invoice_id)
            .await?
            .ok_or_else(|| AppError::not_found("invoice"))?;
        if let Some(key) = &draft.idempotency_key
            && let Some(first) = rows::credit_note_by_key(conn, tenant_id, key).await?
        {
            let same = first.invoice_id == invoice.id && draft.credit.total() == Some(first.total);
            return if same { Ok(first) } else { Err(reused_key()) };
        }
        match invoice.status {
            InvoiceStatus::Finalized => {}
            InvoiceStatus::Draft => {
                return Err(AppError::conflict(
                    "invoice is a DRAFT; only a FINALIZED invoice can be credited (change the draft instead)",
                ));
            }
            InvoiceStatus::Voided => {
                return Err(AppError::conflict(
                    "invoice is VOIDED; only a FINALIZED invoice can be credited",
                ));
            }
        }
        let (request, lines) = checked_request(conn, &invoice, &draft.credit).await?;
        let creditable = CreditableInvoice {
            charged: invoice.charged().max(Decimal::ZERO),
            credited: invoice.credit_note_total,
            amount_due: invoice.amount_due(),
        };
        let refund_to = draft.refund.as_ref().map(Refund::destination);
        let split = plan_credit_note(creditable, &request, refund_to, invoice.currency).map_err(refusal)?;
        let refund = draft.refund.as_ref().filter(|_| split.refunded > Decimal::ZERO);
        let now = Utc::now();
        // Where the refund goes is locked before the number is taken: the
        // counter is the last lock, so credit notes never wait on it while
        // holding anything a finalization needs.
        let wallet = match refund {
            Some(Refund::Wallet(wallet_id)) => Some(
                wallets::lock_refund_wallet(
                    conn,
                    tenant_id,
                    *wallet_id,
                    invoice.customer_id,
                    invoice.currency,
                    "input.walletId",
                )
                .await?,
            ),
            Some(Refund::CreditBalance) => {
                credit_balance::lock(conn, tenant_id, invoice.customer_id, invoice.currency, now).await?;
                None
            }
            _ => None,
        };
        let number = rows::take_credit_note_number(conn, tenant_id).await?;
        let note_id = Uuid::now_v7();
        let taxes = reversed_tax_rows(conn, &invoice, note_id, split.total, &lines, &request).await?;
        let note = CreditNoteRow {
            tenant_id,
            id: note_id,
            number: format_credit_note_number(number),
            invoice_id: invoice.id,
            customer_id: invoice.customer_id,
            currency: invoice.currency,
            reason: draft.reason,
            memo: draft.memo.clone(),
            total: split.total,
            amount_credited: split.amount_credited,
            refunded_amount: split.refunded,
            refund_to: refund.map(Refund::destination),
            wallet_id: wallet.as_ref().map(|w| w.id),
            idempotency_key: draft.idempotency_key.clone(),
            created_at: now,
            tax_amount: taxes.iter().map(|t| t.amount).sum(),
        };
        let note = rows::insert_credit_note(conn, &note)
            .await
            .map_err(|e| match unique_violation(&e) {
                // Only a credit note of another invoice can race past the lock above.
                Some(IDEMPOTENCY_INDEX) => reused_key(),
                _ => AppError::from(e),
            })?;
        let note_lines: Vec<CreditNoteLineRow> = lines
            .iter()
            .map(|&(line_item_id, amount)| CreditNoteLineRow {
                tenant_id,
                credit_note_id: note.id,
                line_item_id,
                amount,
            })
            .collect();
        rows::insert_lines(conn, &note_lines).await?;
        invoice_adjustments::insert_credit_note_taxes(conn, &taxes).await?;
        let before = invoice_payment_status(&invoice);
        invoice.credit_note_total += split.total;
        invoice.amount_credited += split.amount_credited;
        invoice.updated_at = now;
        invoice_rows::save_invoice(conn, &invoice).await?;
        if let Some(refund) = refund {
            pay_back(conn, &invoice, &note, &split, refund, wallet).await?;
        }
        let refunds = rows::refunds_of_credit_notes(conn, tenant_id, &[note.id]).await?;
        let view = CreditNoteView::new(&note, &note_lines, &refunds);
        outbox::emit(conn, tenant_id, EventType::CreditNoteCreated, note.id, &view).await?;
        emit_invoice_if_paid(conn, before, &invoice).await?;
        Ok(note)
    })
    .await
}

/// The tax a credit note reverses, per rate of the invoice: each credited
/// line gives back its share of the line's taxes, a credit of an amount
/// its share of the invoice's (`domain::adjustments::reversed_taxes`).
async fn reversed_tax_rows(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    credit_note_id: Uuid,
    total: Decimal,
    lines: &[(Uuid, Decimal)],
    request: &CreditRequest,
) -> AppResult<Vec<CreditNoteTaxRow>> {
    // What each credited line charged, as `checked_request` read it, in `lines`' order.
    let charged: Vec<Decimal> = match request {
        CreditRequest::Lines(credits) => credits.iter().map(|c| c.line_amount).collect(),
        CreditRequest::Amount(_) => Vec::new(),
    };
    let (tenant_id, currency) = (invoice.tenant_id, invoice.currency);
    let rates = invoice_adjustments::taxes_of(conn, tenant_id, &[invoice.id]).await?;
    if rates.is_empty() {
        return Ok(Vec::new());
    }
    let mut reversed = vec![Decimal::ZERO; rates.len()];
    if lines.is_empty() {
        let taxes: Vec<Decimal> = rates.iter().map(|r| r.amount).collect();
        reversed = reversed_taxes(total, invoice.charged(), &taxes, currency);
    } else {
        let line_taxes = invoice_adjustments::line_taxes_of(conn, tenant_id, &[invoice.id]).await?;
        for (&(line_id, amount), line_charged) in lines.iter().zip(charged) {
            let taxes: Vec<Decimal> = rates
                .iter()
                .map(|rate| {
                    line_taxes
                        .iter()
                        .find(|t| t.line_item_id == line_id && t.tax_rate_id == rate.tax_rate_id)
                        .map_or(Decimal::ZERO, |t| t.amount)
                })
                .collect();
            for (sum, part) in reversed
                .iter_mut()
                .zip(reversed_taxes(amount, line_charged, &taxes, currency))
            {
                *sum += part;
            }
        }
    }
    Ok(rates
        .into_iter()
        .zip(reversed)
        .map(|(rate, amount)| CreditNoteTaxRow {
            tenant_id,
            credit_note_id,
            tax_rate_id: rate.tax_rate_id,
            name: rate.name,
            percentage: rate.percentage,
            inclusive: rate.inclusive,
            amount: round_amount(amount, currency),
        })
        .collect())
}

/// The request checked against the invoice: amounts in its currency, lines
/// of this invoice, with what earlier credit notes credited on each. Also
/// returns the lines to store, `(line item id, amount)`.
async fn checked_request(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    credit: &Credit,
) -> AppResult<(CreditRequest, Vec<(Uuid, Decimal)>)> {
    let currency = invoice.currency;
    let lines = match credit {
        Credit::Amount(amount) => {
            let amount = check_credit_amount("input.amount", *amount, currency)?;
            return Ok((CreditRequest::Amount(amount), Vec::new()));
        }
        Credit::Lines(lines) => lines,
    };
    let mut checked = Vec::with_capacity(lines.len());
    for (i, &(line_id, amount)) in lines.iter().enumerate() {
        checked.push((
            line_id,
            check_credit_amount(&format!("input.lines[{i}].amount"), amount, currency)?,
        ));
    }
    let ids: Vec<Uuid> = checked.iter().map(|l| l.0).collect();
    let found: HashMap<Uuid, Decimal> = invoice_rows::lines_by_ids(conn, invoice.tenant_id, &ids)
        .await?
        .into_iter()
        .filter(|line| line.invoice_id == invoice.id)
        .map(|line| (line.id, line.charged()))
        .collect();
    let credited: HashMap<Uuid, Decimal> = rows::credited_per_line(conn, invoice.tenant_id, &ids)
        .await?
        .into_iter()
        .collect();
    let mut request = Vec::with_capacity(checked.len());
    let mut seen = HashSet::new();
    for (i, &(line_id, amount)) in checked.iter().enumerate() {
        let Some(&line_amount) = found.get(&line_id) else {
            return Err(AppError::validation(
                format!("input.lines[{i}].lineItemId"),
                "is not a line of this invoice",
            ));
        };
        if !seen.insert(line_id) {
            return Err(AppError::validation(
                format!("input.lines[{i}].lineItemId"),
                "names a line already credited by an earlier entry of lines",
            ));
        }
        request.push(LineCredit {
            amount,
            line_amount,
            line_credited: credited.get(&line_id).copied().unwrap_or_default(),
        });
    }
    Ok((CreditRequest::Lines(request), checked))
}

/// Sends the refunded part of a credit note where it goes; the destination
/// is locked already.
async fn pay_back(
    conn: &mut AsyncPgConnection,
    invoice: &InvoiceRow,
    note: &CreditNoteRow,
    split: &CreditSplit,
    refund: &Refund,
    wallet: Option<WalletRow>,
) -> AppResult<()> {
    let now = note.created_at;
    match (refund, wallet) {
        (Refund::CreditBalance, _) => {
            let movement = Movement {
                customer_id: invoice.customer_id,
                currency: invoice.currency,
                amount: split.refunded,
                reason: CreditBalanceReason::CreditNote,
                invoice_id: invoice.id,
                credit_note_id: Some(note.id),
            };
            credit_balance::record(conn, invoice.tenant_id, movement, now).await?;
        }
        (Refund::Wallet(_), Some(wallet)) => {
            wallets::refund_to_wallet(conn, wallet, split.refunded, note.id, "input.walletId", now).await?;
        }
        (Refund::Wallet(_), None) => {
            return Err(AppError::internal(anyhow::anyhow!(
                "a wallet refund without its locked wallet"
            )));
        }
        (Refund::Record { method, reference }, _) => {
            let row = RefundRow {
                tenant_id: invoice.tenant_id,
                id: Uuid::now_v7(),
                credit_note_id: note.id,
                amount: split.refunded,
                method: method.to_string(),
                reference: reference.clone(),
                created_at: now,
                provider_refund_id: None,
                provider_status: None,
            };
            rows::insert_refund(conn, &row).await?;
            // A card refund of an invoice paid through Stripe is paid out by Stripe.
            if *method == crate::domain::invoice::PaymentMethod::Card.as_str() {
                crate::db::providers::queue_refund_if_paid_by_card(conn, invoice.tenant_id, invoice.id, row.id, now)
                    .await?;
            }
        }
    }
    Ok(())
}
