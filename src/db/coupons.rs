//! The coupons and discounts tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::schema::{coupons, discounts};
use crate::domain::coupon::CouponDuration;
use crate::domain::money::Currency;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = coupons, check_for_backend(Pg))]
pub struct CouponRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// Exactly one of `percent_off` and `amount_off` is set.
    pub percent_off: Option<Decimal>,
    pub amount_off: Option<Decimal>,
    /// The currency of `amount_off`.
    pub currency: Option<Currency>,
    pub duration: CouponDuration,
    /// REPEATING only.
    pub duration_periods: Option<i32>,
    pub max_redemptions: Option<i32>,
    pub times_redeemed: i32,
    pub redeem_by: Option<DateTime<Utc>>,
    /// None: every line of an invoice.
    pub applies_to_price_ids: Option<Vec<Uuid>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = discounts, check_for_backend(Pg))]
pub struct DiscountRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub coupon_id: Uuid,
    /// Exactly one of `customer_id` and `subscription_id` is set.
    pub customer_id: Option<Uuid>,
    pub subscription_id: Option<Uuid>,
    /// Finalized invoices it has reduced.
    pub periods_applied: i32,
    pub removed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
