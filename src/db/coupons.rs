//! The coupons and discounts tables.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
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

/// A discount with its coupon.
#[derive(Debug, Clone)]
pub struct DiscountWithCoupon {
    pub discount: DiscountRow,
    pub coupon: CouponRow,
}

/// The discounts not removed of these payers (customer discounts) and these
/// subscriptions, oldest first, the order they apply in. With `lock`, the
/// discount rows are locked, so two invoices finalized at once count a
/// discount's periods one after the other. Exhausted ones are included;
/// `coupon::still_applies` tells them apart.
pub async fn discounts_for_invoicing(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    customer_ids: &[Uuid],
    subscription_ids: &[Uuid],
    lock: bool,
) -> QueryResult<Vec<DiscountWithCoupon>> {
    if customer_ids.is_empty() && subscription_ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = discounts::table
        .inner_join(
            coupons::table.on(coupons::tenant_id
                .eq(discounts::tenant_id)
                .and(coupons::id.eq(discounts::coupon_id))),
        )
        .filter(discounts::tenant_id.eq(tenant_id))
        .filter(discounts::removed_at.is_null())
        .filter(
            discounts::customer_id
                .eq_any(customer_ids)
                .or(discounts::subscription_id.eq_any(subscription_ids)),
        )
        .order((discounts::created_at, discounts::id))
        .select((DiscountRow::as_select(), CouponRow::as_select()));
    // Locking takes the coupons' rows too; nothing else locks a coupon
    // while holding a discount, so the order cannot deadlock.
    let found: Vec<(DiscountRow, CouponRow)> = if lock {
        query.for_update().load(conn).await?
    } else {
        query.load(conn).await?
    };
    Ok(found
        .into_iter()
        .map(|(discount, coupon)| DiscountWithCoupon { discount, coupon })
        .collect())
}
