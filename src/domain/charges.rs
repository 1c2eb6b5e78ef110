//! What one billing period of a subscription costs: a line per price, from
//! the pricing rules and the period's billable share. The preview and the
//! invoices use the one function, `period_lines`, so they never disagree.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::{self, AmountOverflow, Currency, round_amount};
use super::period::Period;
use super::pricing::{BillingModel, Charge, price_fixed, price_usage};
pub use super::proration::Proration;
use super::proration::{PeriodShare, fixed_share};
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
        proration: Proration,
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
    /// The billable fraction of its period a prorated fixed fee bills.
    pub proration_fraction: Option<Decimal>,
}

/// A line of a period's bill and the stretch of time it pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    pub line: PriceLine,
    /// A fixed fee's billable stretch, a usage line's period.
    pub period: Period,
    /// Settles the difference between what a fixed fee billed earlier for
    /// this period (in advance) and what the whole period bills.
    pub adjustment: bool,
}

/// What a whole period bills: each fixed price by its share of the period
/// (see `proration`), and, when any of the period accrued, each usage price
/// on the quantity in `usage` (per meter, measured over the billable
/// stretches; a meter without one used nothing). This is the one place a
/// period's charges are decided: the preview shows it, and the boundaries
/// of the period invoice it (`boundary_lines`). A line above
/// `money::MAX_AMOUNT` is refused, never shown saturated.
pub fn period_lines(
    prices: &[(Uuid, PriceTerms)],
    usage: &HashMap<Uuid, Decimal>,
    share: &PeriodShare,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let mut lines = Vec::with_capacity(prices.len());
    for (price_id, terms) in prices {
        let (line, period) = match terms {
            PriceTerms::Fixed {
                amount,
                quantity,
                proration,
                ..
            } => {
                let full = price_fixed(*amount, *quantity, currency)?;
                // The exact product: prorating a rounded one would round twice.
                let product = amount.checked_mul(full.quantity).ok_or(AmountOverflow {
                    what: "amount x quantity",
                    currency,
                })?;
                let Some((billed, fraction)) = fixed_share(product, *proration, share, currency)? else {
                    continue;
                };
                let line = PriceLine {
                    price_id: *price_id,
                    meter_id: None,
                    charge: Charge { amount: billed, ..full },
                    proration_fraction: fraction,
                };
                (line, share.covered())
            }
            PriceTerms::Usage { .. } if !share.accrues() => continue,
            PriceTerms::Usage { meter_id, model } => {
                let quantity = usage.get(meter_id).copied().unwrap_or(Decimal::ZERO);
                let line = PriceLine {
                    price_id: *price_id,
                    meter_id: Some(*meter_id),
                    charge: price_usage(model, quantity, currency)?,
                    proration_fraction: None,
                };
                (line, share.period)
            }
        };
        lines.push(BilledLine {
            line,
            period,
            adjustment: false,
        });
    }
    Ok(lines)
}

/// The lines' amounts added up; refused beyond what an amount can hold.
pub fn subtotal(lines: &[BilledLine], currency: Currency) -> Result<Decimal, AmountOverflow> {
    let sum = money::checked_sum(lines.iter().map(|l| l.line.charge.amount)).ok_or(AmountOverflow {
        what: "the subtotal",
        currency,
    })?;
    Ok(round_amount(sum, currency))
}

/// The period that ends at a boundary, and what its fixed prices billed
/// before (in advance), per price.
pub struct Arrears<'a> {
    pub share: &'a PeriodShare,
    pub billed_before: &'a HashMap<Uuid, Decimal>,
}

/// What one boundary invoices: the fees billed in advance for the period
/// that starts (`advance`), by what that period is expected to bill when it
/// starts, and for the period that ends (`arrears`) its usage and what its
/// fixed fees bill over the whole period less what they billed before. So
/// a period's fees add up to what the whole period bills (its trial, pause
/// and end stretches as they turned out), whenever the run happens. A
/// period that accrued nothing and billed nothing before makes no lines. A
/// line above `money::MAX_AMOUNT` refuses the whole boundary, so no invoice
/// is issued with a wrong figure.
pub fn boundary_lines(
    prices: &[(Uuid, PriceTerms)],
    usage: &HashMap<Uuid, Decimal>,
    arrears: Option<Arrears<'_>>,
    advance: Option<&PeriodShare>,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let mut lines = Vec::new();
    if let Some(share) = advance {
        let in_advance: Vec<(Uuid, PriceTerms)> = prices
            .iter()
            .filter(|(_, terms)| matches!(terms, PriceTerms::Fixed { in_advance: true, .. }))
            .cloned()
            .collect();
        lines.extend(period_lines(&in_advance, usage, share, currency)?);
    }
    if let Some(Arrears { share, billed_before }) = arrears {
        let whole = period_lines(prices, usage, share, currency)?;
        for (price_id, terms) in prices {
            let line = whole.iter().find(|l| l.line.price_id == *price_id);
            let before = billed_before.get(price_id).copied().unwrap_or(Decimal::ZERO);
            match (terms, line) {
                (PriceTerms::Usage { .. }, Some(line)) => lines.push(line.clone()),
                (PriceTerms::Usage { .. }, None) => {}
                (PriceTerms::Fixed { .. }, Some(line)) if before.is_zero() => lines.push(line.clone()),
                (PriceTerms::Fixed { quantity, .. }, line) => {
                    let owed = line.map_or(Decimal::ZERO, |l| l.line.charge.amount);
                    let difference = owed.checked_sub(before).ok_or(AmountOverflow {
                        what: "the adjustment",
                        currency,
                    })?;
                    if difference.is_zero() {
                        continue;
                    }
                    lines.push(BilledLine {
                        line: PriceLine {
                            price_id: *price_id,
                            meter_id: None,
                            charge: Charge {
                                quantity: line.map_or(*quantity, |l| l.line.charge.quantity),
                                amount: money::bounded_amount("the adjustment", difference, currency)?,
                                unit_amount: None,
                                tiers: Vec::new(),
                            },
                            proration_fraction: line.map_or(Some(Decimal::ZERO), |l| l.line.proration_fraction),
                        },
                        period: line.map_or(share.period, |l| l.period),
                        adjustment: true,
                    });
                }
            }
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

    fn t(day: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(day)
    }

    fn span(a: i64, b: i64) -> Period {
        Period { start: t(a), end: t(b) }
    }

    /// A whole period of `days`, billable over `billable`.
    fn share(days: i64, billable: &[(i64, i64)]) -> PeriodShare {
        PeriodShare {
            period: span(0, days),
            nominal: span(0, days),
            billable: billable.iter().map(|&(a, b)| span(a, b)).collect(),
        }
    }

    fn fixed(amount: &str, in_advance: bool, proration: Proration) -> PriceTerms {
        PriceTerms::Fixed {
            amount: d(amount),
            quantity: d("1"),
            in_advance,
            proration,
        }
    }

    fn amounts(lines: &[BilledLine]) -> Vec<(Decimal, bool)> {
        lines.iter().map(|l| (l.line.charge.amount, l.adjustment)).collect()
    }

    #[test]
    fn fixed_and_usage_lines_add_up() {
        let meter = Uuid::now_v7();
        let prices = vec![
            (Uuid::now_v7(), fixed("49", true, Proration::Prorated)),
            (
                Uuid::now_v7(),
                PriceTerms::Usage {
                    meter_id: meter,
                    model: graduated(),
                },
            ),
        ];
        let usage = HashMap::from([(meter, d("1501"))]);
        let lines = period_lines(&prices, &usage, &share(30, &[(0, 30)]), usd()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line.charge.amount, d("49.00"));
        assert_eq!(lines[0].line.proration_fraction, Some(d("1")));
        // 501 units above the free thousand at 0.002: 1.002 -> 1.00.
        assert_eq!(lines[1].line.charge.amount, d("1.00"));
        assert_eq!(lines[1].line.meter_id, Some(meter));
        assert_eq!(subtotal(&lines, usd()).unwrap(), d("50.00"));
    }

    #[test]
    fn fixed_fees_bill_their_share_of_the_period() {
        let prices = vec![
            (Uuid::now_v7(), fixed("10", false, Proration::Prorated)),
            (Uuid::now_v7(), fixed("10", false, Proration::FullPeriod)),
        ];
        // Billable 3 of 10 days, in two stretches: 3.00 prorated, 10.00 in full.
        let part = share(10, &[(1, 2), (5, 7)]);
        let lines = period_lines(&prices, &HashMap::new(), &part, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("3.00"), false), (d("10.00"), false)]);
        assert_eq!(lines[0].period, span(1, 7));
        assert_eq!(lines[0].line.proration_fraction, Some(d("0.3")));
        assert_eq!(lines[1].line.proration_fraction, None);
        // Nothing billable: no fixed fee at all.
        assert!(
            period_lines(&prices, &HashMap::new(), &share(10, &[]), usd())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_boundary_bills_the_next_period_ahead_and_settles_the_last() {
        let meter = Uuid::now_v7();
        let (ahead, behind, calls) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let prices = vec![
            (ahead, fixed("7", true, Proration::Prorated)),
            (behind, fixed("1", false, Proration::Prorated)),
            (
                calls,
                PriceTerms::Usage {
                    meter_id: meter,
                    model: BillingModel::PerUnit { unit_amount: d("0.5") },
                },
            ),
        ];
        let usage = HashMap::from([(meter, d("3"))]);
        let next = share(7, &[(0, 7)]);
        // The week that ends was billed 7.00 ahead, then paused 3 of its 7
        // days: it owes 4.00 and 1.00 x 4/7 = 0.571.. -> 0.57, so the
        // advance fee is settled by -3.00.
        let last = share(7, &[(0, 4)]);
        let before = HashMap::from([(ahead, d("7.00"))]);
        let arrears = Arrears {
            share: &last,
            billed_before: &before,
        };
        let lines = boundary_lines(&prices, &usage, Some(arrears), Some(&next), usd()).unwrap();
        assert_eq!(
            amounts(&lines),
            vec![
                (d("7.00"), false),
                (d("-3.00"), true),
                (d("0.57"), false),
                (d("1.50"), false)
            ]
        );
        // Billed exactly what the week owes: nothing more to settle.
        let settled = HashMap::from([(ahead, d("4.00"))]);
        let arrears = Arrears {
            share: &last,
            billed_before: &settled,
        };
        let lines = boundary_lines(&prices, &usage, Some(arrears), None, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("0.57"), false), (d("1.50"), false)]);
    }

    #[test]
    fn a_period_billed_ahead_but_never_billable_is_credited_in_full() {
        let ahead = Uuid::now_v7();
        let prices = vec![(ahead, fixed("7", true, Proration::FullPeriod))];
        let idle = share(7, &[]);
        let before = HashMap::from([(ahead, d("7.00"))]);
        let arrears = Arrears {
            share: &idle,
            billed_before: &before,
        };
        let lines = boundary_lines(&prices, &HashMap::new(), Some(arrears), None, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("-7.00"), true)]);
        assert_eq!(lines[0].period, span(0, 7));
        // Never billed and never billable: nothing at all.
        let arrears = Arrears {
            share: &idle,
            billed_before: &HashMap::new(),
        };
        assert!(
            boundary_lines(&prices, &HashMap::new(), Some(arrears), None, usd())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_charge_beyond_the_bound_refuses_the_period() {
        let meter = Uuid::now_v7();
        let prices = vec![
            (Uuid::now_v7(), fixed("1000000000000000", true, Proration::Prorated)),
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
        let whole = share(1, &[(0, 1)]);
        let usage = HashMap::from([(meter, d("1"))]);
        let lines = period_lines(&prices, &usage, &whole, usd()).unwrap();
        assert_eq!(subtotal(&lines, usd()).unwrap().to_string(), "2000000000000000.00");
        // Usage summed from many events can exceed what one line may carry.
        let usage = HashMap::from([(meter, d("1000000000000000000"))]);
        let err = period_lines(&prices, &usage, &whole, usd()).unwrap_err();
        assert_eq!(err.what, "the usage charge");
        let arrears = Arrears {
            share: &whole,
            billed_before: &HashMap::new(),
        };
        assert!(boundary_lines(&prices, &usage, Some(arrears), None, usd()).is_err());
    }
}
