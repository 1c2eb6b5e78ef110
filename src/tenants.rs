//! A tenant's own settings: what its documents print about it.

use uuid::Uuid;

use crate::db::tenants::{self, TenantSettingsChanges, TenantSettingsRow};
use crate::db::{DbPool, connection};
use crate::error::AppResult;

/// Applies the changes (already validated) and returns the settings.
pub async fn update_settings(
    pool: &DbPool,
    tenant_id: Uuid,
    changes: TenantSettingsChanges,
) -> AppResult<TenantSettingsRow> {
    let mut conn = connection(pool).await?;
    Ok(tenants::update_settings(&mut conn, tenant_id, &changes).await?)
}
