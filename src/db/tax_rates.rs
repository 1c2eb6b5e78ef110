//! The tax_rates and customer_tax_rates tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
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
