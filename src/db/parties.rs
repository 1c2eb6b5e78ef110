//! Who receives a document: the customers' printable details, read for
//! invoice documents and their snapshots (the issuer is the tenant's
//! settings, `db::tenants::settings`).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::customers;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers, check_for_backend(Pg))]
pub struct CustomerParty {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_city: Option<String>,
    pub address_state: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_country: Option<String>,
    pub tax_id: Option<String>,
}

pub async fn customer_parties(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<CustomerParty>> {
    customers::table
        .filter(customers::tenant_id.eq(tenant_id))
        .filter(customers::id.eq_any(ids))
        .select(CustomerParty::as_select())
        .load(conn)
        .await
}
