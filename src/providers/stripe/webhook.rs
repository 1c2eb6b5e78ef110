//! POST /v1/webhooks/stripe/{tenant}: Stripe's reports about the tenant's
//! payments. The signature is checked with the tenant's webhook secret
//! before anything is read; each event is then handled exactly once (its id
//! is recorded in the transaction of its effect).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::signature;
use crate::config::ProviderSettings;
use crate::db::connection;
use crate::db::providers as rows;
use crate::domain::provider::ProviderKind;
use crate::error::{AppError, AppResult};
use crate::providers::collection::{self, ATTEMPT_KEY, ChargeRef, INVOICE_KEY, TENANT_KEY};
use crate::state::AppState;

/// The same answer whether the tenant is unknown, not connected, or the
/// signature is wrong: a caller learns nothing about which.
fn refused() -> Response {
    let body = json!({ "error": { "code": "UNAUTHENTICATED", "message": "invalid or missing Stripe-Signature" } });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

pub async fn receive(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(tenant_id) = Uuid::parse_str(&tenant) else {
        return refused();
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match verified(&state, tenant_id, header, &body).await {
        Ok(true) => {}
        Ok(false) => return refused(),
        Err(e) => return failed(e),
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        let body = json!({ "error": { "code": "VALIDATION", "message": "the body is not a Stripe event" } });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let settings = state.config.providers.clone();
    match handle(&state, tenant_id, &event, &settings, Utc::now()).await {
        Ok(handled) => (StatusCode::OK, Json(json!({ "received": true, "handled": handled }))).into_response(),
        Err(e) => failed(e),
    }
}

/// A failure Stripe should retry: nothing of the event was kept.
fn failed(e: AppError) -> Response {
    tracing::error!(error = ?e, "a Stripe webhook could not be handled; Stripe will send it again");
    let body = json!({ "error": { "code": "INTERNAL", "message": "internal error" } });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

async fn verified(state: &AppState, tenant_id: Uuid, header: &str, body: &[u8]) -> AppResult<bool> {
    let mut conn = connection(&state.pool).await?;
    let Some(row) = rows::find_connection(&mut conn, tenant_id, ProviderKind::Stripe).await? else {
        return Ok(false);
    };
    let secret = state.secrets.open(&row.webhook_secret_sealed)?;
    Ok(signature::verify(header, body, &secret, Utc::now().timestamp()))
}

/// Handles the event once; false when it was seen before or is not about
/// a billgraph payment.
pub async fn handle(
    state: &AppState,
    tenant_id: Uuid,
    event: &Value,
    settings: &ProviderSettings,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let (Some(event_id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Ok(false);
    };
    let object = &event["data"]["object"];
    let mut conn = connection(&state.pool).await?;
    conn.transaction(async |conn| {
        if !rows::claim_event(conn, tenant_id, ProviderKind::Stripe, event_id, event_type, now).await? {
            return Ok(false);
        }
        apply(conn, tenant_id, event_type, object, settings, now).await
    })
    .await
}

async fn apply(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    event_type: &str,
    intent: &Value,
    settings: &ProviderSettings,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !event_type.starts_with("payment_intent.") {
        return Ok(false);
    }
    let Some(charge) = charge_ref(intent).filter(|c| c.tenant_id == tenant_id) else {
        return Ok(false);
    };
    let Some(intent_id) = intent["id"].as_str() else {
        return Ok(false);
    };
    match event_type {
        "payment_intent.succeeded" => {
            let amount = intent["amount_received"]
                .as_i64()
                .filter(|a| *a > 0)
                .or(intent["amount"].as_i64())
                .unwrap_or(0);
            collection::succeeded(conn, charge, intent_id, amount, now).await?;
        }
        "payment_intent.payment_failed" => {
            let message = intent["last_payment_error"]["message"]
                .as_str()
                .unwrap_or("the payment failed");
            collection::failed(conn, charge, Some(intent_id), message, &settings.retry_days, now).await?;
        }
        "payment_intent.requires_action" => collection::requires_action(conn, charge, intent_id, now).await?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The invoice attempt a PaymentIntent's metadata names.
fn charge_ref(intent: &Value) -> Option<ChargeRef> {
    let metadata = &intent["metadata"];
    Some(ChargeRef {
        tenant_id: metadata[TENANT_KEY].as_str()?.parse().ok()?,
        invoice_id: metadata[INVOICE_KEY].as_str()?.parse().ok()?,
        attempt: metadata[ATTEMPT_KEY].as_str()?.parse().ok()?,
    })
}
