//! Inputs of plans and prices, turned into validated drafts by the money,
//! period and pricing rules of domain/.

use async_graphql::InputObject;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::customer as rules;
use crate::domain::money::{Currency, validate_amount, validate_quantity};
use crate::domain::period::validate_cadence;
use crate::domain::pricing::{BillingModel, Tier, validate_fixed_charge, validate_model};
use crate::error::{AppError, AppResult};
use crate::graphql::plans::plan::{
    BillingModelType, BillingPeriodType, InvoiceCadenceType, PackageRoundingType, PriceType, ProrationType,
    TierModeType,
};
use crate::plans::{PlanDraft, PriceDraft, PriceKind};

/// A PACKAGE price's parameters.
#[derive(InputObject, Debug, Clone)]
pub struct PackageInput {
    /// Units per package.
    pub size: Decimal,
    /// Price of one package.
    pub amount: Decimal,
    /// How a partial package is billed. Default UP.
    #[graphql(default_with = "PackageRoundingType::Up")]
    pub rounding: PackageRoundingType,
}

/// One tier of a TIERED price: at most 50 tiers, bounds increasing, the last one open.
#[derive(InputObject, Debug, Clone)]
pub struct TierInput {
    /// Inclusive upper bound; null for the last tier.
    pub up_to: Option<Decimal>,
    /// Price of each unit in the tier. A decimal in the currency's major unit (e.g. "49.90" USD),
    /// at most 10^15 with at most 12 decimal places.
    pub unit_amount: Decimal,
    /// Charged once when any unit falls in the tier. Default 0.
    #[graphql(default)]
    pub flat_amount: Decimal,
}

/// A price. FIXED prices take amount (and invoiceCadence, quantity); USAGE
/// prices take meterId and billingModel with its parameters.
#[derive(InputObject, Debug, Clone)]
pub struct PriceInput {
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
    /// The unit of the billing period.
    pub billing_period: BillingPeriodType,
    /// Units per billing period, default 1: 1 to 365 for DAILY, 1 to 12 otherwise (VALIDATION on
    /// `billingPeriodCount`).
    #[graphql(default = 1)]
    pub billing_period_count: i32,
    /// FIXED or USAGE.
    #[graphql(name = "type")]
    pub price_type: PriceType,
    /// FIXED (required): the amount per period and unit of quantity. A decimal in the currency's
    /// major unit (e.g. "49.90" USD), at most 10^15 with at most 12 decimal places.
    pub amount: Option<Decimal>,
    /// FIXED: when in the period it is billed. Default ADVANCE.
    pub invoice_cadence: Option<InvoiceCadenceType>,
    /// Units billed per period (default 1), at most 10^15; amount x
    /// quantity may be at most 10^15 in the currency.
    pub quantity: Option<Decimal>,
    /// FIXED: how a period billable for only part of its length is billed
    /// (default PRORATED).
    pub proration: Option<ProrationType>,
    /// USAGE (required): the meter whose value is billed; unknown: VALIDATION on `meterId`.
    pub meter_id: Option<Uuid>,
    /// USAGE (required): how the meter's value becomes an amount.
    pub billing_model: Option<BillingModelType>,
    /// PER_UNIT.
    pub unit_amount: Option<Decimal>,
    /// PACKAGE (required): the package size, price and rounding.
    pub package: Option<PackageInput>,
    /// TIERED: how tiers price the quantity. Default GRADUATED.
    #[graphql(default_with = "TierModeType::Graduated")]
    pub tier_mode: TierModeType,
    /// TIERED (required): the tiers, lowest first.
    pub tiers: Option<Vec<TierInput>>,
}

fn refuse_if_set<T>(field: &str, value: &Option<T>, why: &str) -> AppResult<()> {
    match value {
        Some(_) => Err(AppError::validation(field, why)),
        None => Ok(()),
    }
}

impl PriceInput {
    /// `field` is where the price sits in the request, e.g. "input.prices[0]".
    pub fn validate(self, field: &str) -> AppResult<PriceDraft> {
        let f = |name: &str| format!("{field}.{name}");
        let currency = Currency::parse(&f("currency"), &self.currency)?;
        let cadence = validate_cadence(
            &f("billingPeriodCount"),
            self.billing_period.into(),
            self.billing_period_count,
        )?;
        let kind = match self.price_type {
            PriceType::Fixed => {
                let not_fixed = "only for USAGE prices";
                refuse_if_set(&f("meterId"), &self.meter_id, not_fixed)?;
                refuse_if_set(&f("billingModel"), &self.billing_model, not_fixed)?;
                refuse_if_set(&f("unitAmount"), &self.unit_amount, not_fixed)?;
                refuse_if_set(&f("package"), &self.package, not_fixed)?;
                refuse_if_set(&f("tiers"), &self.tiers, not_fixed)?;
                let amount = self
                    .amount
                    .ok_or_else(|| AppError::validation(f("amount"), "is required for FIXED prices"))?;
                let amount = validate_amount(&f("amount"), amount, currency, false)?;
                let quantity = validate_quantity(&f("quantity"), self.quantity.unwrap_or(Decimal::ONE))?;
                if quantity.is_zero() {
                    return Err(AppError::validation(f("quantity"), "must be greater than 0"));
                }
                validate_fixed_charge(&f("quantity"), amount, quantity, currency)?;
                PriceKind::Fixed {
                    amount,
                    cadence: self.invoice_cadence.unwrap_or(InvoiceCadenceType::Advance).into(),
                    quantity,
                    proration: self.proration.unwrap_or(ProrationType::Prorated).into(),
                }
            }
            PriceType::Usage => {
                let not_usage = "only for FIXED prices";
                refuse_if_set(&f("amount"), &self.amount, not_usage)?;
                refuse_if_set(
                    &f("invoiceCadence"),
                    &self.invoice_cadence,
                    "usage is always billed in arrears",
                )?;
                refuse_if_set(&f("quantity"), &self.quantity, not_usage)?;
                refuse_if_set(&f("proration"), &self.proration, not_usage)?;
                let meter_id = self
                    .meter_id
                    .ok_or_else(|| AppError::validation(f("meterId"), "is required for USAGE prices"))?;
                let model = match self.billing_model {
                    None => return Err(AppError::validation(f("billingModel"), "is required for USAGE prices")),
                    Some(BillingModelType::PerUnit) => BillingModel::PerUnit {
                        unit_amount: self
                            .unit_amount
                            .ok_or_else(|| AppError::validation(f("unitAmount"), "is required for PER_UNIT"))?,
                    },
                    Some(BillingModelType::Package) => {
                        let p = self
                            .package
                            .ok_or_else(|| AppError::validation(f("package"), "is required for PACKAGE"))?;
                        BillingModel::Package {
                            package_size: p.size,
                            package_amount: p.amount,
                            rounding: p.rounding.into(),
                        }
                    }
                    Some(BillingModelType::Tiered) => BillingModel::Tiered {
                        mode: self.tier_mode.into(),
                        tiers: self
                            .tiers
                            .ok_or_else(|| AppError::validation(f("tiers"), "are required for TIERED"))?
                            .into_iter()
                            .map(|t| Tier {
                                up_to: t.up_to,
                                unit_amount: t.unit_amount,
                                flat_amount: t.flat_amount,
                            })
                            .collect(),
                    },
                };
                validate_model(field, &model)?;
                PriceKind::Usage { meter_id, model }
            }
        };
        Ok(PriceDraft {
            field: field.to_string(),
            currency,
            cadence,
            kind,
        })
    }
}

/// A new plan and its prices.
#[derive(InputObject, Debug, Clone)]
pub struct CreatePlanInput {
    /// Display name, 1 to 255 characters.
    pub name: String,
    /// Unique per tenant, e.g. "pro-monthly".
    pub lookup_key: Option<String>,
    /// Free text, at most 2000 characters.
    pub description: Option<String>,
    /// The plan's prices, at most 50; VALIDATION names the price (`input.prices[1].amount`).
    #[graphql(default)]
    pub prices: Vec<PriceInput>,
}

/// Most prices one plan may be created with.
const MAX_PRICES: usize = 50;

impl CreatePlanInput {
    pub fn validate(self) -> AppResult<PlanDraft> {
        if self.prices.len() > MAX_PRICES {
            return Err(AppError::validation(
                "input.prices",
                format!("at most {MAX_PRICES} prices"),
            ));
        }
        let lookup_key = match self.lookup_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => Some(rules::validate_external_customer_id("input.lookupKey", k)?),
            _ => None,
        };
        let description = match self.description.as_deref().map(str::trim) {
            Some(d) if d.chars().count() > 2000 => {
                return Err(AppError::validation(
                    "input.description",
                    "must be at most 2000 characters",
                ));
            }
            Some(d) if !d.is_empty() => Some(d.to_string()),
            _ => None,
        };
        Ok(PlanDraft {
            name: rules::validate_name("input.name", &self.name)?,
            lookup_key,
            description,
            prices: self
                .prices
                .into_iter()
                .enumerate()
                .map(|(i, p)| p.validate(&format!("input.prices[{i}]")))
                .collect::<AppResult<_>>()?,
        })
    }
}
