//! Builds the [`Document`] of an invoice or a credit note from what is
//! stored: its lines, discounts, taxes, payments and credits, and the
//! parties as the invoice was issued (as they are now, for a draft).

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::credit_notes::{self as credit_note_rows, CreditNoteRow};
use crate::db::invoice_adjustments as adjustment_rows;
use crate::db::invoices::{self as invoice_rows, InvoiceRow, LineRow};
use crate::db::json_text::JsonText;
use crate::db::parties;
use crate::db::plans;
use crate::documents::model::{Document, DocumentKind, DocumentLine, DocumentPayment, DocumentTier, SummaryRow};
use crate::documents::parties::PartySnapshot;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::money::{Currency, round_amount};
use crate::domain::pricing::{BillingModel, Tier, price_usage};
use crate::error::{AppError, AppResult};
use crate::plans::model_json;

/// The document of one of the tenant's invoices; NOT_FOUND for another
/// tenant's. `pdf_link` is shown on the hosted page.
pub async fn invoice_document(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    pdf_link: Option<String>,
) -> AppResult<Document> {
    let invoice = invoice_rows::invoices_by_ids(conn, tenant_id, &[invoice_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("invoice"))?;
    let currency = invoice.currency;
    let lines = invoice_rows::lines_of(conn, tenant_id, &[invoice.id]).await?;
    let discounts = adjustment_rows::discounts_of(conn, tenant_id, &[invoice.id]).await?;
    let line_discounts = adjustment_rows::line_discounts_of(conn, tenant_id, &[invoice.id]).await?;
    let taxes = adjustment_rows::taxes_of(conn, tenant_id, &[invoice.id]).await?;
    let line_taxes = adjustment_rows::line_taxes_of(conn, tenant_id, &[invoice.id]).await?;
    let payments = invoice_rows::payments_of(conn, tenant_id, &[invoice.id]).await?;
    let (issuer, recipient) = parties_of(conn, &invoice).await?;
    let names = customer_names(conn, tenant_id, &lines, invoice.customer_id).await?;
    let models = price_models(conn, tenant_id, &lines).await?;

    let document_lines = lines
        .iter()
        .map(|line| {
            let mut adjustments: Vec<(String, Decimal)> = Vec::new();
            for d in line_discounts.iter().filter(|d| d.line_item_id == line.id) {
                let name = discounts
                    .iter()
                    .find(|x| x.discount_id == d.discount_id)
                    .map_or("Discount", |x| x.description.as_str());
                adjustments.push((format!("Discount: {name}"), -round_amount(d.amount, currency)));
            }
            for t in line_taxes.iter().filter(|t| t.line_item_id == line.id) {
                if let Some(rate) = taxes.iter().find(|r| r.tax_rate_id == t.tax_rate_id) {
                    adjustments.push((
                        tax_label(&rate.name, rate.percentage, rate.inclusive),
                        round_amount(t.amount, currency),
                    ));
                }
            }
            DocumentLine {
                description: line.description.clone(),
                for_customer: (line.customer_id != invoice.customer_id)
                    .then(|| names.get(&line.customer_id).cloned())
                    .flatten(),
                period: line.period_start.zip(line.period_end),
                quantity: line.quantity.normalize(),
                unit_amount: line.unit_amount.map(|u| u.normalize()),
                tiers: tiers_of(line, &models, currency),
                amount: round_amount(line.amount, currency),
                adjustments,
            }
        })
        .collect();

    let money = |amount: Decimal| round_amount(amount, currency);
    let row = |label: &str, amount: Decimal, emphasis: bool| SummaryRow {
        label: label.to_owned(),
        amount: money(amount),
        emphasis,
    };
    let mut summary = vec![row("Subtotal", invoice.subtotal, false)];
    for d in &discounts {
        summary.push(row(&format!("Discount: {}", d.description), -d.amount, false));
    }
    for t in &taxes {
        summary.push(row(&tax_label(&t.name, t.percentage, t.inclusive), t.amount, false));
    }
    summary.push(row("Total", invoice.charged().max(Decimal::ZERO), true));
    if invoice.credit_balance_applied > Decimal::ZERO {
        summary.push(row("Credit balance applied", -invoice.credit_balance_applied, false));
    }
    if invoice.credits_applied > Decimal::ZERO {
        summary.push(row("Wallet credits applied", -invoice.credits_applied, false));
    }
    if invoice.amount_paid > Decimal::ZERO {
        summary.push(row("Paid", -invoice.amount_paid, false));
    }
    if invoice.amount_credited > Decimal::ZERO {
        summary.push(row("Credited", -invoice.amount_credited, false));
    }
    summary.push(row("Amount due", invoice.amount_due(), true));

    Ok(Document {
        kind: DocumentKind::Invoice,
        watermark: match invoice.status {
            InvoiceStatus::Draft => Some("DRAFT".to_owned()),
            InvoiceStatus::Voided => Some("VOID".to_owned()),
            InvoiceStatus::Finalized => None,
        },
        number: invoice.number.clone(),
        currency: currency.code().to_owned(),
        minor_units: currency.minor_units(),
        issuer: issuer.party(),
        recipient: recipient.party(),
        issued_at: invoice.issued_at,
        due_at: invoice.due_at,
        period: invoice.period_start.zip(invoice.period_end),
        notes: Vec::new(),
        lines: document_lines,
        summary,
        payments: payments
            .iter()
            .map(|p| DocumentPayment {
                paid_at: p.created_at,
                method: p.method.as_str().to_owned(),
                reference: p.reference.clone(),
                amount: money(p.amount),
            })
            .collect(),
        footer: issuer.footer.clone(),
        pdf_link,
    })
}

/// The document of one of the tenant's credit notes; NOT_FOUND for another
/// tenant's.
pub async fn credit_note_document(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    credit_note_id: Uuid,
    pdf_link: Option<String>,
) -> AppResult<Document> {
    let note: CreditNoteRow = credit_note_rows::credit_notes_by_ids(conn, tenant_id, &[credit_note_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("credit note"))?;
    let invoice = invoice_rows::invoices_by_ids(conn, tenant_id, &[note.invoice_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("invoice"))?;
    let currency = note.currency;
    let money = |amount: Decimal| round_amount(amount, currency);
    let credited = credit_note_rows::lines_of_credit_notes(conn, tenant_id, &[note.id]).await?;
    let line_ids: Vec<Uuid> = credited.iter().map(|l| l.line_item_id).collect();
    let invoice_lines = invoice_rows::lines_by_ids(conn, tenant_id, &line_ids).await?;
    let taxes = adjustment_rows::credit_note_taxes_of(conn, tenant_id, &[note.id]).await?;
    let (issuer, recipient) = parties_of(conn, &invoice).await?;
    let invoice_number = invoice.number.clone().unwrap_or_default();

    let lines: Vec<DocumentLine> = if credited.is_empty() {
        vec![DocumentLine {
            description: format!("Credit of invoice {invoice_number}"),
            for_customer: None,
            period: None,
            quantity: Decimal::ONE,
            unit_amount: None,
            tiers: Vec::new(),
            amount: money(note.total),
            adjustments: Vec::new(),
        }]
    } else {
        credited
            .iter()
            .map(|c| {
                let line = invoice_lines.iter().find(|l| l.id == c.line_item_id);
                DocumentLine {
                    description: line.map_or_else(|| "Credited line".to_owned(), |l| l.description.clone()),
                    for_customer: None,
                    period: line.and_then(|l| l.period_start.zip(l.period_end)),
                    quantity: line.map_or(Decimal::ONE, |l| l.quantity.normalize()),
                    unit_amount: None,
                    tiers: Vec::new(),
                    amount: money(c.amount),
                    adjustments: Vec::new(),
                }
            })
            .collect()
    };
    let row = |label: String, amount: Decimal, emphasis: bool| SummaryRow {
        label,
        amount: money(amount),
        emphasis,
    };
    let mut summary = Vec::new();
    for t in &taxes {
        summary.push(row(
            format!(
                "{} (reversed, part of the total)",
                tax_label(&t.name, t.percentage, t.inclusive)
            ),
            t.amount,
            false,
        ));
    }
    summary.push(row("Total credited".to_owned(), note.total, true));
    summary.push(row("Applied to the amount due".to_owned(), note.amount_credited, false));
    if note.refunded_amount > Decimal::ZERO {
        let to = note.refund_to.map_or("", |r| r.as_str());
        summary.push(row(format!("Refunded ({to})"), note.refunded_amount, false));
    }
    let mut notes = vec![
        format!("Credits invoice {invoice_number}"),
        format!("Reason: {}", readable(note.reason.as_str())),
    ];
    notes.extend(note.memo.clone());
    Ok(Document {
        kind: DocumentKind::CreditNote,
        watermark: None,
        number: Some(note.number.clone()),
        currency: currency.code().to_owned(),
        minor_units: currency.minor_units(),
        issuer: issuer.party(),
        recipient: recipient.party(),
        issued_at: Some(note.created_at),
        due_at: None,
        period: None,
        notes,
        lines,
        summary,
        payments: Vec::new(),
        footer: issuer.footer.clone(),
        pdf_link,
    })
}

/// The issuer and recipient: as the invoice was issued, else as they are now.
async fn parties_of(conn: &mut AsyncPgConnection, invoice: &InvoiceRow) -> AppResult<(PartySnapshot, PartySnapshot)> {
    let stored = |value: &Option<JsonText>| value.as_ref().and_then(PartySnapshot::from_stored);
    let issuer = match stored(&invoice.issued_by) {
        Some(issuer) => issuer,
        None => PartySnapshot::of_tenant(&crate::db::tenants::settings(conn, invoice.tenant_id).await?),
    };
    let recipient = match stored(&invoice.billed_to) {
        Some(recipient) => recipient,
        None => parties::customer_parties(conn, invoice.tenant_id, &[invoice.customer_id])
            .await?
            .first()
            .map(PartySnapshot::of_customer)
            .unwrap_or_default(),
    };
    Ok((issuer, recipient))
}

/// The names of the customers lines are for, other than the payer.
async fn customer_names(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    lines: &[LineRow],
    payer: Uuid,
) -> AppResult<HashMap<Uuid, String>> {
    let mut ids: Vec<Uuid> = lines.iter().map(|l| l.customer_id).filter(|c| *c != payer).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(parties::customer_parties(conn, tenant_id, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// The usage models of the lines' prices, for their tier breakdowns.
async fn price_models(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    lines: &[LineRow],
) -> AppResult<HashMap<Uuid, BillingModel>> {
    let ids: Vec<Uuid> = lines
        .iter()
        .filter(|l| l.meter_id.is_some())
        .filter_map(|l| l.price_id)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(plans::prices_by_ids(conn, tenant_id, &ids)
        .await?
        .into_iter()
        .filter_map(|p| Some((p.id, model_json::from_json(p.billing_model?, p.model.as_ref()?)?)))
        .collect())
}

/// A tiered usage line's tiers, priced again from its quantity (prices
/// never change, so this is the breakdown it was billed by).
fn tiers_of(line: &LineRow, models: &HashMap<Uuid, BillingModel>, currency: Currency) -> Vec<DocumentTier> {
    let Some(model @ BillingModel::Tiered { tiers, .. }) = line.price_id.and_then(|id| models.get(&id)) else {
        return Vec::new();
    };
    let Ok(charge) = price_usage(model, line.quantity, currency) else {
        return Vec::new();
    };
    charge
        .tiers
        .iter()
        .map(|t| DocumentTier {
            label: tier_label(tiers, t.tier),
            quantity: t.quantity.normalize(),
            unit_amount: t.unit_amount.normalize(),
            flat_amount: round_amount(t.flat_amount, currency),
            amount: round_amount(t.amount, currency),
        })
        .collect()
}

/// "1 to 100", "101 to 1000", "1001 and above" for whole-unit bounds;
/// "over 0.5 up to 2" and "over 2" for fractional ones.
fn tier_label(tiers: &[Tier], index: usize) -> String {
    let lower = index.checked_sub(1).and_then(|i| tiers.get(i)).and_then(|t| t.up_to);
    let upper = tiers.get(index).and_then(|t| t.up_to).map(|u| u.normalize());
    match (lower, upper) {
        (None, Some(upper)) => format!("1 to {upper}"),
        (None, None) => "every unit".to_owned(),
        (Some(lower), upper) if lower.fract().is_zero() => {
            let from = (lower + Decimal::ONE).normalize();
            match upper {
                Some(upper) => format!("{from} to {upper}"),
                None => format!("{from} and above"),
            }
        }
        (Some(lower), Some(upper)) => format!("over {} up to {upper}", lower.normalize()),
        (Some(lower), None) => format!("over {}", lower.normalize()),
    }
}

/// A stored code as words: ORDER_CHANGE -> "Order change".
fn readable(code: &str) -> String {
    let words = code.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// "VAT 19%", "GST 10% (included)".
fn tax_label(name: &str, percentage: Decimal, inclusive: bool) -> String {
    let included = if inclusive { " (included)" } else { "" };
    format!("{name} {}%{included}", percentage.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(up_to: Option<i64>) -> Tier {
        Tier {
            up_to: up_to.map(Decimal::from),
            unit_amount: Decimal::ONE,
            flat_amount: Decimal::ZERO,
        }
    }

    #[test]
    fn tiers_are_labelled_by_their_bounds() {
        let tiers = [tier(Some(100)), tier(Some(1000)), tier(None)];
        assert_eq!(tier_label(&tiers, 0), "1 to 100");
        assert_eq!(tier_label(&tiers, 1), "101 to 1000");
        assert_eq!(tier_label(&tiers, 2), "1001 and above");
        let fractional = [
            Tier {
                up_to: Some("0.5".parse().unwrap()),
                ..tier(None)
            },
            tier(None),
        ];
        assert_eq!(tier_label(&fractional, 1), "over 0.5");
        assert_eq!(tier_label(&[tier(None)], 0), "every unit");
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(readable("ORDER_CHANGE"), "Order change");
        assert_eq!(readable("OTHER"), "Other");
        assert_eq!(readable(""), "");
    }

    #[test]
    fn tax_labels_say_when_included() {
        assert_eq!(tax_label("VAT", "19.000".parse().unwrap(), false), "VAT 19%");
        assert_eq!(tax_label("GST", Decimal::from(10), true), "GST 10% (included)");
    }
}
