//! Events about objects whose view needs more than their own row (a
//! subscription's phases, an invoice's lines), read in the transaction of
//! the change, and the rules for when derived events follow a change.

use std::collections::HashMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::invoices::{self as invoice_rows, InvoiceRow, LineRow};
use crate::db::subscriptions::SubscriptionRow;
use crate::domain::invoice::PaymentStatus;
use crate::domain::outbox::{EventType, newly_paid};
use crate::error::AppResult;
use crate::hosted_links::HostedLinks;
use crate::outbox::views::{InvoiceView, SubscriptionView, invoice_payment_status};
use crate::outbox::{emit, emit_many};
use crate::subscriptions::phases_by_subscription;

/// Records `event` about a subscription as it now is.
pub async fn emit_subscription(conn: &mut AsyncPgConnection, event: EventType, row: &SubscriptionRow) -> AppResult<()> {
    let phases = phases_by_subscription(conn, row.tenant_id, std::slice::from_ref(row))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    let view = SubscriptionView::new(row, &phases, Utc::now());
    emit(conn, row.tenant_id, event, row.id, &view).await?;
    Ok(())
}

/// Records `event` about one invoice, reading its lines.
pub async fn emit_invoice(conn: &mut AsyncPgConnection, event: EventType, row: &InvoiceRow) -> AppResult<()> {
    let lines = invoice_rows::lines_of(conn, row.tenant_id, &[row.id]).await?;
    emit_invoices(conn, event, &[row], &lines).await
}

/// Records `event` about each of `rows` in one statement; `lines` hold (at
/// least) their lines, in order.
pub async fn emit_invoices(
    conn: &mut AsyncPgConnection,
    event: EventType,
    rows: &[&InvoiceRow],
    lines: &[LineRow],
) -> AppResult<()> {
    emit_invoice_views(conn, event, rows, lines, None).await
}

/// Records invoice.finalized about each of `rows`, with the hosted page
/// each recipient can open (valid from now for the configured lifetime).
pub async fn emit_finalized_invoices(
    conn: &mut AsyncPgConnection,
    rows: &[&InvoiceRow],
    lines: &[LineRow],
    links: &HostedLinks,
) -> AppResult<()> {
    emit_invoice_views(conn, EventType::InvoiceFinalized, rows, lines, Some(links)).await
}

async fn emit_invoice_views(
    conn: &mut AsyncPgConnection,
    event: EventType,
    rows: &[&InvoiceRow],
    lines: &[LineRow],
    links: Option<&HostedLinks>,
) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut lines_of: HashMap<(Uuid, Uuid), Vec<&LineRow>> = HashMap::new();
    for line in lines {
        lines_of
            .entry((line.tenant_id, line.invoice_id))
            .or_default()
            .push(line);
    }
    let now = Utc::now();
    let items: Vec<(Uuid, Uuid, InvoiceView)> = rows
        .iter()
        .map(|r| {
            let own = lines_of
                .get(&(r.tenant_id, r.id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut view = InvoiceView::new(r, own, now);
            view.hosted_url = links.map(|links| links.invoice_url(r.tenant_id, r.id, now));
            (r.tenant_id, r.id, view)
        })
        .collect();
    emit_many(conn, event, &items).await?;
    Ok(())
}

/// Records invoice.paid for an invoice whose change (a payment, a credit
/// note) settled it; `before` is its payment status before the change.
pub async fn emit_invoice_if_paid(
    conn: &mut AsyncPgConnection,
    before: PaymentStatus,
    row: &InvoiceRow,
) -> AppResult<()> {
    if newly_paid(before, invoice_payment_status(row)) {
        emit_invoice(conn, EventType::InvoicePaid, row).await?;
    }
    Ok(())
}
