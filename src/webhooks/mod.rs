//! Webhooks: the endpoints a tenant registers, the deliveries queued for
//! them from outbox events (in the transaction that writes the event), and
//! the worker that sends them, signed as the Standard Webhooks
//! specification says.

pub mod target;
pub mod worker;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngExt;
use uuid::Uuid;

use crate::db::outbox::OutboxEventRow;
use crate::db::webhooks::{self as rows, WebhookDeliveryRow, WebhookEndpointRow};
use crate::db::{DbPool, connection};
use crate::domain::webhook::{EndpointStatus, ROTATION_OVERLAP, SECRET_BYTES, format_secret};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Queues the deliveries of `events` to their tenants' subscribed, enabled
/// endpoints. Called by [`crate::outbox::emit`] inside the change's
/// transaction; takes any number of events (of any tenants) in one
/// statement, so a batch of events costs one call.
pub async fn queue_deliveries(conn: &mut AsyncPgConnection, events: &[OutboxEventRow]) -> AppResult<()> {
    let tenant_ids: Vec<Uuid> = events.iter().map(|e| e.tenant_id).collect();
    let event_ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let event_types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let due = events.iter().map(|e| e.occurred_at).max().unwrap_or_else(Utc::now);
    rows::queue_deliveries(conn, &tenant_ids, &event_ids, &event_types, due).await?;
    Ok(())
}

/// A new endpoint, its URL and event types already validated.
#[derive(Debug, Clone)]
pub struct EndpointDraft {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// Changes to an endpoint; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    /// true enables (also after FAILING_DISABLED), false disables.
    pub enabled: Option<bool>,
}

fn new_secret() -> String {
    let random: [u8; SECRET_BYTES] = rand::rng().random();
    format_secret(&random)
}

/// Creates an endpoint; returns it with its signing secret, which is
/// stored sealed and never shown again.
pub async fn create(
    state: &AppState,
    tenant_id: Uuid,
    draft: EndpointDraft,
) -> AppResult<(WebhookEndpointRow, String)> {
    let secret = new_secret();
    let now = Utc::now();
    let row = WebhookEndpointRow {
        tenant_id,
        id: Uuid::now_v7(),
        url: draft.url,
        description: draft.description,
        event_types: draft.event_types,
        status: EndpointStatus::Enabled,
        disabled_at: None,
        disabled_reason: None,
        secret_sealed: state.secrets.seal(&secret),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let mut conn = connection(&state.pool).await?;
    let row = rows::insert_endpoint(&mut conn, &row).await?;
    Ok((row, secret))
}

/// Runs `change` on the locked endpoint and saves it.
async fn change_endpoint<T>(
    pool: &DbPool,
    tenant_id: Uuid,
    id: Uuid,
    change: impl FnOnce(&mut WebhookEndpointRow, DateTime<Utc>) -> T + Send,
) -> AppResult<(WebhookEndpointRow, T)>
where
    T: Send,
{
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let mut row = rows::endpoint_for_update(conn, tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook endpoint"))?;
        let now = Utc::now();
        let out = change(&mut row, now);
        row.updated_at = now;
        Ok((rows::save_endpoint(conn, &row).await?, out))
    })
    .await
}

pub async fn update(pool: &DbPool, tenant_id: Uuid, id: Uuid, patch: EndpointPatch) -> AppResult<WebhookEndpointRow> {
    let (row, ()) = change_endpoint(pool, tenant_id, id, |row, now| {
        if let Some(url) = patch.url {
            row.url = url;
        }
        if let Some(types) = patch.event_types {
            row.event_types = types;
        }
        if let Some(description) = patch.description {
            row.description = description;
        }
        match patch.enabled {
            Some(true) if row.status != EndpointStatus::Enabled => {
                row.status = EndpointStatus::Enabled;
                row.disabled_at = None;
                row.disabled_reason = None;
                // A fresh start: the 5 days of failures count from the next one.
                row.failing_since = None;
            }
            Some(false) if row.status == EndpointStatus::Enabled => {
                row.status = EndpointStatus::Disabled;
                row.disabled_at = Some(now);
                row.disabled_reason = Some("disabled by the user".to_string());
            }
            _ => {}
        }
    })
    .await?;
    Ok(row)
}

/// A new signing secret, returned once; the previous one keeps signing
/// beside it for [`ROTATION_OVERLAP`] so receivers can switch over.
pub async fn rotate_secret(state: &AppState, tenant_id: Uuid, id: Uuid) -> AppResult<(WebhookEndpointRow, String)> {
    let secret = new_secret();
    let sealed = state.secrets.seal(&secret);
    let (row, ()) = change_endpoint(&state.pool, tenant_id, id, |row, now| {
        row.previous_secret_sealed = Some(std::mem::replace(&mut row.secret_sealed, sealed));
        row.previous_secret_expires_at = Some(now + ROTATION_OVERLAP);
    })
    .await?;
    Ok((row, secret))
}

/// Deletes the endpoint with its deliveries and their attempts.
pub async fn delete(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<()> {
    let mut conn = connection(pool).await?;
    match rows::delete_endpoint(&mut conn, tenant_id, id).await? {
        0 => Err(AppError::not_found("webhook endpoint")),
        _ => Ok(()),
    }
}

/// Queues the event for the endpoint again, due now: a new delivery with
/// new attempts, carrying the same `webhook-id` so receivers deduplicate.
pub async fn replay(
    pool: &DbPool,
    tenant_id: Uuid,
    event_id: Uuid,
    endpoint_id: Uuid,
) -> AppResult<WebhookDeliveryRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        crate::db::outbox::find(conn, tenant_id, event_id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook event"))?;
        let endpoint = rows::endpoint_for_update(conn, tenant_id, endpoint_id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook endpoint"))?;
        if endpoint.status != EndpointStatus::Enabled {
            return Err(AppError::conflict(format!(
                "the endpoint is {}: enable it (updateWebhookEndpoint with enabled: true) before replaying",
                endpoint.status
            )));
        }
        Ok(rows::insert_delivery(conn, tenant_id, event_id, endpoint_id, Utc::now()).await?)
    })
    .await
}
