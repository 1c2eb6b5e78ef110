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
use crate::webhooks;

pub mod objects;
pub mod retention;
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
    webhooks::queue_deliveries(conn, std::slice::from_ref(&row)).await?;
    providers::on_event(conn, &row).await?;
    Ok(row)
}

/// Records one `event` per `(tenant, object id, data)` item with a single
/// statement, for changes made in batches (the billing run). Call it inside
/// the transaction that makes the changes; consumers are called as `emit`
/// calls them.
pub async fn emit_many<T: Serialize>(
    conn: &mut AsyncPgConnection,
    event: EventType,
    items: &[(Uuid, Uuid, T)],
) -> AppResult<Vec<OutboxEventRow>> {
    let occurred_at = Utc::now();
    let rows = items
        .iter()
        .map(|(tenant_id, object_id, data)| {
            Ok(OutboxEventRow {
                tenant_id: *tenant_id,
                id: Uuid::now_v7(),
                event_type: event.as_str().to_string(),
                object_type: event.object_type().as_str().to_string(),
                object_id: *object_id,
                occurred_at,
                data: serde_json::to_value(data).map_err(AppError::internal)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    rows::insert_many(conn, &rows).await?;
    webhooks::queue_deliveries(conn, &rows).await?;
    for row in &rows {
        providers::on_event(conn, row).await?;
    }
    Ok(rows)
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
