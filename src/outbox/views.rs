//! Event payloads: each object as the GraphQL API shows it (its scalar
//! fields, under the same names and in the same formats), so a receiver
//! reads an event's `data` the way it reads a query's answer.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::billing::wallets::balance_amount;
use crate::db::credit_notes::{CreditNoteLineRow, CreditNoteRow, RefundRow};
use crate::db::customers::CustomerRow;
use crate::db::integrations::IntegrationRow;
use crate::db::invoices::{InvoiceRow, LineRow, PaymentRow};
use crate::db::subscriptions::SubscriptionRow;
use crate::db::wallets::WalletRow;
use crate::domain::credit_note::RefundDestination;
use crate::domain::invoice::{self as invoice_rules, InvoiceStatus, PaymentStatus};
use crate::domain::money::{Currency, round_amount};
use crate::domain::phase::{Phase, pending_after, phase_at};
use crate::domain::subscription as rules;
use crate::subscriptions::lifecycle_of;

/// A timestamp as the GraphQL `DateTime` scalar writes it once stored:
/// PostgreSQL keeps microseconds, so a row built in memory shows what a
/// later read of it shows.
pub fn time(at: DateTime<Utc>) -> String {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at).to_rfc3339()
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(time)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: Uuid,
    pub external_customer_id: String,
    pub name: String,
    pub email: Option<String>,
    pub address: Option<Value>,
    pub metadata: Value,
    pub parent_customer_id: Option<Uuid>,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
    pub tax_exempt: bool,
    pub tax_id: Option<String>,
}

impl From<&CustomerRow> for CustomerView {
    fn from(r: &CustomerRow) -> Self {
        let fields = [
            &r.address_line1,
            &r.address_line2,
            &r.address_city,
            &r.address_state,
            &r.address_postal_code,
            &r.address_country,
        ];
        let address = fields.iter().any(|f| f.is_some()).then(|| {
            json!({
                "line1": r.address_line1, "line2": r.address_line2, "city": r.address_city,
                "state": r.address_state, "postalCode": r.address_postal_code, "country": r.address_country,
            })
        });
        CustomerView {
            id: r.id,
            external_customer_id: r.external_customer_id.clone(),
            name: r.name.clone(),
            email: r.email.clone(),
            address,
            metadata: serde_json::to_value(crate::customers::stored_metadata(&r.metadata)).unwrap_or_default(),
            parent_customer_id: r.parent_customer_id,
            status: r.status.as_str(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
            archived_at: optional_time(r.archived_at),
            tax_exempt: r.tax_exempt,
            tax_id: r.tax_id.clone(),
        }
    }
}

/// An amount as the GraphQL `Decimal` scalar writes it.
fn decimal(value: Decimal) -> String {
    value.to_string()
}

/// Money in its currency's minor units, as the API shows amounts.
fn money(value: Decimal, currency: Currency) -> String {
    decimal(round_amount(value, currency))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationMappingView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub provider: &'static str,
    pub provider_name: Option<String>,
    pub provider_entity_id: String,
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&IntegrationRow> for IntegrationMappingView {
    fn from(r: &IntegrationRow) -> Self {
        IntegrationMappingView {
            id: r.id,
            customer_id: r.customer_id,
            provider: r.provider.as_str(),
            provider_name: (!r.provider_name.is_empty()).then(|| r.provider_name.clone()),
            provider_entity_id: r.provider_entity_id.clone(),
            metadata: serde_json::to_value(crate::customers::stored_metadata(&r.metadata)).unwrap_or_default(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodView {
    pub start: String,
    pub end: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceQuantityView {
    pub price_id: Uuid,
    pub quantity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseView {
    pub starts_at: String,
    pub plan_id: Uuid,
    pub quantities: Vec<PriceQuantityView>,
}

/// A subscription as the API shows it at `at`: its plan, quantities and
/// status are the ones in force then. Besides the API's scalar fields it
/// carries `customerId` and `planId` (the API's `customer { id }` and
/// `plan { id }`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub plan_id: Uuid,
    pub quantities: Vec<PriceQuantityView>,
    pub pending_change: Option<PhaseView>,
    pub payer: &'static str,
    pub status: &'static str,
    pub currency: &'static str,
    pub billing_period: &'static str,
    pub billing_period_count: i32,
    pub start_at: String,
    pub billing_anchor: String,
    pub trial_end: Option<String>,
    pub paused_at: Option<String>,
    pub ends_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub current_period: PeriodView,
}

fn quantities_view(phase: &Phase) -> Vec<PriceQuantityView> {
    phase
        .quantities
        .iter()
        .map(|(price_id, quantity)| PriceQuantityView {
            price_id: *price_id,
            quantity: decimal(*quantity),
        })
        .collect()
}

impl SubscriptionView {
    /// `phases` are the subscription's (see `subscriptions::phases_of`).
    pub fn new(r: &SubscriptionRow, phases: &[Phase], at: DateTime<Utc>) -> Self {
        let life = lifecycle_of(r);
        let (anchor, cadence) = rules::rule_at(&life, at);
        let current = phase_at(phases, at).or(phases.first());
        // As the API does: status and period count the row's last change
        // if it is later than `at`.
        let as_of = at.max(r.updated_at);
        let period_at = life.ends_at.map_or(as_of, |end| as_of.min(end));
        let period = rules::current_period(&life, period_at);
        SubscriptionView {
            id: r.id,
            customer_id: r.customer_id,
            plan_id: current.map_or(r.plan_id, |p| p.plan_id),
            quantities: current.map(quantities_view).unwrap_or_default(),
            pending_change: pending_after(phases, at).map(|p| PhaseView {
                starts_at: time(p.starts_at),
                plan_id: p.plan_id,
                quantities: quantities_view(p),
            }),
            payer: r.payer.as_str(),
            status: rules::status_at(&life, as_of).as_str(),
            currency: r.currency.code(),
            billing_period: cadence.unit.as_str(),
            billing_period_count: i32::try_from(cadence.count).unwrap_or(i32::MAX),
            start_at: time(r.start_at),
            billing_anchor: time(anchor),
            trial_end: optional_time(r.trial_end),
            paused_at: optional_time(r.paused_at),
            ends_at: optional_time(r.ends_at),
            cancelled_at: optional_time(r.cancelled_at),
            created_at: time(r.created_at),
            current_period: PeriodView {
                start: time(period.start),
                end: time(period.end),
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemView {
    pub id: Uuid,
    pub description: String,
    pub quantity: String,
    pub unit_amount: Option<String>,
    pub amount: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub proration_fraction: Option<String>,
    pub discount_amount: String,
    pub tax_amount: String,
}

/// An invoice as the API shows it at `at` (which decides `overdue`), with
/// its line items. Besides the API's scalar fields it carries `customerId`
/// and `subscriptionId` (the API's `customer { id }` and `subscription { id }`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceView {
    pub id: Uuid,
    pub number: Option<String>,
    pub customer_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub status: &'static str,
    pub payment_status: &'static str,
    pub overdue: bool,
    pub currency: &'static str,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub line_items: Vec<LineItemView>,
    pub subtotal: String,
    pub discount_total: String,
    pub tax_total: String,
    pub tax_added: String,
    pub credit_balance_applied: String,
    pub credits_applied: String,
    pub total: String,
    pub credit_balance_granted: String,
    pub amount_paid: String,
    pub credit_note_total: String,
    pub amount_credited: String,
    pub amount_due: String,
    pub issued_at: Option<String>,
    pub due_at: Option<String>,
    pub finalized_at: Option<String>,
    pub voided_at: Option<String>,
    pub finalize_after: Option<String>,
    pub created_at: String,
    /// On invoice.finalized: the page its recipient can open without a key
    /// (`Invoice.hostedUrl`), so a mailer or CRM can send it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_url: Option<String>,
}

impl InvoiceView {
    /// `lines` are the invoice's own, in order.
    pub fn new(r: &InvoiceRow, lines: &[&LineRow], at: DateTime<Utc>) -> Self {
        let c = r.currency;
        let settled = r.amount_paid + r.amount_credited;
        let granted = if r.status == InvoiceStatus::Draft {
            Decimal::ZERO
        } else {
            (-r.charged()).max(Decimal::ZERO)
        };
        InvoiceView {
            id: r.id,
            number: r.number.clone(),
            customer_id: r.customer_id,
            subscription_id: r.subscription_id,
            status: r.status.as_str(),
            payment_status: invoice_payment_status(r).as_str(),
            overdue: invoice_rules::is_overdue(r.status, r.total, settled, r.due_at, at),
            currency: c.code(),
            period_start: optional_time(r.period_start),
            period_end: optional_time(r.period_end),
            line_items: lines
                .iter()
                .map(|l| LineItemView {
                    id: l.id,
                    description: l.description.clone(),
                    quantity: decimal(l.quantity),
                    unit_amount: l.unit_amount.map(decimal),
                    amount: money(l.amount, c),
                    period_start: optional_time(l.period_start),
                    period_end: optional_time(l.period_end),
                    proration_fraction: l.proration_fraction.map(decimal),
                    discount_amount: money(l.discount_amount, c),
                    tax_amount: money(l.tax_amount, c),
                })
                .collect(),
            subtotal: money(r.subtotal, c),
            discount_total: money(r.discount_total, c),
            tax_total: money(r.tax_total, c),
            tax_added: money(r.tax_added, c),
            credit_balance_applied: money(r.credit_balance_applied, c),
            credits_applied: money(r.credits_applied, c),
            total: money(r.total, c),
            credit_balance_granted: money(granted, c),
            amount_paid: money(r.amount_paid, c),
            credit_note_total: money(r.credit_note_total, c),
            amount_credited: money(r.amount_credited, c),
            amount_due: money(r.amount_due(), c),
            issued_at: optional_time(r.issued_at),
            due_at: optional_time(r.due_at),
            finalized_at: optional_time(r.finalized_at),
            voided_at: optional_time(r.voided_at),
            finalize_after: (r.status == InvoiceStatus::Draft).then(|| time(r.finalize_after)),
            created_at: time(r.created_at),
            hosted_url: None,
        }
    }
}

/// The invoice's payment status, as `Invoice.paymentStatus` derives it.
pub fn invoice_payment_status(r: &InvoiceRow) -> PaymentStatus {
    invoice_rules::payment_status(r.status, r.total, r.amount_paid, r.amount_paid + r.amount_credited)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub amount: String,
    pub method: &'static str,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub created_at: String,
}

impl PaymentView {
    pub fn new(r: &PaymentRow, currency: Currency) -> Self {
        PaymentView {
            id: r.id,
            invoice_id: r.invoice_id,
            amount: money(r.amount, currency),
            method: r.method.as_str(),
            reference: r.reference.clone(),
            idempotency_key: r.idempotency_key.clone(),
            created_at: time(r.created_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditNoteLineView {
    pub line_item_id: Uuid,
    pub amount: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub id: Uuid,
    pub amount: String,
    pub method: String,
    pub reference: Option<String>,
    pub created_at: String,
}

/// A credit note with its lines and refunds. Besides the API's scalar
/// fields it carries `invoiceId`, `customerId` and `walletId` (the API's
/// `invoice { id }`, `customer { id }` and `wallet { id }`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditNoteView {
    pub id: Uuid,
    pub number: String,
    pub invoice_id: Uuid,
    pub customer_id: Uuid,
    pub wallet_id: Option<Uuid>,
    pub currency: &'static str,
    pub reason: &'static str,
    pub memo: Option<String>,
    pub total: String,
    pub amount_credited: String,
    pub refunded_amount: String,
    pub refund_to: Option<&'static str>,
    pub credited_to_balance: String,
    pub lines: Vec<CreditNoteLineView>,
    pub refunds: Vec<RefundView>,
    pub created_at: String,
}

impl CreditNoteView {
    pub fn new(r: &CreditNoteRow, lines: &[CreditNoteLineRow], refunds: &[RefundRow]) -> Self {
        let c = r.currency;
        let to_balance = match r.refund_to {
            Some(RefundDestination::CreditBalance) => r.refunded_amount,
            _ => Decimal::ZERO,
        };
        CreditNoteView {
            id: r.id,
            number: r.number.clone(),
            invoice_id: r.invoice_id,
            customer_id: r.customer_id,
            wallet_id: r.wallet_id,
            currency: c.code(),
            reason: r.reason.as_str(),
            memo: r.memo.clone(),
            total: money(r.total, c),
            amount_credited: money(r.amount_credited, c),
            refunded_amount: money(r.refunded_amount, c),
            refund_to: r.refund_to.map(RefundDestination::as_str),
            credited_to_balance: money(to_balance, c),
            lines: lines
                .iter()
                .map(|l| CreditNoteLineView {
                    line_item_id: l.line_item_id,
                    amount: money(l.amount, c),
                })
                .collect(),
            refunds: refunds
                .iter()
                .map(|f| RefundView {
                    id: f.id,
                    amount: money(f.amount, c),
                    method: f.method.clone(),
                    reference: f.reference.clone(),
                    created_at: time(f.created_at),
                })
                .collect(),
            created_at: time(r.created_at),
        }
    }
}

/// A wallet. Besides the API's scalar fields it carries `customerId` (the
/// API's `customer { id }`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub currency: &'static str,
    pub name: String,
    pub conversion_rate: String,
    pub status: &'static str,
    pub credit_balance: String,
    pub balance: Option<String>,
    pub low_balance_threshold: Option<String>,
    pub created_at: String,
    pub closed_at: Option<String>,
}

impl From<&WalletRow> for WalletView {
    fn from(r: &WalletRow) -> Self {
        WalletView {
            id: r.id,
            customer_id: r.customer_id,
            currency: r.currency.code(),
            name: r.name.clone(),
            conversion_rate: decimal(r.conversion_rate),
            status: r.status.as_str(),
            credit_balance: decimal(r.credit_balance),
            balance: balance_amount(r).ok().map(decimal),
            low_balance_threshold: r.low_balance_threshold.map(decimal),
            created_at: time(r.created_at),
            closed_at: optional_time(r.closed_at),
        }
    }
}
