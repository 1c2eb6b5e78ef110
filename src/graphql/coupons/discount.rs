use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::coupons::{DiscountHolder, DiscountPageKey, DiscountRow};
use crate::domain::coupon::{periods_remaining, still_applies};
use crate::error::AppError;
use crate::graphql::connection::{Connection, Total};
use crate::graphql::context::ContextExt;
use crate::graphql::coupons::coupon::Coupon;
use crate::graphql::coupons::loaders::{CouponById, DiscountCount, DiscountsPage};
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::loaders::CustomerById;
use crate::graphql::pagination::PageRequest;
use crate::graphql::subscriptions::loaders::SubscriptionById;
use crate::graphql::subscriptions::subscription::Subscription;

pub struct Discount(pub DiscountRow);

impl Discount {
    async fn coupon_row(&self, ctx: &Context<'_>) -> Result<crate::db::coupons::CouponRow> {
        Ok(ctx
            .loader()
            .load_one(CouponById(self.0.coupon_id))
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("discount {} without its coupon", self.0.id)))?)
    }
}

/// A coupon redeemed for a customer (every invoice it pays) or for one subscription (that
/// subscription's invoices).
#[Object]
impl Discount {
    /// The discount's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The coupon it was redeemed from.
    async fn coupon(&self, ctx: &Context<'_>) -> Result<Coupon> {
        Ok(Coupon(self.coupon_row(ctx).await?))
    }

    /// The customer it applies to; null for a subscription's discount.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(id) = self.0.customer_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(CustomerById(id)).await?.map(Customer))
    }

    /// The subscription it applies to; null for a customer's discount.
    async fn subscription(&self, ctx: &Context<'_>) -> Result<Option<Subscription>> {
        let Some(id) = self.0.subscription_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(SubscriptionById(id)).await?.map(Subscription))
    }

    /// Finalized invoices it has reduced.
    async fn periods_applied(&self) -> i32 {
        self.0.periods_applied
    }

    /// Invoices it will still reduce (0 once used up); null for a FOREVER coupon.
    async fn periods_remaining(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        let coupon = self.coupon_row(ctx).await?;
        Ok(periods_remaining(
            coupon.duration,
            coupon.duration_periods,
            self.0.periods_applied,
        ))
    }

    /// Whether it reduces the next invoice: not removed, and not used up.
    async fn active(&self, ctx: &Context<'_>) -> Result<bool> {
        if self.0.removed_at.is_some() {
            return Ok(false);
        }
        let coupon = self.coupon_row(ctx).await?;
        Ok(still_applies(
            coupon.duration,
            coupon.duration_periods,
            self.0.periods_applied,
        ))
    }

    /// When removeDiscount removed it.
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
    }

    /// When the coupon was applied (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub type DiscountConnection = Connection<Discount>;

impl DiscountConnection {
    /// One page of a customer's or a subscription's discounts, through the page loader.
    pub async fn load(
        ctx: &Context<'_>,
        holder: DiscountHolder,
        id: Uuid,
        include_removed: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Self> {
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let key = DiscountPageKey {
            holder: id,
            include_removed,
            after: page.after,
            limit: page.fetch_limit(),
        };
        let rows = ctx
            .loader()
            .load_one(DiscountsPage(holder, key))
            .await?
            .unwrap_or_default();
        let total = Total::loaded(DiscountCount {
            holder,
            id,
            include_removed,
        });
        Ok(DiscountConnection::from_rows(rows, &page, total, |r| r.id, Discount))
    }
}
