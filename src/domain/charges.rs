//! What one billing period of a subscription costs: a line per price, from
//! the pricing rules and the period's billable share. The preview and the
//! invoices use the one function, `period_lines`, so they never disagree.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::{self, AmountOverflow, Currency, round_amount};
use super::period::Period;
use super::phase::clip;
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

/// The terms one phase of a subscription bills on: its plan's prices (its
/// quantities applied) over the part of the period the phase covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseTerms {
    pub plan_id: Uuid,
    pub span: Period,
    pub prices: Vec<(Uuid, PriceTerms)>,
}

/// The usage one plan prices: its meters over the billable stretches of
/// the phases on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageGroup {
    pub plan_id: Uuid,
    pub stretches: Vec<Period>,
    /// Sorted, distinct.
    pub meter_ids: Vec<Uuid>,
}

/// Usage is measured per plan over the stretches its phases were billable
/// in `billable`, so a plan's tiers see all of its usage in the period at
/// once (a seat change within one plan does not split them).
pub fn usage_groups(phases: &[PhaseTerms], billable: &[Period]) -> Vec<UsageGroup> {
    let mut groups: Vec<UsageGroup> = Vec::new();
    for phase in phases {
        let stretches = clip(billable, phase.span);
        let group = match groups.iter_mut().find(|g| g.plan_id == phase.plan_id) {
            Some(group) => group,
            None => {
                let mut meter_ids: Vec<Uuid> = phase
                    .prices
                    .iter()
                    .filter_map(|(_, terms)| match terms {
                        PriceTerms::Usage { meter_id, .. } => Some(*meter_id),
                        PriceTerms::Fixed { .. } => None,
                    })
                    .collect();
                meter_ids.sort();
                meter_ids.dedup();
                groups.push(UsageGroup {
                    plan_id: phase.plan_id,
                    stretches: Vec::new(),
                    meter_ids,
                });
                groups.last_mut().expect("just pushed")
            }
        };
        group.stretches.extend(stretches);
    }
    for group in &mut groups {
        group.stretches.sort_by_key(|s| s.start);
    }
    groups
}

/// Quantities per plan and meter, measured as `usage_groups` says.
pub type PlanUsage = HashMap<Uuid, HashMap<Uuid, Decimal>>;

fn restricted(share: &PeriodShare, billable: Vec<Period>) -> PeriodShare {
    PeriodShare {
        period: share.period,
        nominal: share.nominal,
        billable,
    }
}

/// What a whole period bills: each fixed price by its phase's share of the
/// period (see `proration`), and, for each plan whose phases accrued any
/// of it, each usage price on the quantity in `usage` (a meter without one
/// used nothing). This is the one place a period's charges are decided:
/// the preview shows it, and the boundaries of the period invoice it
/// (`boundary_lines`). A line above `money::MAX_AMOUNT` is refused, never
/// shown saturated.
pub fn period_lines(
    phases: &[PhaseTerms],
    usage: &PlanUsage,
    share: &PeriodShare,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let mut lines = Vec::new();
    for phase in phases {
        let phase_share = restricted(share, clip(&share.billable, phase.span));
        for (price_id, terms) in &phase.prices {
            let PriceTerms::Fixed {
                amount,
                quantity,
                proration,
                ..
            } = terms
            else {
                continue;
            };
            let full = price_fixed(*amount, *quantity, currency)?;
            // The exact product: prorating a rounded one would round twice.
            let product = amount.checked_mul(full.quantity).ok_or(AmountOverflow {
                what: "amount x quantity",
                currency,
            })?;
            let Some((billed, fraction)) = fixed_share(product, *proration, &phase_share, currency)? else {
                continue;
            };
            lines.push(BilledLine {
                line: PriceLine {
                    price_id: *price_id,
                    meter_id: None,
                    charge: Charge { amount: billed, ..full },
                    proration_fraction: fraction,
                },
                period: phase_share.covered(),
                adjustment: false,
            });
        }
    }
    let no_usage = HashMap::new();
    for group in usage_groups(phases, &share.billable) {
        let group_share = restricted(share, group.stretches);
        if !group_share.accrues() {
            continue;
        }
        let quantities = usage.get(&group.plan_id).unwrap_or(&no_usage);
        let Some(phase) = phases.iter().find(|p| p.plan_id == group.plan_id) else {
            continue;
        };
        for (price_id, terms) in &phase.prices {
            let PriceTerms::Usage { meter_id, model } = terms else {
                continue;
            };
            let quantity = quantities.get(meter_id).copied().unwrap_or(Decimal::ZERO);
            lines.push(BilledLine {
                line: PriceLine {
                    price_id: *price_id,
                    meter_id: Some(*meter_id),
                    charge: price_usage(model, quantity, currency)?,
                    proration_fraction: None,
                },
                period: share.period,
                adjustment: false,
            });
        }
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

/// The period that ends at a boundary: its share, its phases, and what its
/// fixed prices billed before (in advance, or at an earlier change), per price.
pub struct Arrears<'a> {
    pub share: &'a PeriodShare,
    pub phases: &'a [PhaseTerms],
    pub billed_before: &'a HashMap<Uuid, Decimal>,
}

/// The period that starts at a boundary, with the phases known for it.
pub struct Advance<'a> {
    pub share: &'a PeriodShare,
    pub phases: &'a [PhaseTerms],
}

/// What a whole period's fixed fees came to, per price, against what they
/// billed before: each price's lines as they are when nothing was billed
/// before, else one adjustment line for the difference (none when there is
/// none). In the order of the lines, then prices billed before that no
/// longer bill at all.
pub fn settle(
    whole: &[BilledLine],
    billed_before: &HashMap<Uuid, Decimal>,
    period: Period,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let overflow = AmountOverflow {
        what: "the adjustment",
        currency,
    };
    let fixed_ids = whole
        .iter()
        .filter(|l| l.line.meter_id.is_none())
        .map(|l| l.line.price_id);
    let mut gone: Vec<Uuid> = billed_before.keys().copied().collect();
    gone.sort();
    let mut prices: Vec<Uuid> = Vec::new();
    for id in fixed_ids.chain(gone) {
        if !prices.contains(&id) {
            prices.push(id);
        }
    }
    let mut lines = Vec::new();
    for price_id in prices {
        let of_price: Vec<&BilledLine> = whole
            .iter()
            .filter(|l| l.line.meter_id.is_none() && l.line.price_id == price_id)
            .collect();
        let before = billed_before.get(&price_id).copied().unwrap_or(Decimal::ZERO);
        if before.is_zero() {
            lines.extend(of_price.into_iter().cloned());
            continue;
        }
        let owed = money::checked_sum(of_price.iter().map(|l| l.line.charge.amount)).ok_or(overflow)?;
        let difference = owed.checked_sub(before).ok_or(overflow)?;
        if difference.is_zero() {
            continue;
        }
        let last = of_price.last();
        lines.push(BilledLine {
            line: PriceLine {
                price_id,
                meter_id: None,
                charge: Charge {
                    quantity: last.map_or(Decimal::ZERO, |l| l.line.charge.quantity),
                    amount: money::bounded_amount("the adjustment", difference, currency)?,
                    unit_amount: None,
                    tiers: Vec::new(),
                },
                proration_fraction: match of_price.as_slice() {
                    [] => Some(Decimal::ZERO),
                    [only] => only.line.proration_fraction,
                    // Several phases: no one fraction describes the sum.
                    _ => None,
                },
            },
            period: match (of_price.first(), last) {
                (Some(first), Some(last)) => Period {
                    start: first.period.start,
                    end: last.period.end,
                },
                _ => period,
            },
            adjustment: true,
        });
    }
    Ok(lines)
}

/// What `after` bills beyond `before`, per price, in the order of
/// `after`'s lines and then of prices only `before` has: a negative line
/// where a fee bills less (the unused part of an old plan), a positive one
/// where it bills more. Prices that bill the same make no line.
pub fn difference(
    before: &[BilledLine],
    after: &[BilledLine],
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let overflow = AmountOverflow {
        what: "the difference",
        currency,
    };
    let mut prices: Vec<Uuid> = Vec::new();
    for line in after.iter().chain(before) {
        if !prices.contains(&line.line.price_id) {
            prices.push(line.line.price_id);
        }
    }
    let sum = |lines: &[BilledLine], price: Uuid| {
        money::checked_sum(
            lines
                .iter()
                .filter(|l| l.line.price_id == price)
                .map(|l| l.line.charge.amount),
        )
    };
    let mut lines = Vec::new();
    for price in prices {
        let change = sum(after, price)
            .zip(sum(before, price))
            .and_then(|(a, b)| a.checked_sub(b))
            .ok_or(overflow)?;
        if change.is_zero() {
            continue;
        }
        let template = after
            .iter()
            .rev()
            .chain(before.iter().rev())
            .find(|l| l.line.price_id == price)
            .expect("the price came from a line");
        let mut line = template.clone();
        line.line.charge.amount = money::bounded_amount("the difference", change, currency)?;
        line.adjustment = change.is_sign_negative();
        lines.push(line);
    }
    Ok(lines)
}

/// What one boundary invoices: the fees billed in advance for the period
/// that starts (`advance`), by what that period is expected to bill when it
/// starts, and for the period that ends (`arrears`) its usage and what its
/// fixed fees bill over the whole period less what they billed before
/// (`settle`). So a period's fees add up to what the whole period bills
/// (its trial, pause, change and end stretches as they turned out),
/// whenever the run happens. A line above `money::MAX_AMOUNT` refuses the
/// whole boundary, so no invoice is issued with a wrong figure.
pub fn boundary_lines(
    usage: &PlanUsage,
    arrears: Option<Arrears<'_>>,
    advance: Option<Advance<'_>>,
    currency: Currency,
) -> Result<Vec<BilledLine>, AmountOverflow> {
    let mut lines = Vec::new();
    if let Some(Advance { share, phases }) = advance {
        let in_advance: Vec<PhaseTerms> = phases
            .iter()
            .map(|phase| PhaseTerms {
                prices: phase
                    .prices
                    .iter()
                    .filter(|(_, terms)| matches!(terms, PriceTerms::Fixed { in_advance: true, .. }))
                    .cloned()
                    .collect(),
                ..phase.clone()
            })
            .collect();
        lines.extend(period_lines(&in_advance, usage, share, currency)?);
    }
    if let Some(Arrears {
        share,
        phases,
        billed_before,
    }) = arrears
    {
        let whole = period_lines(phases, usage, share, currency)?;
        lines.extend(settle(&whole, billed_before, share.period, currency)?);
        lines.extend(whole.into_iter().filter(|l| l.line.meter_id.is_some()));
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

    fn one(prices: &[(Uuid, PriceTerms)]) -> Vec<PhaseTerms> {
        // One phase over any period: a subscription never changed.
        let always = Period {
            start: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            end: chrono::DateTime::<chrono::Utc>::MAX_UTC,
        };
        vec![PhaseTerms {
            plan_id: Uuid::nil(),
            span: always,
            prices: prices.to_vec(),
        }]
    }

    fn on_plan(usage: &HashMap<Uuid, Decimal>) -> PlanUsage {
        HashMap::from([(Uuid::nil(), usage.clone())])
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
        let lines = period_lines(&one(&prices), &on_plan(&usage), &share(30, &[(0, 30)]), usd()).unwrap();
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
        let lines = period_lines(&one(&prices), &PlanUsage::new(), &part, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("3.00"), false), (d("10.00"), false)]);
        assert_eq!(lines[0].period, span(1, 7));
        assert_eq!(lines[0].line.proration_fraction, Some(d("0.3")));
        assert_eq!(lines[1].line.proration_fraction, None);
        // Nothing billable: no fixed fee at all.
        assert!(
            period_lines(&one(&prices), &PlanUsage::new(), &share(10, &[]), usd())
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
        let phases = one(&prices);
        let arrears = Arrears {
            phases: &phases,
            share: &last,
            billed_before: &before,
        };
        let lines = boundary_lines(
            &on_plan(&usage),
            Some(arrears),
            Some(Advance {
                share: &next,
                phases: &phases,
            }),
            usd(),
        )
        .unwrap();
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
        let phases = one(&prices);
        let arrears = Arrears {
            phases: &phases,
            share: &last,
            billed_before: &settled,
        };
        let lines = boundary_lines(&on_plan(&usage), Some(arrears), None, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("0.57"), false), (d("1.50"), false)]);
    }

    #[test]
    fn a_period_billed_ahead_but_never_billable_is_credited_in_full() {
        let ahead = Uuid::now_v7();
        let prices = vec![(ahead, fixed("7", true, Proration::FullPeriod))];
        let idle = share(7, &[]);
        let before = HashMap::from([(ahead, d("7.00"))]);
        let phases = one(&prices);
        let arrears = Arrears {
            phases: &phases,
            share: &idle,
            billed_before: &before,
        };
        let lines = boundary_lines(&PlanUsage::new(), Some(arrears), None, usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("-7.00"), true)]);
        assert_eq!(lines[0].period, span(0, 7));
        // Never billed and never billable: nothing at all.
        let phases = one(&prices);
        let arrears = Arrears {
            phases: &phases,
            share: &idle,
            billed_before: &HashMap::new(),
        };
        assert!(
            boundary_lines(&PlanUsage::new(), Some(arrears), None, usd())
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
        let lines = period_lines(&one(&prices), &on_plan(&usage), &whole, usd()).unwrap();
        assert_eq!(subtotal(&lines, usd()).unwrap().to_string(), "2000000000000000.00");
        // Usage summed from many events can exceed what one line may carry.
        let usage = HashMap::from([(meter, d("1000000000000000000"))]);
        let err = period_lines(&one(&prices), &on_plan(&usage), &whole, usd()).unwrap_err();
        assert_eq!(err.what, "the usage charge");
        let phases = one(&prices);
        let arrears = Arrears {
            phases: &phases,
            share: &whole,
            billed_before: &HashMap::new(),
        };
        assert!(boundary_lines(&on_plan(&usage), Some(arrears), None, usd()).is_err());
    }

    #[test]
    fn a_period_shared_by_two_plans_bills_each_its_share() {
        let (basic, pro) = (Uuid::now_v7(), Uuid::now_v7());
        let (basic_fee, pro_fee, calls) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let meter = Uuid::now_v7();
        let usage_price = (
            calls,
            PriceTerms::Usage {
                meter_id: meter,
                model: BillingModel::PerUnit { unit_amount: d("1") },
            },
        );
        let phases = vec![
            PhaseTerms {
                plan_id: basic,
                span: span(0, 3),
                prices: vec![(basic_fee, fixed("7", true, Proration::Prorated)), usage_price.clone()],
            },
            PhaseTerms {
                plan_id: pro,
                span: span(3, 7),
                prices: vec![(pro_fee, fixed("14", true, Proration::Prorated)), usage_price],
            },
        ];
        let week = share(7, &[(0, 7)]);
        // Usage is measured per plan over its own stretches.
        let groups = usage_groups(&phases, &week.billable);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].stretches.clone(), groups[1].stretches.clone()),
            (vec![span(0, 3)], vec![span(3, 7)])
        );
        let usage = HashMap::from([
            (basic, HashMap::from([(meter, d("2"))])),
            (pro, HashMap::from([(meter, d("5"))])),
        ]);
        // Billed 7.00 ahead on Basic; the week owes 7 x 3/7 = 3.00 on Basic
        // and 14 x 4/7 = 8.00 on Pro, so Basic is settled by -4.00.
        let before = HashMap::from([(basic_fee, d("7.00"))]);
        let arrears = Arrears {
            share: &week,
            phases: &phases,
            billed_before: &before,
        };
        let lines = boundary_lines(&usage, Some(arrears), None, usd()).unwrap();
        assert_eq!(
            amounts(&lines),
            vec![
                (d("-4.00"), true),
                (d("8.00"), false),
                (d("2.00"), false),
                (d("5.00"), false)
            ]
        );
        // The change's preview: the same two fee lines.
        let old = period_lines(
            &[PhaseTerms {
                span: span(0, 7),
                ..phases[0].clone()
            }],
            &PlanUsage::new(),
            &week,
            usd(),
        )
        .unwrap();
        let new = period_lines(&phases, &PlanUsage::new(), &week, usd()).unwrap();
        let fixed_only = |l: Vec<BilledLine>| l.into_iter().filter(|l| l.line.meter_id.is_none()).collect::<Vec<_>>();
        let change = difference(&fixed_only(old), &fixed_only(new), usd()).unwrap();
        assert_eq!(amounts(&change), vec![(d("-4.00"), true), (d("8.00"), false)]);
    }

    #[test]
    fn a_change_at_the_period_end_bills_the_next_period_on_the_new_plan() {
        let (basic, pro) = (Uuid::now_v7(), Uuid::now_v7());
        let (basic_fee, pro_fee) = (Uuid::now_v7(), Uuid::now_v7());
        let on = |plan, fee, amount: &str, from: i64, to: i64| PhaseTerms {
            plan_id: plan,
            span: span(from, to),
            prices: vec![(fee, fixed(amount, true, Proration::Prorated))],
        };
        // Basic until day 7, Pro from day 7: the week that ends was Basic's
        // alone (billed 10.00 ahead, nothing to settle), the next is Pro's.
        let ending = [on(basic, basic_fee, "10", 0, 7)];
        let starting = [on(pro, pro_fee, "25", 7, 14)];
        let last = share(7, &[(0, 7)]);
        let next = PeriodShare {
            period: span(7, 14),
            nominal: span(7, 14),
            billable: vec![span(7, 14)],
        };
        let before = HashMap::from([(basic_fee, d("10.00"))]);
        let arrears = Arrears {
            share: &last,
            phases: &ending,
            billed_before: &before,
        };
        let advance = Advance {
            share: &next,
            phases: &starting,
        };
        let lines = boundary_lines(&PlanUsage::new(), Some(arrears), Some(advance), usd()).unwrap();
        assert_eq!(amounts(&lines), vec![(d("25.00"), false)]);
        assert_eq!(lines[0].line.price_id, pro_fee);
    }
}
