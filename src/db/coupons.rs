//! The coupons and discounts tables.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::MIN_UUID;
use crate::db::prepared::{PreparedExt, columns_of};
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

/// The coupon columns `discounts_for_invoicing` reads, each as `cp_<name>`
/// so they never collide with the discount's own.
const COUPON_COLUMNS: [&str; 15] = [
    "tenant_id",
    "id",
    "code",
    "name",
    "percent_off",
    "amount_off",
    "currency",
    "duration",
    "duration_periods",
    "max_redemptions",
    "times_redeemed",
    "redeem_by",
    "applies_to_price_ids",
    "archived_at",
    "created_at",
];

#[derive(QueryableByName)]
#[diesel(check_for_backend(Pg))]
struct DiscountAndCoupon {
    #[diesel(embed)]
    discount: DiscountRow,
    #[diesel(sql_type = SqlUuid)]
    cp_tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    cp_id: Uuid,
    #[diesel(sql_type = Text)]
    cp_code: String,
    #[diesel(sql_type = Text)]
    cp_name: String,
    #[diesel(sql_type = Nullable<Numeric>)]
    cp_percent_off: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    cp_amount_off: Option<Decimal>,
    #[diesel(sql_type = Nullable<Text>)]
    cp_currency: Option<Currency>,
    #[diesel(sql_type = Text)]
    cp_duration: CouponDuration,
    #[diesel(sql_type = Nullable<Int4>)]
    cp_duration_periods: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    cp_max_redemptions: Option<i32>,
    #[diesel(sql_type = Int4)]
    cp_times_redeemed: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    cp_redeem_by: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    cp_applies_to_price_ids: Option<Vec<Uuid>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    cp_archived_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    cp_created_at: DateTime<Utc>,
}

impl DiscountAndCoupon {
    fn split(self) -> DiscountWithCoupon {
        DiscountWithCoupon {
            discount: self.discount,
            coupon: CouponRow {
                tenant_id: self.cp_tenant_id,
                id: self.cp_id,
                code: self.cp_code,
                name: self.cp_name,
                percent_off: self.cp_percent_off,
                amount_off: self.cp_amount_off,
                currency: self.cp_currency,
                duration: self.cp_duration,
                duration_periods: self.cp_duration_periods,
                max_redemptions: self.cp_max_redemptions,
                times_redeemed: self.cp_times_redeemed,
                redeem_by: self.cp_redeem_by,
                applies_to_price_ids: self.cp_applies_to_price_ids,
                archived_at: self.cp_archived_at,
                created_at: self.cp_created_at,
            },
        }
    }
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
    // One index range per kind of owner, then each discount's coupon by
    // its key (the LATERAL's OFFSET keeps it a lookup per row, whatever the
    // planner knows of the tenant's coupons). Only the discounts are locked.
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        let sql = |lock: &str| {
            format!(
                "SELECT {discount}, c.*
                 FROM discounts d
                 CROSS JOIN LATERAL (
                     SELECT {coupon} FROM coupons x
                     WHERE x.tenant_id = d.tenant_id AND x.id = d.coupon_id OFFSET 0
                 ) c
                 WHERE d.tenant_id = $1 AND d.removed_at IS NULL
                   AND (d.customer_id = ANY($2) OR d.subscription_id = ANY($3))
                 ORDER BY d.created_at, d.id{lock}",
                discount = columns_of::<DiscountRow>("discounts", "d"),
                coupon = COUPON_COLUMNS
                    .iter()
                    .map(|c| format!("x.{c} AS cp_{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        [sql(""), sql(" FOR UPDATE OF d")]
    });
    let rows: Vec<DiscountAndCoupon> = diesel::sql_query(&SQL[usize::from(lock)])
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(customer_ids)
        .bind::<Array<SqlUuid>, _>(subscription_ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(DiscountAndCoupon::split).collect())
}

/// The unique index that keeps a live coupon's code unique in its tenant.
pub const LIVE_CODE_INDEX: &str = "coupons_code";
/// The unique indexes that keep a coupon applied once at a time.
pub const CUSTOMER_COUPON_INDEX: &str = "discounts_customer_coupon";
pub const SUBSCRIPTION_COUPON_INDEX: &str = "discounts_subscription_coupon";

/// Returns the row as stored (timestamps at PostgreSQL's precision).
pub async fn insert_coupon(conn: &mut AsyncPgConnection, row: &CouponRow) -> QueryResult<CouponRow> {
    diesel::insert_into(coupons::table)
        .values(row)
        .returning(CouponRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn coupons_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<CouponRow>> {
    coupons::table
        .filter(coupons::tenant_id.eq(tenant_id))
        .filter(coupons::id.eq_any(ids))
        .select(CouponRow::as_select())
        .load(conn)
        .await
}

/// Archives a live coupon; None when there is no live coupon with that id.
pub async fn archive_coupon(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<CouponRow>> {
    diesel::update(coupons::table)
        .filter(coupons::tenant_id.eq(tenant_id))
        .filter(coupons::id.eq(id))
        .filter(coupons::archived_at.is_null())
        .set(coupons::archived_at.eq(diesel::dsl::now))
        .returning(CouponRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

fn coupon_list(tenant_id: Uuid, include_archived: bool) -> coupons::BoxedQuery<'static, Pg> {
    let mut query = coupons::table.filter(coupons::tenant_id.eq(tenant_id)).into_boxed();
    if !include_archived {
        query = query.filter(coupons::archived_at.is_null());
    }
    query
}

/// A page of the tenant's coupons, oldest first.
pub async fn coupon_page(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    include_archived: bool,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CouponRow>> {
    let mut query = coupon_list(tenant_id, include_archived)
        .select(CouponRow::as_select())
        .order(coupons::id.asc())
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(coupons::id.gt(after));
    }
    query.load(conn).await
}

pub async fn coupon_count(conn: &mut AsyncPgConnection, tenant_id: Uuid, include_archived: bool) -> QueryResult<i64> {
    coupon_list(tenant_id, include_archived).count().get_result(conn).await
}

/// Counts one redemption of the live coupon with this code, if it can
/// still be redeemed, in one statement: two redemptions at once can never
/// both take the last one. None when nothing was redeemed.
pub async fn redeem(conn: &mut AsyncPgConnection, tenant_id: Uuid, code: &str) -> QueryResult<Option<CouponRow>> {
    diesel::update(coupons::table)
        .filter(coupons::tenant_id.eq(tenant_id))
        .filter(coupons::code.eq(code))
        .filter(coupons::archived_at.is_null())
        .filter(
            coupons::max_redemptions
                .is_null()
                .or(coupons::times_redeemed.nullable().lt(coupons::max_redemptions)),
        )
        .filter(coupons::redeem_by.is_null().or(coupons::redeem_by.gt(diesel::dsl::now)))
        .set(coupons::times_redeemed.eq(coupons::times_redeemed + 1))
        .returning(CouponRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The live coupon with this code, if any.
pub async fn live_coupon_by_code(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    code: &str,
) -> QueryResult<Option<CouponRow>> {
    coupons::table
        .filter(coupons::tenant_id.eq(tenant_id))
        .filter(coupons::code.eq(code))
        .filter(coupons::archived_at.is_null())
        .select(CouponRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Returns the row as stored (timestamps at PostgreSQL's precision).
pub async fn insert_discount(conn: &mut AsyncPgConnection, row: &DiscountRow) -> QueryResult<DiscountRow> {
    diesel::insert_into(discounts::table)
        .values(row)
        .returning(DiscountRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn discounts_by_ids(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<DiscountRow>> {
    discounts::table
        .filter(discounts::tenant_id.eq(tenant_id))
        .filter(discounts::id.eq_any(ids))
        .select(DiscountRow::as_select())
        .load(conn)
        .await
}

/// Marks a discount not yet removed as removed; None when there is none
/// with that id still applied.
pub async fn remove_discount(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<DiscountRow>> {
    diesel::update(discounts::table)
        .filter(discounts::tenant_id.eq(tenant_id))
        .filter(discounts::id.eq(id))
        .filter(discounts::removed_at.is_null())
        .set(discounts::removed_at.eq(diesel::dsl::now))
        .returning(DiscountRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Whose discounts a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscountHolder {
    Customer,
    Subscription,
}

impl DiscountHolder {
    fn column(self) -> &'static str {
        match self {
            DiscountHolder::Customer => "customer_id",
            DiscountHolder::Subscription => "subscription_id",
        }
    }
}

/// One requested page of a holder's discounts, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscountPageKey {
    pub holder: Uuid,
    pub include_removed: bool,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A row answering the `idx`-th requested key (1-based).
#[derive(QueryableByName)]
pub struct IndexedDiscount {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(embed)]
    pub discount: DiscountRow,
}

/// Pages of discounts of many customers (or subscriptions) in one
/// statement: one index range per page through a LATERAL.
pub async fn discount_pages(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    holder: DiscountHolder,
    keys: &[DiscountPageKey],
) -> QueryResult<Vec<IndexedDiscount>> {
    let sql = format!(
        "SELECT k.idx, {columns}
         FROM unnest($2::uuid[], $3::bool[], $4::uuid[], $5::int8[])
              WITH ORDINALITY AS k(holder, with_removed, after, lim, idx)
         CROSS JOIN LATERAL (
             SELECT * FROM discounts r
             WHERE r.tenant_id = $1 AND r.{column} = k.holder
               AND (k.with_removed OR r.removed_at IS NULL)
               AND r.id > COALESCE(k.after, {MIN_UUID})
             ORDER BY r.id
             LIMIT k.lim
         ) r
         ORDER BY k.idx, r.id",
        columns = columns_of::<DiscountRow>("discounts", "r"),
        column = holder.column(),
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(keys.iter().map(|k| k.holder).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(keys.iter().map(|k| k.include_removed).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(keys.iter().map(|k| k.after).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(keys.iter().map(|k| k.limit).collect::<Vec<_>>())
        .prepared()
        .load(conn)
        .await
}

#[derive(QueryableByName)]
pub struct DiscountCount {
    #[diesel(sql_type = BigInt)]
    pub idx: i64,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// How many discounts each (holder, include_removed) pair has, in one
/// statement; answered by 1-based position.
pub async fn discount_counts(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    holder: DiscountHolder,
    holders: &[(Uuid, bool)],
) -> QueryResult<Vec<DiscountCount>> {
    let sql = format!(
        "SELECT k.idx, (SELECT count(*) FROM discounts r
                        WHERE r.tenant_id = $1 AND r.{column} = k.holder
                          AND (k.with_removed OR r.removed_at IS NULL)) AS count
         FROM unnest($2::uuid[], $3::bool[]) WITH ORDINALITY AS k(holder, with_removed, idx)",
        column = holder.column(),
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(holders.iter().map(|h| h.0).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(holders.iter().map(|h| h.1).collect::<Vec<_>>())
        .prepared()
        .load(conn)
        .await
}
