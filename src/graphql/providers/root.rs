//! Connecting Stripe, syncing customers, and saving cards.

use async_graphql::{Context, InputObject, Object, Result};
use uuid::Uuid;

use super::loaders::StripeConnectionOfTenant;
use super::{PaymentSetupSession, StripeConnection};
use crate::graphql::context::ContextExt;
use crate::providers::connections::{self, StripeSettings};
use crate::providers::customers;

/// The tenant's Stripe account.
#[derive(InputObject)]
pub struct ConnectStripeInput {
    /// A secret (sk_...) or restricted (rk_...) key; stored sealed, never shown again.
    pub secret_key: String,
    /// The signing secret (whsec_...) of the webhook endpoint configured in Stripe.
    pub webhook_secret: String,
    /// Stripe's API address; https://api.stripe.com when omitted.
    pub api_base: Option<String>,
}

#[derive(Default)]
pub struct ProviderQueryRoot;

#[Object]
impl ProviderQueryRoot {
    /// The tenant's Stripe connection, or null when Stripe is not connected.
    async fn stripe_connection(&self, ctx: &Context<'_>) -> Result<Option<StripeConnection>> {
        Ok(ctx
            .loader()
            .load_one(StripeConnectionOfTenant)
            .await?
            .map(StripeConnection::from))
    }
}

#[derive(Default)]
pub struct ProviderMutationRoot;

#[Object]
impl ProviderMutationRoot {
    /// Connects the tenant's Stripe account (replacing an earlier
    /// connection) after checking the key with Stripe.
    async fn connect_stripe(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The keys. A key Stripe refuses: VALIDATION on `input.secretKey`; an unreachable apiBase: VALIDATION on `input.apiBase`."
        )]
        input: ConnectStripeInput,
    ) -> Result<StripeConnection> {
        let settings = StripeSettings {
            secret_key: input.secret_key,
            webhook_secret: input.webhook_secret,
            api_base: input.api_base,
        };
        let row = connections::connect_stripe(ctx.pool(), &ctx.state().secrets, ctx.tenant_id(), settings).await?;
        Ok(row.into())
    }

    /// Forgets the Stripe connection and its secrets; true when there was one.
    async fn disconnect_stripe(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(connections::disconnect_stripe(ctx.pool(), ctx.tenant_id()).await?)
    }

    /// Creates the customer in Stripe (mapped through its STRIPE integration
    /// mapping), or sends its current state to the mapped Stripe customer.
    /// Returns the Stripe customer id.
    async fn sync_customer_to_provider(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The customer. Another tenant's id, or none: NOT_FOUND. CONFLICT when it is archived, Stripe is not connected, or Stripe refuses the request."
        )]
        customer_id: Uuid,
    ) -> Result<String> {
        Ok(customers::sync_now(ctx.pool(), &ctx.state().secrets, ctx.tenant_id(), customer_id).await?)
    }

    /// A Stripe SetupIntent (usage off_session) for the customer: confirm it
    /// with Stripe.js to save a card that invoices are then charged to.
    async fn create_payment_setup_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The customer. Another tenant's id, or none: NOT_FOUND. CONFLICT when Stripe is not connected or refuses the request."
        )]
        customer_id: Uuid,
    ) -> Result<PaymentSetupSession> {
        let session = customers::setup_session(ctx.pool(), &ctx.state().secrets, ctx.tenant_id(), customer_id).await?;
        Ok(PaymentSetupSession {
            client_secret: session.client_secret,
            setup_intent_id: session.setup_intent_id,
            provider_customer_id: session.provider_customer_id,
        })
    }
}
