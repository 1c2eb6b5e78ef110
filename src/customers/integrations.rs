//! Creating and removing a customer's links to outside systems.

use chrono::Utc;
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::db::errors::unique_violation;
use crate::db::integrations::{self, ENTITY_OWNER_CONSTRAINT, IntegrationRow};
use crate::db::{DbPool, connection};
use crate::domain::integration::Provider;
use crate::domain::metadata::{self, Metadata};
use crate::domain::outbox::EventType;
use crate::error::{AppError, AppResult};
use crate::outbox::{self, views::IntegrationMappingView};

/// A validated mapping; `provider_name` is empty unless the provider is CUSTOM.
#[derive(Debug, Clone)]
pub struct MappingDraft {
    pub provider: Provider,
    pub provider_name: String,
    pub provider_entity_id: String,
    pub metadata: Metadata,
}

pub async fn upsert(
    pool: &DbPool,
    tenant_id: Uuid,
    customer_id: Uuid,
    draft: MappingDraft,
) -> AppResult<IntegrationRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        super::live_customer_for_update(conn, tenant_id, customer_id).await?;
        let now = Utc::now();
        let row = IntegrationRow {
            tenant_id,
            id: Uuid::now_v7(),
            customer_id,
            provider: draft.provider,
            provider_name: draft.provider_name.clone(),
            provider_entity_id: draft.provider_entity_id.clone(),
            metadata: metadata::metadata_to_json(&draft.metadata),
            created_at: now,
            updated_at: now,
        };
        let row = integrations::upsert(conn, &row)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(ENTITY_OWNER_CONSTRAINT) => AppError::conflict(format!(
                    "{} record {:?} is already mapped to another customer",
                    provider_label(&draft),
                    draft.provider_entity_id
                )),
                _ => AppError::from(e),
            })?;
        let view = IntegrationMappingView::from(&row);
        outbox::emit(conn, tenant_id, EventType::IntegrationMappingUpserted, row.id, &view).await?;
        Ok(row)
    })
    .await
}

pub async fn delete(
    pool: &DbPool,
    tenant_id: Uuid,
    customer_id: Uuid,
    provider: Provider,
    provider_name: &str,
) -> AppResult<()> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let deleted = integrations::delete(conn, tenant_id, customer_id, provider, provider_name)
            .await?
            .ok_or_else(|| AppError::not_found("integration mapping"))?;
        // The mapping as it was, so a receiver knows which link went away.
        let view = IntegrationMappingView::from(&deleted);
        outbox::emit(conn, tenant_id, EventType::IntegrationMappingDeleted, deleted.id, &view).await?;
        Ok(())
    })
    .await
}

fn provider_label(draft: &MappingDraft) -> String {
    if draft.provider_name.is_empty() {
        draft.provider.as_str().to_string()
    } else {
        format!("{} ({})", draft.provider.as_str(), draft.provider_name)
    }
}
