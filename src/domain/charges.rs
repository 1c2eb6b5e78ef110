//! What one billing period of a subscription costs: a line per price, from
//! the pricing rules, and the subtotal. The preview and the invoice use
//! this one function, so they can never disagree.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::{self, AmountOverflow, Currency, round_amount};
use super::period::Period;
use super::pricing::{BillingModel, Charge, price_fixed, price_usage};
use super::stored::stored_enum;

stored_enum! {
    /// What a price charges for.
    pub enum PriceType {
        /// An amount per period.
        Fixed = "FIXED",
        /// Usage of a meter, billed in arrears.
        Usage = "USAGE",
    }
}

stored_enum! {
    /// When a fixed price is billed.
    pub enum InvoiceCadence {
        /// At the start of the period.
        Advance = "ADVANCE",
        /// At the end of the period.
        Arrear = "ARREAR",
    }
}

/// A price as the charge rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceTerms {
    Fixed {
        amount: Decimal,
        quantity: Decimal,
        /// Billed at the start of its period rather than the end.
        in_advance: bool,
    },
    Usage {
        meter_id: Uuid,
        model: BillingModel,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    pub price_id: Uuid,
    /// The meter of a usage price.
    pub meter_id: Option<Uuid>,
    pub charge: Charge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCharges {
    pub lines: Vec<PriceLine>,
    /// The lines' amounts added up, rounded once more for safety (each line
    /// already is, so this never changes the sum).
    pub subtotal: Decimal,
}

/// The lines a period bills. `accrued` says whether any of the period
/// counted (not all trial, paused or after the end): fixed prices bill only
/// then, in full. `usage` holds the quantity per meter over the stretches
/// that counted; a meter without one used nothing. A line above
/// `money::MAX_AMOUNT` is refused, never shown saturated.
pub fn period_charges(
    prices: &[(Uuid, PriceTerms)],
    usage: &HashMap<Uuid, Decimal>,
    accrued: bool,
    currency: Currency,
) -> Result<PeriodCharges, AmountOverflow> {
    let mut lines = Vec::with_capacity(prices.len());
    for (price_id, terms) in prices {
        let line = match terms {
            PriceTerms::Fixed { .. } if !accrued => continue,
            PriceTerms::Fixed { amount, quantity, .. } => PriceLine {
                price_id: *price_id,
                meter_id: None,
                charge: price_fixed(*amount, *quantity, currency)?,
            },
            PriceTerms::Usage { meter_id, model } => {
                let quantity = usage.get(meter_id).copied().unwrap_or(Decimal::ZERO);
                PriceLine {
                    price_id: *price_id,
                    meter_id: Some(*meter_id),
                    charge: price_usage(model, quantity, currency)?,
                }
            }
        };
        lines.push(line);
    }
    let subtotal = money::checked_sum(lines.iter().map(|l| l.charge.amount)).ok_or(AmountOverflow {
        what: "the subtotal",
        currency,
    })?;
    Ok(PeriodCharges {
        lines,
        subtotal: round_amount(subtotal, currency),
    })
}

/// A line of a boundary invoice and the period it pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    pub line: PriceLine,
    pub period: Period,
}

/// What one boundary invoices: fees billed in advance for the period that
/// starts (`advance`), and for the period that ends (`arrears`, with whether
/// any of it accrued) fees billed at the end and the usage in `usage`. A
/// period spent wholly in a trial or a pause bills nothing at its end, so
/// it makes no invoice of zeros. A line above `money::MAX_AMOUNT` refuses
/// the whole boundary, so no invoice is issued with a wrong figure.
pub fn boundary_lines(
    prices: &[(Uuid, PriceTerms)],
    usage: &HashMap<Uuid, Decimal>,
    arrears: Option<(Period, bool)>,
    advance: Option<Period>,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let mut lines = Vec::new();
    for (price_id, terms) in prices {
        let billed = match terms {
            PriceTerms::Fixed {
                amount,
                quantity,
                in_advance: true,
            } => advance.map(|period| (period, None, price_fixed(*amount, *quantity, currency))),
            PriceTerms::Fixed {
                amount,
                quantity,
                in_advance: false,
            } => arrears
                .filter(|(_, accrued)| *accrued)
                .map(|(period, _)| (period, None, price_fixed(*amount, *quantity, currency))),
            PriceTerms::Usage { meter_id, model } => arrears.filter(|(_, accrued)| *accrued).map(|(period, _)| {
                let quantity = usage.get(meter_id).copied().unwrap_or(Decimal::ZERO);
                (period, Some(*meter_id), price_usage(model, quantity, currency))
            }),
        };
        if let Some((period, meter_id, charge)) = billed {
            lines.push(BilledLine {
                line: PriceLine {
                    price_id: *price_id,
                    meter_id,
                    charge: charge?,
                },
                period,
            });
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pricing::{Tier, TierMode};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn usd() -> Currency {
        Currency::parse("c", "USD").unwrap()
    }

    fn graduated() -> BillingModel {
        BillingModel::Tiered {
            mode: TierMode::Graduated,
            tiers: vec![
                Tier {
                    up_to: Some(d("1000")),
                    unit_amount: d("0"),
                    flat_amount: d("0"),
                },
                Tier {
                    up_to: None,
                    unit_amount: d("0.002"),
                    flat_amount: d("0"),
                },
            ],
        }
    }

    #[test]
    fn fixed_and_usage_lines_add_up() {
        let meter = Uuid::now_v7();
        let (fee, calls) = (Uuid::now_v7(), Uuid::now_v7());
        let prices = vec![
            (
                fee,
                PriceTerms::Fixed {
                    amount: d("49"),
                    quantity: d("1"),
                    in_advance: true,
                },
            ),
            (
                calls,
                PriceTerms::Usage {
                    meter_id: meter,
                    model: graduated(),
                },
            ),
        ];
        let usage = HashMap::from([(meter, d("1501"))]);
        let charges = period_charges(&prices, &usage, true, usd()).unwrap();
        assert_eq!(charges.lines.len(), 2);
        assert_eq!(charges.lines[0].charge.amount, d("49.00"));
        // 501 units above the free thousand at 0.002: 1.002 -> 1.00.
        assert_eq!(charges.lines[1].charge.amount, d("1.00"));
        assert_eq!(charges.lines[1].meter_id, Some(meter));
        assert_eq!(charges.subtotal, d("50.00"));
    }

    #[test]
    fn a_boundary_bills_advance_fees_for_the_next_period_and_the_rest_for_the_last() {
        let meter = Uuid::now_v7();
        let fixed = |in_advance| PriceTerms::Fixed {
            amount: d("10"),
            quantity: d("2"),
            in_advance,
        };
        let prices = vec![
            (Uuid::now_v7(), fixed(true)),
            (Uuid::now_v7(), fixed(false)),
            (
                Uuid::now_v7(),
                PriceTerms::Usage {
                    meter_id: meter,
                    model: BillingModel::PerUnit { unit_amount: d("0.5") },
                },
            ),
        ];
        let t = |day| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, day, 0, 0, 0).unwrap();
        let (last, next) = (
            Period {
                start: t(1),
                end: t(11),
            },
            Period {
                start: t(11),
                end: t(21),
            },
        );
        let usage = HashMap::from([(meter, d("3"))]);
        let lines = boundary_lines(&prices, &usage, Some((last, true)), Some(next), usd()).unwrap();
        let summary: Vec<(Decimal, Period)> = lines.iter().map(|l| (l.line.charge.amount, l.period)).collect();
        assert_eq!(summary, vec![(d("20.00"), next), (d("20.00"), last), (d("1.50"), last)]);
        // The opening boundary: advance fees only.
        let opening = boundary_lines(&prices, &usage, None, Some(last), usd()).unwrap();
        assert_eq!(opening.len(), 1);
        // A period spent wholly paused bills nothing.
        let paused = boundary_lines(&prices, &usage, Some((last, false)), None, usd()).unwrap();
        assert!(paused.is_empty());
    }

    #[test]
    fn a_period_that_never_accrued_bills_no_fixed_fee() {
        let meter = Uuid::now_v7();
        let prices = vec![
            (
                Uuid::now_v7(),
                PriceTerms::Fixed {
                    amount: d("49"),
                    quantity: d("1"),
                    in_advance: true,
                },
            ),
            (
                Uuid::now_v7(),
                PriceTerms::Usage {
                    meter_id: meter,
                    model: graduated(),
                },
            ),
        ];
        let charges = period_charges(&prices, &HashMap::new(), false, usd()).unwrap();
        assert_eq!(charges.lines.len(), 1);
        assert_eq!(charges.lines[0].charge.quantity, d("0"));
        assert_eq!(charges.subtotal, d("0.00"));
    }

    #[test]
    fn a_charge_beyond_the_bound_refuses_the_period() {
        let meter = Uuid::now_v7();
        let prices = vec![
            (
                Uuid::now_v7(),
                PriceTerms::Fixed {
                    amount: d("1000000000000000"),
                    quantity: d("1"),
                    in_advance: true,
                },
            ),
            (
                Uuid::now_v7(),
                PriceTerms::Usage {
                    meter_id: meter,
                    model: BillingModel::PerUnit {
                        unit_amount: d("1000000000000000"),
                    },
                },
            ),
        ];
        // The largest fee and one unit of usage: exact, and the subtotal is
        // twice the bound, which a Decimal holds exactly.
        let usage = HashMap::from([(meter, d("1"))]);
        let charges = period_charges(&prices, &usage, true, usd()).unwrap();
        assert_eq!(charges.subtotal.to_string(), "2000000000000000.00");
        // Usage summed from many events can exceed what one line may carry.
        let usage = HashMap::from([(meter, d("1000000000000000000"))]);
        let err = period_charges(&prices, &usage, true, usd()).unwrap_err();
        assert_eq!(err.what, "the usage charge");
        let t = |day| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, day, 0, 0, 0).unwrap();
        let last = Period { start: t(1), end: t(2) };
        assert!(boundary_lines(&prices, &usage, Some((last, true)), None, usd()).is_err());
    }
}
