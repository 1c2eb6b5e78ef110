//! Payment providers: what billing needs from any provider (the
//! [`PaymentProvider`] seam), the tenant's connection to one, and the work
//! sent to it. Stripe is the first implementation (`stripe/`); another
//! provider is another folder implementing the same trait.
//!
//! Everything that changes money or a provider's copy of a customer is
//! queued as a task in the transaction of the change (`tasks`), and the
//! worker (`worker`) sends it, so an outage delays work and never loses it.

pub mod collection;
pub mod connections;
pub mod customers;
pub mod stripe;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;

use chrono::Utc;
use diesel_async::AsyncPgConnection;

use crate::db::outbox::OutboxEventRow;
use crate::db::providers as rows;
use crate::domain::money::Currency;
use crate::domain::outbox::EventType;
use crate::error::AppResult;

/// A customer as a provider keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerProfile {
    pub name: String,
    pub email: Option<String>,
    /// Address parts by Stripe's names (line1, city, ...); empty when none.
    pub address: BTreeMap<&'static str, String>,
    pub metadata: BTreeMap<String, String>,
}

/// What a frontend needs to save a card for later, off-session charges.
#[derive(Debug, Clone)]
pub struct SetupSession {
    pub client_secret: String,
    pub setup_intent_id: String,
    pub provider_customer_id: String,
}

/// A saved card, as much of it as may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

pub struct ChargeRequest<'a> {
    pub provider_customer_id: &'a str,
    pub payment_method_id: &'a str,
    /// In the currency's minor units.
    pub amount: i64,
    pub currency: Currency,
    /// The same key makes the same charge, however often it is sent.
    pub idempotency_key: &'a str,
    pub metadata: Vec<(&'static str, String)>,
}

/// The provider's synchronous answer to a charge; the same answers come
/// again later through its webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        intent_id: String,
        amount: i64,
    },
    RequiresAction {
        intent_id: String,
    },
    /// Accepted; the result comes through a webhook.
    Processing {
        intent_id: String,
    },
    /// Declined by the card's issuer or refused by the provider.
    Failed {
        intent_id: Option<String>,
        message: String,
    },
}

pub struct RefundRequest<'a> {
    pub payment_intent_id: &'a str,
    pub amount: i64,
    pub idempotency_key: &'a str,
    pub metadata: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub id: String,
    pub status: String,
}

/// Why a provider call failed, as far as billing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The credentials were refused.
    Unauthorized,
    /// The request was refused as invalid; sending it again will not help.
    Invalid,
    /// A card was declined.
    Declined,
    /// Network trouble, rate limits or the provider's own errors: try later.
    Unavailable,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            message: message.into(),
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// What billing needs from a payment provider. Every write carries an
/// idempotency key, so a retried task never acts twice.
pub trait PaymentProvider {
    /// One cheap authenticated call: do the credentials work?
    fn check_credentials(&self) -> impl Future<Output = ProviderResult<()>> + Send;
    fn create_customer(
        &self,
        profile: &CustomerProfile,
        idempotency_key: &str,
    ) -> impl Future<Output = ProviderResult<String>> + Send;
    /// Makes the provider's customer match `profile` (fields it lacks are cleared).
    fn update_customer(
        &self,
        provider_customer_id: &str,
        profile: &CustomerProfile,
        idempotency_key: &str,
    ) -> impl Future<Output = ProviderResult<()>> + Send;
    fn create_setup_session(
        &self,
        provider_customer_id: &str,
        idempotency_key: &str,
    ) -> impl Future<Output = ProviderResult<SetupSession>> + Send;
    fn default_payment_method(
        &self,
        provider_customer_id: &str,
    ) -> impl Future<Output = ProviderResult<Option<SavedCard>>> + Send;
    fn charge(&self, request: &ChargeRequest<'_>) -> impl Future<Output = ProviderResult<ChargeOutcome>> + Send;
    fn refund(&self, request: &RefundRequest<'_>) -> impl Future<Output = ProviderResult<RefundOutcome>> + Send;
}

/// The outbox consumer: queues the provider work an event calls for, in the
/// event's transaction. A changed customer mapped to Stripe is sent again.
pub async fn on_event(conn: &mut AsyncPgConnection, event: &OutboxEventRow) -> AppResult<()> {
    if event.event_type == EventType::CustomerUpdated.as_str() {
        rows::queue_customer_sync(conn, event.tenant_id, event.object_id, Utc::now()).await?;
    }
    Ok(())
}
