//! The payment provider connection, payment setup and collection in GraphQL.

pub mod loaders;
pub mod root;

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::providers::{AttemptRow, ConnectionRow};

/// How a customer's (or subscription's) invoices are collected.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::provider::CollectionMethod")]
pub enum CollectionMethodType {
    /// The saved default card is charged when an invoice is finalized.
    ChargeAutomatically,
    /// The customer pays the invoice themselves.
    SendInvoice,
}

/// Where a try to collect an invoice through the payment provider stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::provider::AttemptStatus")]
pub enum PaymentAttemptStatus {
    /// Sent to the provider (or about to be); no answer yet.
    Pending,
    /// The provider collected the money; the payment is recorded on the invoice.
    Succeeded,
    /// Declined or refused; `error` says why, and `nextRetryAt` when it is tried again
    /// (BILLGRAPH_STRIPE_RETRY_DAYS).
    Failed,
    /// The customer must authenticate the payment (e.g. 3-D Secure) before it can succeed.
    RequiresAction,
}

/// The tenant's Stripe connection; its secrets are never shown.
#[derive(SimpleObject)]
pub struct StripeConnection {
    /// The Stripe API address used, e.g. https://api.stripe.com.
    pub api_base: String,
    /// When it was connected (UTC).
    pub connected_at: DateTime<Utc>,
    /// The secret key's kind and last four characters, e.g. sk_test_…1234.
    pub key_hint: String,
}

impl From<ConnectionRow> for StripeConnection {
    fn from(row: ConnectionRow) -> Self {
        StripeConnection {
            api_base: row.api_base,
            connected_at: row.connected_at,
            key_hint: row.key_hint,
        }
    }
}

/// What a frontend needs to save a card with Stripe.js (confirmCardSetup).
#[derive(SimpleObject)]
pub struct PaymentSetupSession {
    /// The SetupIntent's client secret, for stripe.confirmCardSetup in the browser; do not store
    /// it.
    pub client_secret: String,
    /// The SetupIntent's id (seti_...).
    pub setup_intent_id: String,
    /// The Stripe customer the card is saved to (cus_...).
    pub provider_customer_id: String,
}

/// A saved card, as much of it as may be shown.
#[derive(SimpleObject, Clone)]
pub struct PaymentMethodCard {
    /// The provider's id of the payment method (pm_...).
    pub id: String,
    /// The card brand as Stripe names it, e.g. visa.
    pub brand: String,
    /// The card number's last four digits.
    pub last4: String,
    /// Expiry month, 1 to 12.
    pub exp_month: i32,
    /// Expiry year, four digits.
    pub exp_year: i32,
}

/// One try to collect an invoice through the payment provider.
#[derive(SimpleObject)]
pub struct PaymentAttempt {
    /// 1 for the first try, then 2, 3, ...
    pub attempt: i32,
    /// Where the try stands.
    pub status: PaymentAttemptStatus,
    /// Stripe's PaymentIntent (pi_...), once created.
    pub payment_intent_id: Option<String>,
    /// Why it failed, as the provider said; null unless FAILED or REQUIRES_ACTION.
    pub error: Option<String>,
    /// When the next attempt runs; null when none is planned.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When the try was queued (UTC).
    pub created_at: DateTime<Utc>,
    /// When its status last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<AttemptRow> for PaymentAttempt {
    fn from(row: AttemptRow) -> Self {
        PaymentAttempt {
            attempt: row.attempt,
            status: row.status.into(),
            payment_intent_id: row.payment_intent_id,
            error: row.error,
            next_retry_at: row.next_retry_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
