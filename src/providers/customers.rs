//! billgraph customers in Stripe: linked through the customer's STRIPE
//! integration mapping, created in Stripe when first needed, and sent their
//! current state when they change.

use std::collections::BTreeMap;

use chrono::Utc;
use uuid::Uuid;

use super::connections::require_stripe;
use super::stripe::Stripe;
use super::{CustomerProfile, PaymentProvider, ProviderError, SetupSession};
use crate::customers::stored_metadata;
use crate::db::customers::{self as customer_rows, CustomerRow};
use crate::db::integrations::{self, IntegrationRow};
use crate::db::{DbPool, connection};
use crate::domain::integration::Provider;
use crate::error::{AppError, AppResult};
use crate::secrets::SecretBox;

/// The metadata key that names the billgraph customer on Stripe's side.
pub const CUSTOMER_ID_KEY: &str = "billgraph_customer_id";

/// The customer as Stripe keeps it.
pub fn profile_of(row: &CustomerRow) -> CustomerProfile {
    let address: BTreeMap<&'static str, String> = [
        ("line1", &row.address_line1),
        ("line2", &row.address_line2),
        ("city", &row.address_city),
        ("state", &row.address_state),
        ("postal_code", &row.address_postal_code),
        ("country", &row.address_country),
    ]
    .into_iter()
    .filter_map(|(part, value)| Some((part, value.clone()?)))
    .collect();
    let mut metadata: BTreeMap<String, String> = stored_metadata(&row.metadata).into_iter().collect();
    metadata.insert(CUSTOMER_ID_KEY.to_string(), row.id.to_string());
    CustomerProfile {
        name: row.name.clone(),
        email: row.email.clone(),
        address,
        metadata,
    }
}

pub fn provider_failure(e: ProviderError) -> AppError {
    AppError::conflict(format!("Stripe refused the request: {}", e.message))
}

async fn customer(pool: &DbPool, tenant_id: Uuid, customer_id: Uuid) -> AppResult<CustomerRow> {
    let mut conn = connection(pool).await?;
    customer_rows::find_by_ids(&mut conn, tenant_id, &[customer_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("customer"))
}

/// The customer's Stripe id from its mapping, if it has one.
pub async fn mapped_id(pool: &DbPool, tenant_id: Uuid, customer_id: Uuid) -> AppResult<Option<String>> {
    let mut conn = connection(pool).await?;
    Ok(integrations::for_customers(&mut conn, tenant_id, &[customer_id])
        .await?
        .into_iter()
        .find(|m| m.provider == Provider::Stripe && m.provider_name.is_empty())
        .map(|m| m.provider_entity_id))
}

/// The customer's Stripe id: the mapping's, else a Stripe customer created
/// now and mapped. Creation carries a key per customer, so two callers
/// racing here get the same Stripe customer, and the first mapping wins.
pub async fn ensure_in_stripe(pool: &DbPool, stripe: &Stripe, tenant_id: Uuid, customer_id: Uuid) -> AppResult<String> {
    if let Some(id) = mapped_id(pool, tenant_id, customer_id).await? {
        return Ok(id);
    }
    let row = customer(pool, tenant_id, customer_id).await?;
    let stripe_id = stripe
        .create_customer(
            &profile_of(&row),
            &format!("billgraph-customer-{tenant_id}-{customer_id}"),
        )
        .await
        .map_err(provider_failure)?;
    let now = Utc::now();
    let mapping = IntegrationRow {
        tenant_id,
        id: Uuid::now_v7(),
        customer_id,
        provider: Provider::Stripe,
        provider_name: String::new(),
        provider_entity_id: stripe_id,
        metadata: serde_json::json!({}),
        created_at: now,
        updated_at: now,
    };
    let mut conn = connection(pool).await?;
    Ok(integrations::insert_if_absent(&mut conn, &mapping)
        .await?
        .provider_entity_id)
}

/// syncCustomerToProvider: creates the Stripe customer, or sends the
/// current state to the one the mapping names.
pub async fn sync_now(pool: &DbPool, secrets: &SecretBox, tenant_id: Uuid, customer_id: Uuid) -> AppResult<String> {
    let stripe = {
        let mut conn = connection(pool).await?;
        require_stripe(&mut conn, secrets, tenant_id).await?
    };
    let row = customer(pool, tenant_id, customer_id).await?;
    match mapped_id(pool, tenant_id, customer_id).await? {
        Some(id) => {
            let key = format!("billgraph-sync-{}", Uuid::now_v7());
            stripe
                .update_customer(&id, &profile_of(&row), &key)
                .await
                .map_err(provider_failure)?;
            Ok(id)
        }
        None => ensure_in_stripe(pool, &stripe, tenant_id, customer_id).await,
    }
}

/// A SetupIntent for saving a card to charge later, off-session.
pub async fn setup_session(
    pool: &DbPool,
    secrets: &SecretBox,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> AppResult<SetupSession> {
    let stripe = {
        let mut conn = connection(pool).await?;
        require_stripe(&mut conn, secrets, tenant_id).await?
    };
    let row = customer(pool, tenant_id, customer_id).await?;
    if !row.is_active() {
        return Err(AppError::conflict("customer is archived"));
    }
    let stripe_customer = ensure_in_stripe(pool, &stripe, tenant_id, customer_id).await?;
    // Each session is a new SetupIntent; the key only guards this one request.
    let key = format!("billgraph-setup-{}", Uuid::now_v7());
    stripe
        .create_setup_session(&stripe_customer, &key)
        .await
        .map_err(provider_failure)
}
