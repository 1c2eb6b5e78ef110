use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::tenants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// The tenant of that name, created when missing (safe under concurrency).
pub async fn ensure_tenant(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values((tenants::id.eq(Uuid::now_v7()), tenants::name.eq(name)))
        .on_conflict(tenants::name)
        .do_nothing()
        .execute(conn)
        .await?;
    tenants::table
        .filter(tenants::name.eq(name))
        .select(Tenant::as_select())
        .get_result(conn)
        .await
}

/// What a tenant prints on its documents about itself.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg))]
pub struct TenantSettingsRow {
    pub id: Uuid,
    /// The tenant's own name, shown when no display name is set.
    pub name: String,
    pub display_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_city: Option<String>,
    pub address_state: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_country: Option<String>,
    pub email: Option<String>,
    pub logo_url: Option<String>,
    pub invoice_footer: Option<String>,
}

/// Changes to the settings: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = tenants)]
pub struct TenantSettingsChanges {
    pub display_name: Option<Option<String>>,
    pub address_line1: Option<Option<String>>,
    pub address_line2: Option<Option<String>>,
    pub address_city: Option<Option<String>>,
    pub address_state: Option<Option<String>>,
    pub address_postal_code: Option<Option<String>>,
    pub address_country: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub invoice_footer: Option<Option<String>>,
}

impl TenantSettingsChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        [
            &self.display_name,
            &self.address_line1,
            &self.address_line2,
            &self.address_city,
            &self.address_state,
            &self.address_postal_code,
            &self.address_country,
            &self.email,
            &self.logo_url,
            &self.invoice_footer,
        ]
        .iter()
        .all(|field| field.is_none())
    }
}

/// The tenant's settings (every tenant has them, empty at first).
pub async fn settings(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<TenantSettingsRow> {
    tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(TenantSettingsRow::as_select())
        .get_result(conn)
        .await
}

/// Applies the changes and returns the settings as stored.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    changes: &TenantSettingsChanges,
) -> QueryResult<TenantSettingsRow> {
    if changes.is_empty() {
        // diesel refuses an UPDATE without any column to set.
        return settings(conn, tenant_id).await;
    }
    diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set(changes)
        .returning(TenantSettingsRow::as_returning())
        .get_result(conn)
        .await
}
