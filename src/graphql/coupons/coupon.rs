use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::coupons::CouponRow;
use crate::domain::coupon::unredeemable;
use crate::graphql::connection::Connection;
use crate::graphql::context::ContextExt;
use crate::graphql::plans::loaders::PriceById;
use crate::graphql::plans::plan::Price;

/// How many finalized invoices a discount reduces.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::coupon::CouponDuration")]
pub enum CouponDuration {
    /// The first invoice only.
    Once,
    /// The first `durationPeriods` invoices.
    Repeating,
    /// Every invoice while the discount is applied.
    Forever,
}

pub struct Coupon(pub CouponRow);

/// A percentage or an amount off invoice lines, redeemed by code with applyCoupon.
#[Object]
impl Coupon {
    /// The coupon's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// What customers type, as it was given; unique among the tenant's coupons not archived.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Shown on invoices beside the discount.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Percent taken off each line it applies to; null for an amount coupon.
    async fn percent_off(&self) -> Option<Decimal> {
        self.0.percent_off
    }

    /// Amount taken off each invoice in `currency`, in its major unit; null for a percentage
    /// coupon.
    async fn amount_off(&self) -> Option<Decimal> {
        let currency = self.0.currency?;
        self.0
            .amount_off
            .map(|a| crate::domain::money::round_amount(a, currency))
    }

    /// ISO 4217 code of `amountOff`; null for a percentage coupon.
    async fn currency(&self) -> Option<&str> {
        self.0.currency.map(|c| c.code())
    }

    /// ONCE, REPEATING or FOREVER.
    async fn duration(&self) -> CouponDuration {
        self.0.duration.into()
    }

    /// How many invoices a REPEATING discount reduces; null otherwise.
    async fn duration_periods(&self) -> Option<i32> {
        self.0.duration_periods
    }

    /// Most times it may be redeemed, across all customers; null: no limit.
    async fn max_redemptions(&self) -> Option<i32> {
        self.0.max_redemptions
    }

    /// Times it has been redeemed (a removed discount still counts).
    async fn times_redeemed(&self) -> i32 {
        self.0.times_redeemed
    }

    /// Last instant it may be redeemed (exclusive); null: no end.
    async fn redeem_by(&self) -> Option<DateTime<Utc>> {
        self.0.redeem_by
    }

    /// The prices whose lines it reduces; null: every line of an invoice.
    async fn applies_to_prices(&self, ctx: &Context<'_>) -> Result<Option<Vec<Price>>> {
        let Some(ids) = &self.0.applies_to_price_ids else {
            return Ok(None);
        };
        let mut found = ctx.loader().load_many(ids.iter().map(|id| PriceById(*id))).await?;
        Ok(Some(
            ids.iter()
                .filter_map(|id| found.remove(&PriceById(*id)))
                .map(Price)
                .collect(),
        ))
    }

    /// Whether applyCoupon can redeem it now: not archived, redeemBy not passed, limit not
    /// reached.
    async fn redeemable(&self, ctx: &Context<'_>) -> bool {
        let c = &self.0;
        unredeemable(
            c.archived_at.is_some(),
            c.max_redemptions,
            c.times_redeemed,
            c.redeem_by,
            ctx.now(),
        )
        .is_none()
    }

    /// When it was archived; discounts it granted keep applying.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }

    /// When it was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub type CouponConnection = Connection<Coupon>;
