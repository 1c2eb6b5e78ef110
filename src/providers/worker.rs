//! The provider worker: leases due tasks (several servers share them without
//! running one twice at once), sends each to Stripe, and marks it done or
//! postpones it with backoff. A task reads what it sends when it runs, so
//! tasks reordered or retried never send an older state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use rust_decimal::Decimal;

use super::collection::{self, ATTEMPT_KEY, ChargeRef, INVOICE_KEY, TENANT_KEY};
use super::connections::stripe_for;
use super::customers::{ensure_in_stripe, mapped_id, profile_of};
use super::stripe::Stripe;
use super::{ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundRequest};
use crate::config::ProviderSettings;
use crate::db::customers as customer_rows;
use crate::db::invoices as invoice_rows;
use crate::db::providers::{self as rows, TaskRow};
use crate::db::{DbPool, connection};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::money::Currency;
use crate::domain::provider::{TaskKind, task_backoff, to_minor_units};
use crate::error::{AppError, AppResult};
use crate::secrets::SecretBox;
use crate::telemetry::error_detail;

/// Tasks leased per round.
const BATCH: i32 = 20;
/// How long a leased task is kept from other workers; longer than any call.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// Why a task did not finish: it runs again later.
#[derive(Debug)]
enum Postpone {
    /// The tenant is not connected (any more); wait for a connection.
    NotConnected,
    Failed(String),
}

impl From<AppError> for Postpone {
    fn from(e: AppError) -> Self {
        Postpone::Failed(format!("{e}: {e:?}"))
    }
}

impl From<ProviderError> for Postpone {
    fn from(e: ProviderError) -> Self {
        Postpone::Failed(e.message)
    }
}

impl From<diesel::result::Error> for Postpone {
    fn from(e: diesel::result::Error) -> Self {
        Postpone::Failed(e.to_string())
    }
}

/// Runs every task due at `now` (tests pass a later `now` to move time
/// forward); returns how many tasks ran.
pub async fn run_due(
    pool: &DbPool,
    secrets: &SecretBox,
    settings: &ProviderSettings,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut ran = 0;
    loop {
        let tasks = {
            let mut conn = connection(pool).await?;
            rows::lease_due(&mut conn, now, now + LEASE, BATCH).await?
        };
        if tasks.is_empty() {
            return Ok(ran);
        }
        for task in &tasks {
            let outcome = run_task(pool, secrets, settings, task, now).await;
            let mut conn = connection(pool).await?;
            match outcome {
                Ok(()) => rows::finish_task(&mut conn, task, now).await?,
                Err(Postpone::NotConnected) => {
                    let later = now + chrono::Duration::hours(1);
                    rows::postpone_task(&mut conn, task, "the tenant is not connected to Stripe", later).await?
                }
                Err(Postpone::Failed(why)) => {
                    tracing::warn!(task = %task.id, kind = %task.kind, error = %why, "provider task failed; will retry");
                    rows::postpone_task(&mut conn, task, &why, now + task_backoff(task.tries)).await?
                }
            }
        }
        ran += tasks.len();
    }
}

/// Runs the due tasks every `interval` until the process ends.
pub fn spawn_worker(pool: DbPool, secrets: SecretBox, settings: ProviderSettings, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_due(&pool, &secrets, &settings, Utc::now()).await {
                tracing::error!("provider worker failed, will retry: {}", error_detail(&e));
            }
        }
    });
}

async fn run_task(
    pool: &DbPool,
    secrets: &SecretBox,
    settings: &ProviderSettings,
    task: &TaskRow,
    now: DateTime<Utc>,
) -> Result<(), Postpone> {
    let stripe = {
        let mut conn = connection(pool).await?;
        stripe_for(&mut conn, secrets, task.tenant_id).await?
    };
    let Some(stripe) = stripe else {
        return Err(Postpone::NotConnected);
    };
    match task.kind {
        TaskKind::SyncCustomer => sync_customer(pool, &stripe, task).await,
        TaskKind::ChargeInvoice => charge_invoice(pool, &stripe, settings, task, now).await,
        TaskKind::Refund => refund(pool, &stripe, task).await,
    }
}

/// Sends the customer's current state to the Stripe customer it maps to.
async fn sync_customer(pool: &DbPool, stripe: &Stripe, task: &TaskRow) -> Result<(), Postpone> {
    let Some(stripe_id) = mapped_id(pool, task.tenant_id, task.object_id).await? else {
        return Ok(());
    };
    let row = {
        let mut conn = connection(pool).await?;
        customer_rows::find_by_ids(&mut conn, task.tenant_id, &[task.object_id])
            .await?
            .pop()
    };
    let Some(row) = row else { return Ok(()) };
    // A try sends the state current when it runs, so each try has its key.
    let key = format!("billgraph-sync-{}-{}", task.id, task.tries);
    stripe.update_customer(&stripe_id, &profile_of(&row), &key).await?;
    Ok(())
}

/// One attempt to charge what the invoice still asks for.
async fn charge_invoice(
    pool: &DbPool,
    stripe: &Stripe,
    settings: &ProviderSettings,
    task: &TaskRow,
    now: DateTime<Utc>,
) -> Result<(), Postpone> {
    let (tenant_id, invoice_id, attempt) = (task.tenant_id, task.object_id, task.attempt);
    let invoice = {
        let mut conn = connection(pool).await?;
        invoice_rows::invoices_by_ids(&mut conn, tenant_id, &[invoice_id])
            .await?
            .pop()
    };
    let Some(invoice) = invoice else { return Ok(()) };
    let due = invoice.amount_due();
    if invoice.status != InvoiceStatus::Finalized || due <= Decimal::ZERO {
        return Ok(());
    }
    let record = {
        let mut conn = connection(pool).await?;
        rows::ensure_attempt(&mut conn, tenant_id, invoice_id, attempt, now).await?
    };
    if !record.status.is_open() {
        return Ok(());
    }
    let charge = ChargeRef {
        tenant_id,
        invoice_id,
        attempt,
    };
    let amount = minor(due, invoice.currency)?;
    let stripe_customer = ensure_in_stripe(pool, stripe, tenant_id, invoice.customer_id).await?;
    let Some(card) = stripe.default_payment_method(&stripe_customer).await? else {
        let mut conn = connection(pool).await?;
        let days = &settings.retry_days;
        conn.transaction(async |conn| {
            collection::failed(conn, charge, None, "the customer has no saved card", days, now).await
        })
        .await?;
        return Ok(());
    };
    let key = format!("{invoice_id}-{attempt}");
    let outcome = stripe
        .charge(&ChargeRequest {
            provider_customer_id: &stripe_customer,
            payment_method_id: &card.id,
            amount,
            currency: invoice.currency,
            idempotency_key: &key,
            metadata: vec![
                (INVOICE_KEY, invoice_id.to_string()),
                (TENANT_KEY, tenant_id.to_string()),
                (ATTEMPT_KEY, attempt.to_string()),
            ],
        })
        .await?;
    let mut conn = connection(pool).await?;
    let days = &settings.retry_days;
    conn.transaction(async |conn| match &outcome {
        ChargeOutcome::Succeeded { intent_id, amount } => {
            collection::succeeded(conn, charge, intent_id, *amount, now).await
        }
        ChargeOutcome::Failed { intent_id, message } => {
            collection::failed(conn, charge, intent_id.as_deref(), message, days, now).await
        }
        ChargeOutcome::RequiresAction { intent_id } => collection::requires_action(conn, charge, intent_id, now).await,
        ChargeOutcome::Processing { intent_id } => {
            rows::set_attempt_intent(conn, tenant_id, invoice_id, attempt, intent_id).await?;
            Ok(())
        }
    })
    .await?;
    Ok(())
}

fn minor(amount: Decimal, currency: Currency) -> Result<i64, Postpone> {
    to_minor_units(amount, currency)
        .ok_or_else(|| Postpone::Failed(format!("{amount} {currency} is not a whole number of minor units")))
}

/// Sends a credit note's refund to Stripe, once (the refund id is the key).
async fn refund(pool: &DbPool, stripe: &Stripe, task: &TaskRow) -> Result<(), Postpone> {
    let refund = {
        let mut conn = connection(pool).await?;
        rows::refund_to_send(&mut conn, task.tenant_id, task.object_id).await?
    };
    let Some(refund) = refund else { return Ok(()) };
    let Some(intent) = refund.payment_intent_id.as_deref() else {
        return Ok(());
    };
    if refund.provider_refund_id.is_some() {
        return Ok(());
    }
    let currency = Currency::parse("currency", &refund.currency).map_err(|e| Postpone::Failed(e.message))?;
    let outcome = stripe
        .refund(&RefundRequest {
            payment_intent_id: intent,
            amount: minor(refund.amount, currency)?,
            idempotency_key: &format!("billgraph-refund-{}", task.object_id),
            metadata: vec![
                ("billgraph_refund_id", task.object_id.to_string()),
                (INVOICE_KEY, refund.invoice_id.to_string()),
                (TENANT_KEY, task.tenant_id.to_string()),
            ],
        })
        .await?;
    let mut conn = connection(pool).await?;
    rows::record_refund_outcome(&mut conn, task.tenant_id, task.object_id, &outcome.id, &outcome.status).await?;
    Ok(())
}
