//! The plans and prices tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::schema::{plans, prices};
use crate::domain::charges::{InvoiceCadence, PriceType, Proration};
use crate::domain::money::Currency;
use crate::domain::period::BillingPeriod;
use crate::domain::pricing::BillingModelKind;
use crate::domain::stored::RecordStatus;

/// The unique index that keeps lookup keys unique per tenant.
pub const LOOKUP_KEY_INDEX: &str = "plans_lookup_key";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plans, check_for_backend(Pg))]
pub struct PlanRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub lookup_key: Option<String>,
    pub description: Option<String>,
    pub status: RecordStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = prices, check_for_backend(Pg))]
pub struct PriceRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub plan_id: Uuid,
    pub currency: Currency,
    pub billing_period: BillingPeriod,
    pub billing_period_count: i32,
    pub price_type: PriceType,
    pub amount: Option<Decimal>,
    pub invoice_cadence: Option<InvoiceCadence>,
    pub quantity: Option<Decimal>,
    pub meter_id: Option<Uuid>,
    pub billing_model: Option<BillingModelKind>,
    pub model: Option<serde_json::Value>,
    pub status: RecordStatus,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// FIXED prices: how a partly billable period is billed.
    pub proration: Option<Proration>,
}

pub async fn insert_plan(conn: &mut AsyncPgConnection, plan: &PlanRow) -> QueryResult<PlanRow> {
    diesel::insert_into(plans::table)
        .values(plan)
        .returning(PlanRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert_prices(conn: &mut AsyncPgConnection, rows: &[PriceRow]) -> QueryResult<Vec<PriceRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    diesel::insert_into(prices::table)
        .values(rows)
        .returning(PriceRow::as_returning())
        .get_results(conn)
        .await
}

pub async fn plans_by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<PlanRow>> {
    plans::table
        .filter(plans::tenant_id.eq(tenant_id))
        .filter(plans::id.eq_any(ids))
        .select(PlanRow::as_select())
        .load(conn)
        .await
}

pub async fn plan_by_lookup_key(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    lookup_key: &str,
) -> QueryResult<Option<PlanRow>> {
    plans::table
        .filter(plans::tenant_id.eq(tenant_id))
        .filter(plans::lookup_key.eq(lookup_key))
        .select(PlanRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the plan for the rest of the transaction.
pub async fn plan_for_update(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<PlanRow>> {
    plans::table
        .filter(plans::tenant_id.eq(tenant_id))
        .filter(plans::id.eq(id))
        .select(PlanRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn list_plans(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    status: Option<RecordStatus>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<PlanRow>> {
    let mut query = plans::table.filter(plans::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(status) = status {
        query = query.filter(plans::status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(plans::id.gt(after));
    }
    query
        .order(plans::id)
        .limit(limit)
        .select(PlanRow::as_select())
        .load(conn)
        .await
}

pub async fn count_plans(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    status: Option<RecordStatus>,
) -> QueryResult<i64> {
    let mut query = plans::table.filter(plans::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(status) = status {
        query = query.filter(plans::status.eq(status));
    }
    query.count().get_result(conn).await
}

pub async fn prices_by_ids(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> QueryResult<Vec<PriceRow>> {
    prices::table
        .filter(prices::tenant_id.eq(tenant_id))
        .filter(prices::id.eq_any(ids))
        .select(PriceRow::as_select())
        .load(conn)
        .await
}

/// Every price of many plans, in creation order.
pub async fn prices_of_plans(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    plan_ids: &[Uuid],
) -> QueryResult<Vec<PriceRow>> {
    prices::table
        .filter(prices::tenant_id.eq(tenant_id))
        .filter(prices::plan_id.eq_any(plan_ids))
        .order((prices::plan_id, prices::id))
        .select(PriceRow::as_select())
        .load(conn)
        .await
}

/// Archives the price (idempotent); None when it does not exist.
pub async fn archive_price(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<PriceRow>> {
    let target = prices::table
        .filter(prices::tenant_id.eq(tenant_id))
        .filter(prices::id.eq(id));
    diesel::update(target.filter(prices::status.eq(RecordStatus::Active)))
        .set((
            prices::status.eq(RecordStatus::Archived),
            prices::archived_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    target.select(PriceRow::as_select()).first(conn).await.optional()
}
