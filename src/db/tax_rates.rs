//! The tax_rates and customer_tax_rates tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::schema::tax_rates;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = tax_rates, check_for_backend(Pg))]
pub struct TaxRateRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    /// 0 to 100, e.g. 19 for 19 %.
    pub percentage: Decimal,
    /// Carved out of the line amounts (true) or added to them (false).
    pub inclusive: bool,
    /// ISO 3166-1 alpha-2; None: applies only when set on a customer explicitly.
    pub country: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A rate that applies to a customer, in the order it is shown.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(check_for_backend(Pg))]
pub struct ApplicableRate {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: uuid::Uuid,
    #[diesel(embed)]
    pub rate: TaxRateRow,
}

/// The tax rates invoices of these customers are charged, in one statement:
/// none for an exempt customer; its explicit rates when it has any; else the
/// live rates of its address's country, those without a state first, then
/// those of its state (compared without regard to case). Archived rates
/// never apply to new invoices, even when set explicitly.
pub async fn applicable_rates(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<ApplicableRate>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "SELECT c.id AS customer_id, r.*
         FROM customers c
         CROSS JOIN LATERAL (
             SELECT r.*, 0 AS by_address, x.position AS rank, r.created_at AS created
             FROM customer_tax_rates x
             JOIN tax_rates r ON r.tenant_id = x.tenant_id AND r.id = x.tax_rate_id
             WHERE x.tenant_id = c.tenant_id AND x.customer_id = c.id AND r.archived_at IS NULL
             UNION ALL
             SELECT r.*, 1, CASE WHEN r.state IS NULL THEN 0 ELSE 1 END, r.created_at
             FROM tax_rates r
             WHERE r.tenant_id = c.tenant_id AND r.archived_at IS NULL
               AND r.country = upper(c.address_country)
               AND (r.state IS NULL OR upper(r.state) = upper(c.address_state))
               AND NOT EXISTS (SELECT 1 FROM customer_tax_rates x
                               WHERE x.tenant_id = c.tenant_id AND x.customer_id = c.id)
         ) r
         WHERE c.tenant_id = $1 AND c.id = ANY($2) AND NOT c.tax_exempt
         ORDER BY c.id, r.by_address, r.rank, r.created, r.id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(customer_ids)
    .load(conn)
    .await
}
