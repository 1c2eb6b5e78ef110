//! Integration mappings: links from a customer to records in outside systems.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::customers::CustomerRow;
use crate::db::schema::{customers, integration_mappings};
use crate::domain::integration::Provider;

/// The constraint that lets a provider record belong to one customer only.
pub const ENTITY_OWNER_CONSTRAINT: &str = "integration_mappings_entity_owner";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integration_mappings, check_for_backend(Pg))]
pub struct IntegrationRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub provider: Provider,
    pub provider_name: String,
    pub provider_entity_id: String,
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates the customer's mapping for the provider, or replaces its entity
/// id and metadata when one exists.
pub async fn upsert(conn: &mut AsyncPgConnection, row: &IntegrationRow) -> QueryResult<IntegrationRow> {
    use integration_mappings as m;
    diesel::insert_into(m::table)
        .values(row)
        .on_conflict((m::tenant_id, m::customer_id, m::provider, m::provider_name))
        .do_update()
        .set((
            m::provider_entity_id.eq(excluded(m::provider_entity_id)),
            m::metadata.eq(excluded(m::metadata)),
            m::updated_at.eq(excluded(m::updated_at)),
        ))
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the mapping; returns it as it was, if there was one.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    provider: Provider,
    provider_name: &str,
) -> QueryResult<Option<IntegrationRow>> {
    use integration_mappings as m;
    diesel::delete(
        m::table
            .filter(m::tenant_id.eq(tenant_id))
            .filter(m::customer_id.eq(customer_id))
            .filter(m::provider.eq(provider))
            .filter(m::provider_name.eq(provider_name)),
    )
    .returning(IntegrationRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Every mapping of many customers, in provider order.
pub async fn for_customers(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<IntegrationRow>> {
    use integration_mappings as m;
    m::table
        .filter(m::tenant_id.eq(tenant_id))
        .filter(m::customer_id.eq_any(customer_ids))
        .order((m::customer_id, m::provider, m::provider_name))
        .select(IntegrationRow::as_select())
        .load(conn)
        .await
}

/// The customer a provider record is mapped to.
pub async fn find_customer(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    provider: Provider,
    provider_name: &str,
    provider_entity_id: &str,
) -> QueryResult<Option<CustomerRow>> {
    use integration_mappings as m;
    m::table
        .inner_join(
            customers::table.on(customers::tenant_id
                .eq(m::tenant_id)
                .and(customers::id.eq(m::customer_id))),
        )
        .filter(m::tenant_id.eq(tenant_id))
        .filter(m::provider.eq(provider))
        .filter(m::provider_name.eq(provider_name))
        .filter(m::provider_entity_id.eq(provider_entity_id))
        .select(CustomerRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates the mapping unless the customer already has one for the
/// provider; returns the mapping in force either way.
pub async fn insert_if_absent(conn: &mut AsyncPgConnection, row: &IntegrationRow) -> QueryResult<IntegrationRow> {
    use integration_mappings as m;
    diesel::insert_into(m::table)
        .values(row)
        .on_conflict((m::tenant_id, m::customer_id, m::provider, m::provider_name))
        .do_nothing()
        .execute(conn)
        .await?;
    m::table
        .filter(m::tenant_id.eq(row.tenant_id))
        .filter(m::customer_id.eq(row.customer_id))
        .filter(m::provider.eq(row.provider))
        .filter(m::provider_name.eq(&row.provider_name))
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
}
