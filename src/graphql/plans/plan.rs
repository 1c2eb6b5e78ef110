use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::plans::{PlanRow, PriceRow};
use crate::domain::pricing::BillingModel;
use crate::domain::stored::RecordStatus;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::plans::loaders::{PlanById, PricesOfPlan};
use crate::graphql::usage::loaders::MeterById;
use crate::graphql::usage::meter::Meter;
use crate::plans::model_json;

/// Whether a plan or price is in use.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::stored::RecordStatus")]
pub enum PlanStatus {
    /// In use: new subscriptions may take it; an active price bills.
    Active,
    /// Archived: kept for existing subscriptions and past invoices; an archived price no longer
    /// bills.
    Archived,
}

/// The unit of a price's billing period; periods follow their anchor on the calendar (anchored on
/// the 31st, a monthly period ends on Feb 28 or 29, Mar 31, Apr 30, ...).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "BillingPeriod", remote = "crate::domain::period::BillingPeriod")]
pub enum BillingPeriodType {
    /// Days (count 1 to 365).
    Daily,
    /// Weeks (count 1 to 12).
    Weekly,
    /// Calendar months (count 1 to 12).
    Monthly,
    /// Quarters of three months (count 1 to 12).
    Quarterly,
    /// Years.
    Annual,
}

/// What a price charges for.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::charges::PriceType")]
pub enum PriceType {
    /// An amount per period.
    Fixed,
    /// Usage of a meter, billed in arrears.
    Usage,
}

/// How a FIXED price bills a period the subscription was billable for only
/// part of (a trial, a pause, a late start, an end or a change inside it).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "Proration", remote = "crate::domain::proration::Proration")]
pub enum ProrationType {
    /// By the exact fraction of the period (to the second) that was billable.
    Prorated,
    /// In full when any of the period was billable, else not at all.
    FullPeriod,
}

/// When a FIXED price is billed within its period.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "InvoiceCadence", remote = "crate::domain::charges::InvoiceCadence")]
pub enum InvoiceCadenceType {
    /// Billed at the start of the period.
    Advance,
    /// Billed at the end of the period.
    Arrear,
}

/// How a USAGE price turns a meter's value into an amount.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "BillingModel", remote = "crate::domain::pricing::BillingModelKind")]
pub enum BillingModelType {
    /// `unitAmount` per unit.
    PerUnit,
    /// `package.amount` per started (rounding UP) or completed (DOWN) package of `package.size`
    /// units.
    Package,
    /// By `tiers`, in `tierMode`.
    Tiered,
}

/// How tiers price a quantity.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "TierMode", remote = "crate::domain::pricing::TierMode")]
pub enum TierModeType {
    /// Every unit at the price of the tier the total falls in.
    Volume,
    /// Each unit at the price of the tier it falls in.
    Graduated,
}

/// How a quantity that is not a whole number of packages is billed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "PackageRounding", remote = "crate::domain::pricing::PackageRounding")]
pub enum PackageRoundingType {
    /// A started package is billed in full (e.g. 101 units in packages of 100: 2 packages).
    Up,
    /// Only completed packages are billed (101 units in packages of 100: 1 package).
    Down,
}

/// A PACKAGE price's parameters.
#[derive(SimpleObject, Debug, Clone)]
pub struct PackagePrice {
    /// Units per package.
    pub size: Decimal,
    /// Price of one package, in the currency's major unit.
    pub amount: Decimal,
    /// How a partial package is billed.
    pub rounding: PackageRoundingType,
}

/// Units up to `upTo` (inclusive; null for the last tier) cost `unitAmount`
/// each, plus `flatAmount` once.
#[derive(SimpleObject, Debug, Clone)]
pub struct PriceTier {
    /// Inclusive upper bound in units; null for the last, open tier.
    pub up_to: Option<Decimal>,
    /// Price of each unit in the tier, in the currency's major unit.
    pub unit_amount: Decimal,
    /// Charged once when any unit falls in the tier (0 when none).
    pub flat_amount: Decimal,
}

#[derive(Clone)]
pub struct Plan(pub PlanRow);

/// A plan: the prices a subscription bills, in one currency and billing period per subscription.
#[Object]
impl Plan {
    /// The plan's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The tenant's own key for the plan (unique per tenant), e.g. `pro-monthly`; see
    /// planByLookupKey.
    async fn lookup_key(&self) -> Option<&str> {
        self.0.lookup_key.as_deref()
    }

    /// Free text, if any.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// ACTIVE or ARCHIVED.
    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }

    /// When the plan was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Prices in creation order; archived ones only when asked for.
    async fn prices(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false, desc = "Also list archived prices. Default false.")] include_archived: bool,
    ) -> Result<Vec<Price>> {
        let rows = ctx
            .loader()
            .load_one(PricesOfPlan(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|p| include_archived || p.status != RecordStatus::Archived)
            .map(Price)
            .collect())
    }
}

#[derive(Clone)]
pub struct Price(pub PriceRow);

impl Price {
    fn model(&self) -> Option<BillingModel> {
        model_json::from_json(self.0.billing_model?, self.0.model.as_ref()?)
    }
}

/// A price of a plan: FIXED (an amount per period) or USAGE (a meter's value through a billing
/// model). Fields that do not apply to its type are null.
#[Object]
impl Price {
    /// The price's id.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The plan's id.
    async fn plan_id(&self) -> Uuid {
        self.0.plan_id
    }

    /// The plan the price belongs to.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let row = ctx.loader().load_one(PlanById(self.0.plan_id)).await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// ISO 4217 code.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    /// The unit of the billing period.
    async fn billing_period(&self) -> Option<BillingPeriodType> {
        Some(self.0.billing_period.into())
    }

    /// Units per billing period (e.g. 3 with MONTHLY: every three months).
    async fn billing_period_count(&self) -> i32 {
        self.0.billing_period_count
    }

    /// FIXED or USAGE.
    #[graphql(name = "type")]
    async fn price_type(&self) -> PriceType {
        self.0.price_type.into()
    }

    /// FIXED: the amount per period and unit of quantity.
    async fn amount(&self) -> Option<Decimal> {
        self.0.amount
    }

    /// FIXED: billed at the start (ADVANCE) or end (ARREAR) of the period.
    async fn invoice_cadence(&self) -> Option<InvoiceCadenceType> {
        self.0.invoice_cadence.map(Into::into)
    }

    /// FIXED: units billed per period (a subscription may set its own with
    /// setSubscriptionQuantity).
    async fn quantity(&self) -> Option<Decimal> {
        self.0.quantity
    }

    /// FIXED: how a period billable for only part of its length is billed.
    async fn proration(&self) -> Option<ProrationType> {
        self.0.proration.map(Into::into)
    }

    /// USAGE: the meter's id.
    async fn meter_id(&self) -> Option<Uuid> {
        self.0.meter_id
    }

    /// USAGE: the meter whose value is billed.
    async fn meter(&self, ctx: &Context<'_>) -> Result<Option<Meter>> {
        let Some(id) = self.0.meter_id else { return Ok(None) };
        Ok(ctx.loader().load_one(MeterById(id)).await?.map(Meter))
    }

    /// USAGE: how the meter's value becomes an amount.
    async fn billing_model(&self) -> Option<BillingModelType> {
        self.0.billing_model.map(Into::into)
    }

    /// PER_UNIT: the amount per unit.
    async fn unit_amount(&self) -> Option<Decimal> {
        match self.model()? {
            BillingModel::PerUnit { unit_amount } => Some(unit_amount),
            _ => None,
        }
    }

    /// PACKAGE: the package size, price and rounding.
    async fn package(&self) -> Option<PackagePrice> {
        match self.model()? {
            BillingModel::Package {
                package_size,
                package_amount,
                rounding,
            } => Some(PackagePrice {
                size: package_size,
                amount: package_amount,
                rounding: rounding.into(),
            }),
            _ => None,
        }
    }

    /// TIERED: VOLUME or GRADUATED.
    async fn tier_mode(&self) -> Option<TierModeType> {
        match self.model()? {
            BillingModel::Tiered { mode, .. } => Some(mode.into()),
            _ => None,
        }
    }

    /// TIERED: the tiers, lowest first.
    async fn tiers(&self) -> Option<Vec<PriceTier>> {
        match self.model()? {
            BillingModel::Tiered { tiers, .. } => Some(
                tiers
                    .into_iter()
                    .map(|t| PriceTier {
                        up_to: t.up_to,
                        unit_amount: t.unit_amount,
                        flat_amount: t.flat_amount,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// ACTIVE, or ARCHIVED after archivePrice (no longer bills).
    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }

    /// When the price was created (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the price was archived; null while active.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

pub type PlanConnection = crate::graphql::connection::Connection<Plan>;
