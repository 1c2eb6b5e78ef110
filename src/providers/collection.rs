//! What the provider's answers about a charge do, whoever brings them (the
//! worker's synchronous answer or a webhook, in any order, any number of
//! times): each runs inside the caller's transaction and acts once.
//!
//! - success records the payment (method CARD, reference the PaymentIntent)
//!   through the payment service; the payment's idempotency key and the
//!   unique index on card references make a second record impossible;
//! - failure marks the attempt failed, emits `invoice.payment_failed` and
//!   queues the next attempt on the retry schedule, once per attempt;
//! - requires_action marks the attempt as waiting for the customer.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::billing::payments::{self, PaymentDraft};
use crate::db::invoices::{self as invoice_rows, InvoiceRow};
use crate::db::providers::{self as rows, Settlement};
use crate::domain::invoice::{InvoiceStatus, PaymentMethod};
use crate::domain::outbox::EventType;
use crate::domain::provider::{AttemptStatus, TaskKind, from_minor_units, next_retry_at};
use crate::error::{AppError, AppResult};
use crate::outbox::objects::emit_invoice;

/// Metadata keys billgraph puts on its PaymentIntents.
pub const INVOICE_KEY: &str = "billgraph_invoice_id";
pub const TENANT_KEY: &str = "billgraph_tenant_id";
pub const ATTEMPT_KEY: &str = "billgraph_attempt";

/// The invoice a PaymentIntent is for, from its metadata.
#[derive(Debug, Clone, Copy)]
pub struct ChargeRef {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub attempt: i32,
}

async fn invoice(conn: &mut AsyncPgConnection, tenant_id: Uuid, invoice_id: Uuid) -> AppResult<Option<InvoiceRow>> {
    Ok(invoice_rows::invoices_by_ids(conn, tenant_id, &[invoice_id])
        .await?
        .pop())
}

/// Records the PaymentIntent's payment once, and settles its attempt.
pub async fn succeeded(
    conn: &mut AsyncPgConnection,
    charge: ChargeRef,
    intent_id: &str,
    amount_minor: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(row) = invoice(conn, charge.tenant_id, charge.invoice_id).await? else {
        tracing::warn!(invoice = %charge.invoice_id, "a PaymentIntent names an unknown invoice; ignored");
        return Ok(());
    };
    rows::set_attempt_intent(conn, charge.tenant_id, charge.invoice_id, charge.attempt, intent_id).await?;
    let settled = Settlement {
        status: AttemptStatus::Succeeded,
        error: None,
        failed_at: None,
        next_retry_at: None,
        now,
    };
    rows::settle_attempt(conn, charge.tenant_id, charge.invoice_id, charge.attempt, settled).await?;
    let draft = PaymentDraft {
        invoice_id: charge.invoice_id,
        amount: from_minor_units(amount_minor, row.currency),
        method: PaymentMethod::Card,
        reference: Some(intent_id.to_string()),
        idempotency_key: format!("stripe:{intent_id}"),
    };
    match payments::record_in(conn, charge.tenant_id, &draft).await {
        Ok(_) => Ok(()),
        // Paid some other way meanwhile, or voided: the money at Stripe
        // must go back by hand; nothing here may fail the report.
        Err(AppError::Conflict(why) | AppError::Validation(crate::domain::ValidationError { message: why, .. })) => {
            tracing::error!(invoice = %charge.invoice_id, intent = intent_id, %why, "a Stripe payment could not be recorded; refund it in Stripe");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Marks the attempt failed and, the first time only, tells the outbox and
/// queues the next attempt `retry_days` after the first failure.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    charge: ChargeRef,
    intent_id: Option<&str>,
    message: &str,
    retry_days: &[u32],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(row) = invoice(conn, charge.tenant_id, charge.invoice_id).await? else {
        return Ok(());
    };
    if let Some(intent_id) = intent_id {
        rows::set_attempt_intent(conn, charge.tenant_id, charge.invoice_id, charge.attempt, intent_id).await?;
    }
    let first_failure = rows::first_failure(conn, charge.tenant_id, charge.invoice_id)
        .await?
        .unwrap_or(now);
    let still_due = row.status == InvoiceStatus::Finalized && row.amount_due() > Decimal::ZERO;
    let retry = next_retry_at(first_failure, charge.attempt, retry_days).filter(|_| still_due);
    let settled = Settlement {
        status: AttemptStatus::Failed,
        error: Some(message),
        failed_at: Some(now),
        next_retry_at: retry,
        now,
    };
    let Some(_) = rows::settle_attempt(conn, charge.tenant_id, charge.invoice_id, charge.attempt, settled).await?
    else {
        // Already settled by an earlier report.
        return Ok(());
    };
    emit_invoice(conn, EventType::InvoicePaymentFailed, &row).await?;
    if let Some(at) = retry {
        rows::queue_task(
            conn,
            charge.tenant_id,
            TaskKind::ChargeInvoice,
            row.id,
            charge.attempt + 1,
            at,
        )
        .await?;
    }
    Ok(())
}

/// The card's issuer asks the customer to authenticate: the attempt waits.
pub async fn requires_action(
    conn: &mut AsyncPgConnection,
    charge: ChargeRef,
    intent_id: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    rows::set_attempt_intent(conn, charge.tenant_id, charge.invoice_id, charge.attempt, intent_id).await?;
    let settled = Settlement {
        status: AttemptStatus::RequiresAction,
        error: Some("the customer must authenticate the payment"),
        failed_at: None,
        next_retry_at: None,
        now,
    };
    rows::settle_attempt(conn, charge.tenant_id, charge.invoice_id, charge.attempt, settled).await?;
    Ok(())
}
