//! Coupons and the discounts they grant, each operation one transaction.
//! A redemption is counted by the statement that checks the limit, in the
//! transaction that inserts the discount: a refused discount gives its
//! redemption back.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::coupons::{
    self, CUSTOMER_COUPON_INDEX, CouponRow, DiscountRow, LIVE_CODE_INDEX, SUBSCRIPTION_COUPON_INDEX,
};
use crate::db::errors::unique_violation;
use crate::db::{DbPool, connection, customers, plans, subscriptions};
use crate::domain::coupon::{CouponDuration, Unredeemable, unredeemable};
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};

/// A new coupon, already validated by the domain rules.
#[derive(Debug, Clone)]
pub struct CouponDraft {
    pub code: String,
    pub name: String,
    pub percent_off: Option<Decimal>,
    /// With its currency.
    pub amount_off: Option<(Decimal, Currency)>,
    pub duration: CouponDuration,
    pub duration_periods: Option<i32>,
    pub max_redemptions: Option<i32>,
    pub redeem_by: Option<DateTime<Utc>>,
    pub applies_to_price_ids: Option<Vec<Uuid>>,
}

/// Where a discount applies.
#[derive(Debug, Clone, Copy)]
pub enum DiscountTarget {
    Customer(Uuid),
    Subscription(Uuid),
}

pub async fn create(pool: &DbPool, tenant_id: Uuid, draft: CouponDraft) -> AppResult<CouponRow> {
    let mut conn = connection(pool).await?;
    if let Some(ids) = &draft.applies_to_price_ids {
        check_prices(&mut conn, tenant_id, ids).await?;
    }
    let row = CouponRow {
        tenant_id,
        id: Uuid::now_v7(),
        code: draft.code,
        name: draft.name,
        percent_off: draft.percent_off,
        amount_off: draft.amount_off.map(|(amount, _)| amount),
        currency: draft.amount_off.map(|(_, currency)| currency),
        duration: draft.duration,
        duration_periods: draft.duration_periods,
        max_redemptions: draft.max_redemptions,
        times_redeemed: 0,
        redeem_by: draft.redeem_by,
        applies_to_price_ids: draft.applies_to_price_ids,
        archived_at: None,
        created_at: Utc::now(),
    };
    coupons::insert_coupon(&mut conn, &row)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(LIVE_CODE_INDEX) => AppError::conflict(format!("a coupon with code {:?} already exists", row.code)),
            _ => AppError::from(e),
        })
}

/// Each id must be a price of the tenant (archived prices too: a coupon
/// may be written for lines already billed).
async fn check_prices(conn: &mut AsyncPgConnection, tenant_id: Uuid, ids: &[Uuid]) -> AppResult<()> {
    let found: HashSet<Uuid> = plans::prices_by_ids(conn, tenant_id, ids)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    match ids.iter().position(|id| !found.contains(id)) {
        Some(i) => Err(AppError::validation(
            format!("input.appliesToPriceIds[{i}]"),
            "is not a price of the tenant",
        )),
        None => Ok(()),
    }
}

/// Archives the coupon: it can no longer be redeemed; discounts already
/// granted keep applying. CONFLICT when already archived.
pub async fn archive(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<CouponRow> {
    let mut conn = connection(pool).await?;
    if let Some(row) = coupons::archive_coupon(&mut conn, tenant_id, id).await? {
        return Ok(row);
    }
    match coupons::coupons_by_ids(&mut conn, tenant_id, &[id]).await?.first() {
        Some(_) => Err(AppError::conflict("coupon is already archived")),
        None => Err(AppError::not_found("coupon")),
    }
}

/// Redeems the live coupon with `code` for the target.
pub async fn apply(pool: &DbPool, tenant_id: Uuid, code: String, target: DiscountTarget) -> AppResult<DiscountRow> {
    let mut conn = connection(pool).await?;
    conn.transaction(async |conn| {
        let subscription_currency = check_target(conn, tenant_id, target).await?;
        let coupon = match coupons::redeem(conn, tenant_id, &code).await? {
            Some(coupon) => coupon,
            None => return Err(refusal(conn, tenant_id, &code).await),
        };
        if let (Some(wanted), Some(currency)) = (subscription_currency, coupon.currency)
            && wanted != currency
        {
            return Err(AppError::validation(
                "input.code",
                format!("coupon {code} takes an amount off in {currency}, but the subscription bills in {wanted}"),
            ));
        }
        let (customer_id, subscription_id) = match target {
            DiscountTarget::Customer(id) => (Some(id), None),
            DiscountTarget::Subscription(id) => (None, Some(id)),
        };
        let row = DiscountRow {
            tenant_id,
            id: Uuid::now_v7(),
            coupon_id: coupon.id,
            customer_id,
            subscription_id,
            periods_applied: 0,
            removed_at: None,
            created_at: Utc::now(),
        };
        coupons::insert_discount(conn, &row)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(CUSTOMER_COUPON_INDEX) => {
                    AppError::conflict(format!("coupon {code} is already applied to this customer"))
                }
                Some(SUBSCRIPTION_COUPON_INDEX) => {
                    AppError::conflict(format!("coupon {code} is already applied to this subscription"))
                }
                _ => AppError::from(e),
            })
    })
    .await
}

/// A customer must be active, a subscription must not have ended; the
/// subscription's currency is returned, for amount coupons.
async fn check_target(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    target: DiscountTarget,
) -> AppResult<Option<Currency>> {
    match target {
        DiscountTarget::Customer(id) => {
            let customer = customers::find_by_ids(conn, tenant_id, &[id])
                .await?
                .pop()
                .ok_or_else(|| AppError::not_found("customer"))?;
            if !customer.is_active() {
                return Err(AppError::conflict(
                    "customer is archived: a coupon cannot be applied to it",
                ));
            }
            Ok(None)
        }
        DiscountTarget::Subscription(id) => {
            let subscription = subscriptions::by_ids(conn, tenant_id, &[id])
                .await?
                .pop()
                .ok_or_else(|| AppError::not_found("subscription"))?;
            if subscription.ends_at.is_some_and(|end| end <= Utc::now()) {
                return Err(AppError::conflict(
                    "subscription has ended: a coupon cannot be applied to it",
                ));
            }
            Ok(Some(subscription.currency))
        }
    }
}

/// Why the coupon with `code` was not redeemed.
async fn refusal(conn: &mut AsyncPgConnection, tenant_id: Uuid, code: &str) -> AppError {
    let coupon = match coupons::live_coupon_by_code(conn, tenant_id, code).await {
        Ok(Some(coupon)) => coupon,
        Ok(None) => return AppError::not_found("coupon"),
        Err(e) => return AppError::from(e),
    };
    let state = unredeemable(
        coupon.archived_at.is_some(),
        coupon.max_redemptions,
        coupon.times_redeemed,
        coupon.redeem_by,
        Utc::now(),
    );
    match state {
        Some(Unredeemable::LimitReached(max)) => {
            AppError::conflict(format!("coupon {code} has reached its redemption limit ({max})"))
        }
        // None: redeemBy passed between the statement's clock and ours.
        Some(Unredeemable::Expired) | None => {
            AppError::conflict(format!("coupon {code} can no longer be redeemed: its redeemBy passed"))
        }
        Some(Unredeemable::Archived) => AppError::not_found("coupon"),
    }
}

/// Stops the discount from reducing further invoices; the redemption is
/// not given back. CONFLICT when already removed.
pub async fn remove(pool: &DbPool, tenant_id: Uuid, id: Uuid) -> AppResult<DiscountRow> {
    let mut conn = connection(pool).await?;
    if let Some(row) = coupons::remove_discount(&mut conn, tenant_id, id).await? {
        return Ok(row);
    }
    match coupons::discounts_by_ids(&mut conn, tenant_id, &[id]).await?.first() {
        Some(_) => Err(AppError::conflict("discount is already removed")),
        None => Err(AppError::not_found("discount")),
    }
}
