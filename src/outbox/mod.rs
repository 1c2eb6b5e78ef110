//! The outbox: every change that matters to outside systems records an
//! event in the transaction that makes the change. A rolled-back change
//! leaves no event, and a committed one always has its event; webhook
//! deliveries and provider syncs are queued from the event in that same
//! transaction, so nothing is lost between the change and its consumers.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::db::outbox::{self as rows, OutboxEventRow};
use crate::domain::outbox::EventType;
use crate::error::{AppError, AppResult};
use crate::providers;

pub mod views;

/// Records `event` about `object_id` with `data`, the object as the GraphQL
/// API shows it. Call it inside the transaction that makes the change.
pub async fn emit<T: Serialize>(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    event: EventType,
    object_id: Uuid,
    data: &T,
) -> AppResult<OutboxEventRow> {
    let data = serde_json::to_value(data).map_err(AppError::internal)?;
    let row = OutboxEventRow {
        tenant_id,
        id: Uuid::now_v7(),
        event_type: event.as_str().to_string(),
        object_type: event.object_type().as_str().to_string(),
        object_id,
        occurred_at: Utc::now(),
        data,
    };
    rows::insert(conn, &row).await?;
    providers::on_event(conn, &row).await?;
    Ok(row)
}

/// The event as a webhook body carries it.
pub fn envelope(event: &OutboxEventRow) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "type": event.event_type,
        "tenantId": event.tenant_id,
        "occurredAt": views::time(event.occurred_at),
        "objectType": event.object_type,
        "objectId": event.object_id,
        "data": event.data,
    })
}
