//! The payment provider connection, payment setup and collection in GraphQL.

pub mod loaders;
pub mod root;

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::providers::{AttemptRow, ConnectionRow};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::provider::CollectionMethod")]
pub enum CollectionMethodType {
    /// The saved default card is charged when an invoice is finalized.
    ChargeAutomatically,
    /// The customer pays the invoice themselves.
    SendInvoice,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::provider::AttemptStatus")]
pub enum PaymentAttemptStatus {
    Pending,
    Succeeded,
    Failed,
    RequiresAction,
}

/// The tenant's Stripe connection; its secrets are never shown.
#[derive(SimpleObject)]
pub struct StripeConnection {
    pub api_base: String,
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
    pub client_secret: String,
    pub setup_intent_id: String,
    pub provider_customer_id: String,
}

/// A saved card, as much of it as may be shown.
#[derive(SimpleObject, Clone)]
pub struct PaymentMethodCard {
    /// The provider's id of the payment method (pm_...).
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

/// One try to collect an invoice through the payment provider.
#[derive(SimpleObject)]
pub struct PaymentAttempt {
    pub attempt: i32,
    pub status: PaymentAttemptStatus,
    pub payment_intent_id: Option<String>,
    pub error: Option<String>,
    /// When the next attempt runs; null when none is planned.
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
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
