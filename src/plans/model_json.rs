//! How a usage price's billing model is stored: JSON with decimal strings,
//! so amounts round-trip exactly.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::domain::pricing::{BillingModel, BillingModelKind, PackageRounding, Tier, TierMode};

pub fn to_json(model: &BillingModel) -> Value {
    match model {
        BillingModel::PerUnit { unit_amount } => json!({ "unitAmount": unit_amount.to_string() }),
        BillingModel::Package {
            package_size,
            package_amount,
            rounding,
        } => json!({
            "packageSize": package_size.to_string(),
            "packageAmount": package_amount.to_string(),
            "rounding": match rounding { PackageRounding::Up => "UP", PackageRounding::Down => "DOWN" },
        }),
        BillingModel::Tiered { mode, tiers } => json!({
            "mode": match mode { TierMode::Volume => "VOLUME", TierMode::Graduated => "GRADUATED" },
            "tiers": tiers.iter().map(|t| json!({
                "upTo": t.up_to.map(|u| u.to_string()),
                "unitAmount": t.unit_amount.to_string(),
                "flatAmount": t.flat_amount.to_string(),
            })).collect::<Vec<_>>(),
        }),
    }
}

fn decimal(value: &Value, key: &str) -> Option<Decimal> {
    value.get(key)?.as_str()?.parse().ok()
}

/// The model as stored; None only if the row was not written by `to_json`.
pub fn from_json(kind: BillingModelKind, value: &Value) -> Option<BillingModel> {
    match kind {
        BillingModelKind::PerUnit => Some(BillingModel::PerUnit {
            unit_amount: decimal(value, "unitAmount")?,
        }),
        BillingModelKind::Package => Some(BillingModel::Package {
            package_size: decimal(value, "packageSize")?,
            package_amount: decimal(value, "packageAmount")?,
            rounding: match value.get("rounding")?.as_str()? {
                "UP" => PackageRounding::Up,
                "DOWN" => PackageRounding::Down,
                _ => return None,
            },
        }),
        BillingModelKind::Tiered => Some(BillingModel::Tiered {
            mode: match value.get("mode")?.as_str()? {
                "VOLUME" => TierMode::Volume,
                "GRADUATED" => TierMode::Graduated,
                _ => return None,
            },
            tiers: value
                .get("tiers")?
                .as_array()?
                .iter()
                .map(|t| {
                    Some(Tier {
                        up_to: match t.get("upTo")? {
                            Value::Null => None,
                            v => Some(v.as_str()?.parse().ok()?),
                        },
                        unit_amount: decimal(t, "unitAmount")?,
                        flat_amount: decimal(t, "flatAmount")?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_model_round_trips_exactly() {
        let models = [
            BillingModel::PerUnit {
                unit_amount: d("0.000125"),
            },
            BillingModel::Package {
                package_size: d("100"),
                package_amount: d("5.50"),
                rounding: PackageRounding::Down,
            },
            BillingModel::Tiered {
                mode: TierMode::Graduated,
                tiers: vec![
                    Tier {
                        up_to: Some(d("1000")),
                        unit_amount: d("0.10"),
                        flat_amount: d("0"),
                    },
                    Tier {
                        up_to: None,
                        unit_amount: d("0.08"),
                        flat_amount: d("25"),
                    },
                ],
            },
        ];
        for model in models {
            let back = from_json(model.kind(), &to_json(&model)).unwrap();
            assert_eq!(format!("{back:?}"), format!("{model:?}"));
        }
    }
}
