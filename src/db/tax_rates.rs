//! The tax_rates and customer_tax_rates tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::schema::{customer_tax_rates, tax_rates};

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

/// Returns the row as stored (timestamps at PostgreSQL's precision).
pub async fn insert(conn: &mut AsyncPgConnection, row: &TaxRateRow) -> QueryResult<TaxRateRow> {
    diesel::insert_into(tax_rates::table)
        .values(row)
        .returning(TaxRateRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<TaxRateRow>> {
    tax_rates::table
        .filter(tax_rates::tenant_id.eq(tenant_id))
        .filter(tax_rates::id.eq_any(ids))
        .select(TaxRateRow::as_select())
        .load(conn)
        .await
}

/// Archives a live rate; None when there is no live rate with that id.
pub async fn archive(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<TaxRateRow>> {
    diesel::update(tax_rates::table)
        .filter(tax_rates::tenant_id.eq(tenant_id))
        .filter(tax_rates::id.eq(id))
        .filter(tax_rates::archived_at.is_null())
        .set(tax_rates::archived_at.eq(diesel::dsl::now))
        .returning(TaxRateRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Which rates a list returns.
#[derive(Debug, Clone, Default)]
pub struct TaxRateFilter {
    /// Only rates of this country (upper-case alpha-2).
    pub country: Option<String>,
    pub include_archived: bool,
}

fn filtered(tenant_id: Uuid, filter: &TaxRateFilter) -> tax_rates::BoxedQuery<'static, Pg> {
    let mut query = tax_rates::table.filter(tax_rates::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(country) = &filter.country {
        query = query.filter(tax_rates::country.eq(country.clone()));
    }
    if !filter.include_archived {
        query = query.filter(tax_rates::archived_at.is_null());
    }
    query
}

/// A page of the tenant's rates, oldest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &TaxRateFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TaxRateRow>> {
    let mut query = filtered(tenant_id, filter)
        .select(TaxRateRow::as_select())
        .order(tax_rates::id.asc())
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(tax_rates::id.gt(after));
    }
    query.load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, tenant_id: Uuid, filter: &TaxRateFilter) -> QueryResult<i64> {
    filtered(tenant_id, filter).count().get_result(conn).await
}

/// A rate set explicitly on a customer.
#[derive(Debug, Clone, Queryable)]
pub struct ExplicitRate {
    pub customer_id: Uuid,
    pub rate: TaxRateRow,
}

/// The rates set explicitly on these customers, archived ones included, in
/// their order.
pub async fn explicit_rates(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
) -> QueryResult<Vec<ExplicitRate>> {
    customer_tax_rates::table
        .inner_join(
            tax_rates::table.on(tax_rates::tenant_id
                .eq(customer_tax_rates::tenant_id)
                .and(tax_rates::id.eq(customer_tax_rates::tax_rate_id))),
        )
        .filter(customer_tax_rates::tenant_id.eq(tenant_id))
        .filter(customer_tax_rates::customer_id.eq_any(customer_ids))
        .order((customer_tax_rates::customer_id, customer_tax_rates::position))
        .select((customer_tax_rates::customer_id, TaxRateRow::as_select()))
        .load(conn)
        .await
}

/// Replaces the customer's explicit rates with these, in this order.
pub async fn replace_explicit_rates(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_id: Uuid,
    rate_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(customer_tax_rates::table)
        .filter(customer_tax_rates::tenant_id.eq(tenant_id))
        .filter(customer_tax_rates::customer_id.eq(customer_id))
        .execute(conn)
        .await?;
    if rate_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = rate_ids
        .iter()
        .enumerate()
        .map(|(position, rate_id)| {
            (
                customer_tax_rates::tenant_id.eq(tenant_id),
                customer_tax_rates::customer_id.eq(customer_id),
                customer_tax_rates::tax_rate_id.eq(*rate_id),
                customer_tax_rates::position.eq(position as i32),
            )
        })
        .collect();
    diesel::insert_into(customer_tax_rates::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}
