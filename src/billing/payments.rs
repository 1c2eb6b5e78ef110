//! Payments against finalized invoices: idempotent, never more than is due.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::errors::unique_violation;
use crate::db::invoices::{self as rows, CARD_REFERENCE_INDEX, InvoiceRow, PAYMENT_KEY_INDEX, PaymentRow};
use crate::db::{DbPool, connection};
use crate::domain::invoice::{PaymentMethod, PaymentRefusal, check_payment};
use crate::domain::outbox::EventType;
use crate::error::{AppError, AppResult};
use crate::outbox::objects::emit_invoice_if_paid;
use crate::outbox::views::{PaymentView, invoice_payment_status};
use crate::outbox::{self};

pub struct PaymentDraft {
    pub invoice_id: Uuid,
    pub amount: Decimal,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub idempotency_key: String,
}

fn refusal(refusal: PaymentRefusal) -> AppError {
    if refusal.is_conflict() {
        AppError::conflict(refusal.message())
    } else {
        AppError::validation("input.amount", refusal.message())
    }
}

/// The payment a key already made, if it is this same payment; a key reused
/// for another payment is refused.
fn replay(existing: PaymentRow, draft: &PaymentDraft) -> AppResult<PaymentRow> {
    if existing.invoice_id == draft.invoice_id && existing.amount == draft.amount {
        Ok(existing)
    } else {
        Err(AppError::conflict(
            "idempotencyKey was already used for a different payment",
        ))
    }
}

/// Records a payment and the invoice's new amount paid. The same key
/// returns the first payment again and never pays twice.
pub async fn record(pool: &DbPool, tenant_id: Uuid, draft: PaymentDraft) -> AppResult<(PaymentRow, InvoiceRow)> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| record_in(conn, tenant_id, &draft).await)
        .await
}

/// [`record`] inside the caller's transaction (a payment provider's report
/// is recorded with the rest of what it changes).
pub async fn record_in(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    draft: &PaymentDraft,
) -> AppResult<(PaymentRow, InvoiceRow)> {
    // The invoice lock serialises payments of one invoice, retries included.
    let mut invoice = rows::invoice_for_update(conn, tenant_id, draft.invoice_id)
        .await?
        .ok_or_else(|| AppError::not_found("invoice"))?;
    if let Some(existing) = rows::payment_by_key(conn, tenant_id, &draft.idempotency_key).await? {
        return Ok((replay(existing, draft)?, invoice));
    }
    let currency = invoice.currency;
    let status = invoice.status;
    let due = invoice.amount_due();
    let amount = check_payment(status, draft.amount, due, currency).map_err(refusal)?;
    let now = Utc::now();
    let payment = rows::insert_payment(
        conn,
        &PaymentRow {
            tenant_id,
            id: Uuid::now_v7(),
            invoice_id: invoice.id,
            amount,
            method: draft.method,
            reference: draft.reference.clone(),
            idempotency_key: draft.idempotency_key.clone(),
            created_at: now,
        },
    )
    .await
    .map_err(|e| match unique_violation(&e) {
        // Only a payment of another invoice can race past the lock above.
        Some(PAYMENT_KEY_INDEX) => AppError::conflict("idempotencyKey was already used for a different payment"),
        Some(CARD_REFERENCE_INDEX) => AppError::conflict("a payment for this PaymentIntent is already recorded"),
        _ => AppError::from(e),
    })?;
    let before = invoice_payment_status(&invoice);
    invoice.amount_paid += amount;
    invoice.updated_at = now;
    let invoice = rows::save_invoice(conn, &invoice).await?;
    let view = PaymentView::new(&payment, currency);
    outbox::emit(conn, tenant_id, EventType::PaymentRecorded, payment.id, &view).await?;
    emit_invoice_if_paid(conn, before, &invoice).await?;
    Ok((payment, invoice))
}
