//! The customers table: rows, inserts, updates and filtered lists.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::customers;
use crate::domain::stored::RecordStatus;

/// The unique index that keeps live external ids unique per tenant.
pub const LIVE_EXTERNAL_ID_INDEX: &str = "customers_live_external_id";

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = customers, check_for_backend(Pg))]
pub struct CustomerRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub external_customer_id: String,
    pub name: String,
    pub email: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_city: Option<String>,
    pub address_state: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_country: Option<String>,
    pub metadata: serde_json::Value,
    pub parent_customer_id: Option<Uuid>,
    pub status: RecordStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Charged no tax.
    pub tax_exempt: bool,
    /// Printed on its documents.
    pub tax_id: Option<String>,
}

impl CustomerRow {
    pub fn is_active(&self) -> bool {
        self.status == RecordStatus::Active
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset, Insertable)]
#[diesel(table_name = customers)]
pub struct AddressColumns {
    #[diesel(treat_none_as_null = true)]
    pub address_line1: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub address_line2: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub address_city: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub address_state: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub address_postal_code: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub address_country: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub external_customer_id: String,
    pub name: String,
    pub email: Option<String>,
    #[diesel(embed)]
    pub address: AddressColumns,
    pub metadata: serde_json::Value,
    pub parent_customer_id: Option<Uuid>,
    pub tax_exempt: bool,
    pub tax_id: Option<String>,
}

/// Changes of an update; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct CustomerChanges {
    pub external_customer_id: Option<String>,
    pub name: Option<String>,
    /// `Some(None)` clears the email.
    pub email: Option<Option<String>>,
    pub metadata: Option<serde_json::Value>,
    pub tax_exempt: Option<bool>,
    /// `Some(None)` clears the tax id.
    pub tax_id: Option<Option<String>>,
}

/// Which customers a list returns.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub parent_customer_id: Option<Uuid>,
    pub roots_only: bool,
    pub status: Option<RecordStatus>,
    /// Customers whose metadata contains all of these pairs.
    pub metadata: Option<serde_json::Value>,
    /// Case-insensitive substring of name, email or external id.
    pub search: Option<String>,
    /// Exactly this external id.
    pub external_customer_id: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewCustomer) -> QueryResult<CustomerRow> {
    diesel::insert_into(customers::table)
        .values(new)
        .returning(CustomerRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<CustomerRow>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(ids))
        .select(CustomerRow::as_select())
        .load(conn)
        .await
}

/// Locks the row for the rest of the transaction.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(id))
        .select(CustomerRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The live customer with that external id or, when there is none, the most
/// recently archived one.
pub async fn find_by_external_id(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    external_id: &str,
) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::external_customer_id.eq(external_id))
        .order((customers::archived_at.desc().nulls_first(), customers::id.desc()))
        .select(CustomerRow::as_select())
        .first(conn)
        .await
        .optional()
}

fn filtered(tenant_id: Uuid, filter: &CustomerFilter) -> customers::BoxedQuery<'static, Pg> {
    let mut query = customers::table.filter(customers::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(parent) = filter.parent_customer_id {
        query = query.filter(customers::parent_customer_id.eq(parent));
    }
    if filter.roots_only {
        query = query.filter(customers::parent_customer_id.is_null());
    }
    if let Some(status) = filter.status {
        query = query.filter(customers::status.eq(status));
    }
    if let Some(metadata) = &filter.metadata {
        query = query.filter(customers::metadata.contains(metadata.clone()));
    }
    if let Some(external_id) = &filter.external_customer_id {
        query = query.filter(customers::external_customer_id.eq(external_id.clone()));
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", escape_like(search));
        query = query.filter(
            customers::name
                .ilike(pattern.clone())
                .or(customers::external_customer_id.ilike(pattern.clone()))
                .or(customers::email.ilike(pattern).assume_not_null()),
        );
    }
    query
}

/// One page in id order (ids are time-ordered UUIDv7, so creation order).
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &CustomerFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CustomerRow>> {
    let mut query = filtered(tenant_id, filter);
    if let Some(after) = after {
        query = query.filter(customers::id.gt(after));
    }
    query
        .order(customers::id)
        .limit(limit)
        .select(CustomerRow::as_select())
        .load(conn)
        .await
}

/// A page by position in id order, for clients that page with limit/offset.
pub async fn list_from_offset(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &CustomerFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<CustomerRow>> {
    filtered(tenant_id, filter)
        .order(customers::id)
        .offset(offset)
        .limit(limit)
        .select(CustomerRow::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, tenant_id: Uuid, filter: &CustomerFilter) -> QueryResult<i64> {
    filtered(tenant_id, filter).count().get_result(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    changes: &CustomerChanges,
    address: Option<&AddressColumns>,
) -> QueryResult<CustomerRow> {
    let target = customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(id));
    diesel::update(target)
        .set((changes, address, customers::updated_at.eq(Utc::now())))
        .returning(CustomerRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_parent(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    parent: Option<Uuid>,
) -> QueryResult<CustomerRow> {
    let target = customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(id));
    diesel::update(target)
        .set((
            customers::parent_customer_id.eq(parent),
            customers::updated_at.eq(Utc::now()),
        ))
        .returning(CustomerRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn archive(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<CustomerRow> {
    let now = Utc::now();
    let target = customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq(id));
    diesel::update(target)
        .set((
            customers::status.eq(RecordStatus::Archived),
            customers::archived_at.eq(now),
            customers::updated_at.eq(now),
        ))
        .returning(CustomerRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn has_active_children(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        customers::table
            .filter(customers::tenant_id.eq(tenant_id))
            .filter(customers::parent_customer_id.eq(id))
            .filter(customers::status.eq(RecordStatus::Active)),
    ))
    .get_result(conn)
    .await
}

/// Escapes LIKE wildcards so a search matches the text literally.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("plain"), "plain");
    }
}
