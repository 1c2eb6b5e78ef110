//! Queries and mutations of coupons and discounts.

use async_graphql::{Context, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::coupons::{self, CouponDraft, DiscountTarget};
use crate::db::coupons as rows;
use crate::domain::coupon as rules;
use crate::domain::money::Currency;
use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::coupons::coupon::{Coupon, CouponConnection, CouponDuration};
use crate::graphql::coupons::discount::Discount;
use crate::graphql::coupons::loaders::{CouponById, DiscountById};
use crate::graphql::pagination::{PageRequest, page_complexity, wants_total_count};

/// Most prices one coupon may be limited to.
const MAX_COUPON_PRICES: usize = 100;

/// A new coupon: exactly one of `percentOff` and `amountOff` (with `currency`). VALIDATION names
/// the bad field.
#[derive(InputObject, Debug, Clone)]
pub struct CreateCouponInput {
    /// What customers type: 1 to 64 letters A-Z a-z, digits, `_` or `-`, kept as given (matching
    /// is exact). CONFLICT when a coupon not archived already has it.
    pub code: String,
    /// Shown on invoices beside the discount, 1 to 255 characters.
    pub name: String,
    /// Percent taken off each line it applies to: above 0, at most 100, at most 4 decimal places.
    pub percent_off: Option<Decimal>,
    /// Amount taken off each invoice in `currency`: above 0, no finer than the currency's minor
    /// unit (e.g. "5.00" USD, "500" JPY).
    pub amount_off: Option<Decimal>,
    /// ISO 4217 code of `amountOff`; required with it, refused without it.
    pub currency: Option<String>,
    /// How many invoices a discount from it reduces.
    pub duration: CouponDuration,
    /// For REPEATING (required, 1 to 1200): how many invoices; refused for the others.
    pub duration_periods: Option<i32>,
    /// Most times it may be redeemed in all, at least 1; omitted: no limit.
    pub max_redemptions: Option<i32>,
    /// Last instant it may be redeemed (exclusive), in the future; omitted: no end.
    pub redeem_by: Option<DateTime<Utc>>,
    /// Limits it to lines of these prices of the tenant (VALIDATION on
    /// `input.appliesToPriceIds[i]` for an unknown one); not empty, at most 100. Omitted: every
    /// line.
    pub applies_to_price_ids: Option<Vec<Uuid>>,
}

impl CreateCouponInput {
    fn validate(self, now: DateTime<Utc>) -> AppResult<CouponDraft> {
        let duration: rules::CouponDuration = self.duration.into();
        let (percent_off, amount_off) = match (self.percent_off, self.amount_off) {
            (Some(_), Some(_)) => {
                return Err(AppError::validation(
                    "input.amountOff",
                    "give either percentOff or amountOff, not both",
                ));
            }
            (None, None) => {
                return Err(AppError::validation(
                    "input.percentOff",
                    "give either percentOff or amountOff",
                ));
            }
            (Some(p), None) => {
                if self.currency.is_some() {
                    return Err(AppError::validation(
                        "input.currency",
                        "is only for an amountOff coupon",
                    ));
                }
                (Some(rules::validate_percent_off("input.percentOff", p)?), None)
            }
            (None, Some(a)) => {
                let code = self
                    .currency
                    .as_deref()
                    .ok_or_else(|| AppError::validation("input.currency", "is required with amountOff"))?;
                let currency = Currency::parse("input.currency", code)?;
                let amount = rules::validate_amount_off("input.amountOff", a, currency)?;
                (None, Some((amount, currency)))
            }
        };
        let applies_to_price_ids = match self.applies_to_price_ids {
            Some(ids) if ids.is_empty() => {
                return Err(AppError::validation(
                    "input.appliesToPriceIds",
                    "must not be empty; omit it for every line",
                ));
            }
            Some(ids) if ids.len() > MAX_COUPON_PRICES => {
                return Err(AppError::validation(
                    "input.appliesToPriceIds",
                    format!("must hold at most {MAX_COUPON_PRICES} prices"),
                ));
            }
            other => other,
        };
        Ok(CouponDraft {
            code: rules::validate_code("input.code", &self.code)?,
            name: rules::validate_name("input.name", &self.name)?,
            percent_off,
            amount_off,
            duration,
            duration_periods: rules::validate_duration_periods(
                "input.durationPeriods",
                duration,
                self.duration_periods,
            )?,
            max_redemptions: self
                .max_redemptions
                .map(|n| rules::validate_max_redemptions("input.maxRedemptions", n))
                .transpose()?,
            redeem_by: self
                .redeem_by
                .map(|at| rules::validate_redeem_by("input.redeemBy", at, now))
                .transpose()?,
            applies_to_price_ids,
        })
    }
}

/// Narrows a list of coupons.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CouponFilterInput {
    /// Archived coupons too; false by default.
    #[graphql(default = false)]
    pub include_archived: bool,
}

/// Redeems a coupon for exactly one of a customer and a subscription.
#[derive(InputObject, Debug, Clone)]
pub struct ApplyCouponInput {
    /// The code of a coupon not archived (matched exactly). Unknown: NOT_FOUND.
    pub code: String,
    /// An active customer: the discount reduces every invoice it pays, in any currency (an
    /// amountOff coupon reduces only its invoices in the coupon's currency).
    pub customer_id: Option<Uuid>,
    /// A subscription that has not ended: the discount reduces its invoices. An amountOff
    /// coupon must be in the subscription's currency (VALIDATION on `input.code`).
    pub subscription_id: Option<Uuid>,
}

impl ApplyCouponInput {
    fn target(&self) -> AppResult<DiscountTarget> {
        match (self.customer_id, self.subscription_id) {
            (Some(id), None) => Ok(DiscountTarget::Customer(id)),
            (None, Some(id)) => Ok(DiscountTarget::Subscription(id)),
            (Some(_), Some(_)) => Err(AppError::validation(
                "input.subscriptionId",
                "give either customerId or subscriptionId, not both",
            )),
            (None, None) => Err(AppError::validation(
                "input.customerId",
                "give either customerId or subscriptionId",
            )),
        }
    }
}

#[derive(Default)]
pub struct CouponQueryRoot;

#[Object]
impl CouponQueryRoot {
    /// The coupon with this id, archived or not. Another tenant's id, or none: NOT_FOUND.
    async fn coupon(&self, ctx: &Context<'_>, #[graphql(desc = "The coupon's id.")] id: Uuid) -> Result<Coupon> {
        let row = ctx.loader().load_one(CouponById(id)).await?;
        Ok(Coupon(row.ok_or_else(|| AppError::not_found("coupon"))?))
    }

    /// The tenant's coupons, oldest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn coupons(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the list; omitted: coupons not archived.")] filter: Option<CouponFilterInput>,
        #[graphql(
            desc = "Page size (default 20, at most 100: the server's BILLGRAPH_DEFAULT_PAGE_SIZE and BILLGRAPH_MAX_PAGE_SIZE). Negative or above the maximum: VALIDATION on `first`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (an edge's `cursor` or `pageInfo.endCursor`); omitted: from the start. Unreadable: VALIDATION on `after`."
        )]
        after: Option<String>,
    ) -> Result<CouponConnection> {
        let include_archived = filter.unwrap_or_default().include_archived;
        let page = PageRequest::parse(first, after.as_deref(), ctx.limits())?;
        let (tenant_id, after, limit) = (ctx.tenant_id(), page.after, page.fetch_limit());
        let with_total = wants_total_count(ctx);
        let (rows, total) = ctx
            .request()
            .run(move |conn| {
                async move {
                    let rows = rows::coupon_page(conn, tenant_id, include_archived, after, limit).await?;
                    let total = if with_total {
                        rows::coupon_count(conn, tenant_id, include_archived).await?
                    } else {
                        0
                    };
                    Ok((rows, total))
                }
                .boxed()
            })
            .await?;
        Ok(CouponConnection::from_rows(rows, &page, total, |r| r.id, Coupon))
    }

    /// The discount with this id, removed or not. Another tenant's id, or none: NOT_FOUND.
    async fn discount(&self, ctx: &Context<'_>, #[graphql(desc = "The discount's id.")] id: Uuid) -> Result<Discount> {
        let row = ctx.loader().load_one(DiscountById(id)).await?;
        Ok(Discount(row.ok_or_else(|| AppError::not_found("discount"))?))
    }
}

#[derive(Default)]
pub struct CouponMutationRoot;

#[Object]
impl CouponMutationRoot {
    /// Creates a coupon; customers redeem it by its code with applyCoupon.
    async fn create_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The coupon. VALIDATION names the bad field (e.g. `input.percentOff`); CONFLICT when a coupon not archived has the code."
        )]
        input: CreateCouponInput,
    ) -> Result<Coupon> {
        let draft = input.validate(ctx.now())?;
        Ok(Coupon(coupons::create(ctx.pool(), ctx.tenant_id(), draft).await?))
    }

    /// Archives the coupon: it can no longer be redeemed and its code is free again; discounts
    /// already granted keep applying.
    async fn archive_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The coupon. Another tenant's id, or none: NOT_FOUND; already archived: CONFLICT.")] id: Uuid,
    ) -> Result<Coupon> {
        Ok(Coupon(coupons::archive(ctx.pool(), ctx.tenant_id(), id).await?))
    }

    /// Redeems a coupon for a customer or a subscription, counting one redemption atomically:
    /// CONFLICT when its redemption limit is reached or its redeemBy passed, when it is already
    /// applied there (that costs no redemption), when the customer is archived or the
    /// subscription has ended. NOT_FOUND when no coupon that is not archived has the code, or the
    /// customer or subscription is unknown.
    async fn apply_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code and exactly one of customerId and subscriptionId (VALIDATION otherwise).")]
        input: ApplyCouponInput,
    ) -> Result<Discount> {
        let target = input.target()?;
        Ok(Discount(
            coupons::apply(ctx.pool(), ctx.tenant_id(), input.code, target).await?,
        ))
    }

    /// Removes the discount: it reduces no further invoice. Its redemption is not given back.
    async fn remove_discount(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The discount. Another tenant's id, or none: NOT_FOUND; already removed: CONFLICT.")] id: Uuid,
    ) -> Result<Discount> {
        Ok(Discount(coupons::remove(ctx.pool(), ctx.tenant_id(), id).await?))
    }
}
