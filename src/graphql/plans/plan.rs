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

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::stored::RecordStatus")]
pub enum PlanStatus {
    Active,
    Archived,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "BillingPeriod", remote = "crate::domain::period::BillingPeriod")]
pub enum BillingPeriodType {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Annual,
}

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

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "InvoiceCadence", remote = "crate::domain::charges::InvoiceCadence")]
pub enum InvoiceCadenceType {
    /// Billed at the start of the period.
    Advance,
    /// Billed at the end of the period.
    Arrear,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "BillingModel", remote = "crate::domain::pricing::BillingModelKind")]
pub enum BillingModelType {
    PerUnit,
    Package,
    Tiered,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "TierMode", remote = "crate::domain::pricing::TierMode")]
pub enum TierModeType {
    /// Every unit at the price of the tier the total falls in.
    Volume,
    /// Each unit at the price of the tier it falls in.
    Graduated,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "PackageRounding", remote = "crate::domain::pricing::PackageRounding")]
pub enum PackageRoundingType {
    Up,
    Down,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct PackagePrice {
    pub size: Decimal,
    pub amount: Decimal,
    pub rounding: PackageRoundingType,
}

/// Units up to `upTo` (inclusive; null for the last tier) cost `unitAmount`
/// each, plus `flatAmount` once.
#[derive(SimpleObject, Debug, Clone)]
pub struct PriceTier {
    pub up_to: Option<Decimal>,
    pub unit_amount: Decimal,
    pub flat_amount: Decimal,
}

#[derive(Clone)]
pub struct Plan(pub PlanRow);

#[Object]
impl Plan {
    async fn id(&self) -> Uuid {
        self.0.id
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn lookup_key(&self) -> Option<&str> {
        self.0.lookup_key.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Prices in creation order; archived ones only when asked for.
    async fn prices(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_archived: bool,
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

#[Object]
impl Price {
    async fn id(&self) -> Uuid {
        self.0.id
    }

    async fn plan_id(&self) -> Uuid {
        self.0.plan_id
    }

    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        let row = ctx.loader().load_one(PlanById(self.0.plan_id)).await?;
        Ok(Plan(row.ok_or_else(|| AppError::not_found("plan"))?))
    }

    /// ISO 4217 code.
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }

    async fn billing_period(&self) -> Option<BillingPeriodType> {
        Some(self.0.billing_period.into())
    }

    async fn billing_period_count(&self) -> i32 {
        self.0.billing_period_count
    }

    #[graphql(name = "type")]
    async fn price_type(&self) -> PriceType {
        self.0.price_type.into()
    }

    /// FIXED: the amount per period and unit of quantity.
    async fn amount(&self) -> Option<Decimal> {
        self.0.amount
    }

    async fn invoice_cadence(&self) -> Option<InvoiceCadenceType> {
        self.0.invoice_cadence.map(Into::into)
    }

    async fn quantity(&self) -> Option<Decimal> {
        self.0.quantity
    }

    /// FIXED: how a period billable for only part of its length is billed.
    async fn proration(&self) -> Option<ProrationType> {
        self.0.proration.map(Into::into)
    }

    async fn meter_id(&self) -> Option<Uuid> {
        self.0.meter_id
    }

    async fn meter(&self, ctx: &Context<'_>) -> Result<Option<Meter>> {
        let Some(id) = self.0.meter_id else { return Ok(None) };
        Ok(ctx.loader().load_one(MeterById(id)).await?.map(Meter))
    }

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

    async fn tier_mode(&self) -> Option<TierModeType> {
        match self.model()? {
            BillingModel::Tiered { mode, .. } => Some(mode.into()),
            _ => None,
        }
    }

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

    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

crate::graphql::connection::connection_type!(PlanConnection, PlanEdge, Plan);
