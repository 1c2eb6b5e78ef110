//! A tenant's connection to Stripe: checked when made, its secrets sealed
//! with the server key, opened only to talk to Stripe or check a webhook.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::stripe::{DEFAULT_API_BASE, Stripe};
use super::{PaymentProvider, ProviderErrorKind};
use crate::db::providers::{self as rows, ConnectionRow};
use crate::db::{DbPool, connection};
use crate::domain::provider::{ProviderKind, key_hint, validate_api_base, validate_secret};
use crate::error::{AppError, AppResult};
use crate::secrets::SecretBox;

pub struct StripeSettings {
    pub secret_key: String,
    pub webhook_secret: String,
    pub api_base: Option<String>,
}

/// Connects the tenant to the Stripe account the key opens, after one cheap
/// call proves the key works; a second connect replaces the first.
pub async fn connect_stripe(
    pool: &DbPool,
    secrets: &SecretBox,
    tenant_id: Uuid,
    settings: StripeSettings,
) -> AppResult<ConnectionRow> {
    let secret_key = validate_secret("input.secretKey", &settings.secret_key)?;
    let webhook_secret = validate_secret("input.webhookSecret", &settings.webhook_secret)?;
    let api_base = validate_api_base(
        "input.apiBase",
        settings.api_base.as_deref().unwrap_or(DEFAULT_API_BASE),
    )?;
    let stripe = Stripe::new(&api_base, &secret_key);
    if let Err(e) = stripe.check_credentials().await {
        return Err(match e.kind {
            ProviderErrorKind::Unauthorized => {
                AppError::validation("input.secretKey", "Stripe refused this secret key")
            }
            ProviderErrorKind::Unavailable => {
                AppError::validation("input.apiBase", format!("Stripe could not be reached there: {e}"))
            }
            _ => AppError::validation("input.secretKey", format!("the key could not be checked: {e}")),
        });
    }
    let row = ConnectionRow {
        tenant_id,
        provider: ProviderKind::Stripe,
        api_base,
        secret_key_sealed: secrets.seal(&secret_key),
        webhook_secret_sealed: secrets.seal(&webhook_secret),
        key_hint: key_hint(&secret_key),
        connected_at: Utc::now(),
    };
    let mut conn = connection(pool).await?;
    Ok(rows::upsert_connection(&mut conn, &row).await?)
}

/// Removes the connection; queued work for Stripe then waits for a new one.
pub async fn disconnect_stripe(pool: &DbPool, tenant_id: Uuid) -> AppResult<bool> {
    let mut conn = connection(pool).await?;
    Ok(rows::delete_connection(&mut conn, tenant_id, ProviderKind::Stripe).await?)
}

/// The tenant's Stripe client, or None when it is not connected.
pub async fn stripe_for(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    tenant_id: Uuid,
) -> AppResult<Option<Stripe>> {
    let Some(row) = rows::find_connection(conn, tenant_id, ProviderKind::Stripe).await? else {
        return Ok(None);
    };
    let key = secrets.open(&row.secret_key_sealed)?;
    Ok(Some(Stripe::new(&row.api_base, &key)))
}

/// The tenant's Stripe client; refused when it is not connected.
pub async fn require_stripe(conn: &mut AsyncPgConnection, secrets: &SecretBox, tenant_id: Uuid) -> AppResult<Stripe> {
    stripe_for(conn, secrets, tenant_id)
        .await?
        .ok_or_else(|| AppError::conflict("Stripe is not connected: connect it first with connectStripe"))
}
