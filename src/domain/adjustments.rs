//! Discounts and taxes on an invoice's lines: the arithmetic, in one place,
//! for drafts, finalization, previews and documents alike.
//!
//! The order is fixed: lines are priced (usage and fixed charges), then
//! discounts reduce them, then taxes are charged on what is left, and only
//! then do prepaid credits (credit balance, wallets) pay part of the total.
//!
//! Rounding happens once per line and per discount or rate, half away from
//! zero (`money::round_amount`), and every total is the sum of the rounded
//! line figures, so an invoice always adds up to the minor unit:
//! - a percentage discount takes `round(left × percent / 100)` of each line
//!   it applies to, where `left` is the line after earlier discounts;
//! - an amount discount is spread over the lines it applies to in
//!   proportion to what is left of them, in whole minor units, the units
//!   left over by flooring going to the largest remainders (ties: the
//!   earlier line);
//! - discounts never take a line below zero, nor the invoice: when credit
//!   lines (negative amounts) would make the discounted sum negative, the
//!   discounts give back the difference, the last one first;
//! - an inclusive rate's tax is carved out of the discounted line:
//!   `round(net × rate / (100 + all inclusive rates))`; an exclusive rate's
//!   is added on what is left without inclusive taxes:
//!   `round((net - inclusive taxes) × rate / 100)`;
//! - the invoice's tax per rate, and its tax total, are the sums of the
//!   per-line taxes (the documented rule for the tax total: it is never
//!   rounded again from the invoice's taxable total).
//!
//! Credit lines carry negative tax: crediting a charge reverses its tax.

use std::collections::HashSet;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::{Currency, round_amount};

/// A priced line, before discounts and taxes.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    /// Whole minor units; negative for a credit.
    pub amount: Decimal,
    /// The price charged; None for a one-off line.
    pub price_id: Option<Uuid>,
}

/// What a discount takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountValue {
    /// 0 < percent <= 100, of every line it applies to.
    PercentOff(Decimal),
    /// An amount of the invoice's currency, spread over the lines it applies to.
    AmountOff(Decimal),
}

/// A discount as it applies to one invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountTerms {
    pub value: DiscountValue,
    /// The prices whose lines it reduces; None: every line.
    pub price_ids: Option<Vec<Uuid>>,
}

/// A tax rate as it applies to one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTerms {
    /// 0 to 100.
    pub percentage: Decimal,
    /// Carved out of the line (true) or added to it (false).
    pub inclusive: bool,
}

/// What discounts and taxes did to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAdjustment {
    /// Per discount, in the order given: what it took off this line.
    pub discounts: Vec<Decimal>,
    /// Their sum; never more than the line's amount, never negative.
    pub discount: Decimal,
    /// The line after discounts: what taxes are charged on.
    pub net: Decimal,
    /// Per rate, in the order given: the tax on this line.
    pub taxes: Vec<Decimal>,
    /// Every tax on the line.
    pub tax: Decimal,
    /// The exclusive part of `tax`: what the line adds to the invoice.
    pub tax_added: Decimal,
}

impl LineAdjustment {
    /// What the line asks the customer for: after discounts, with its
    /// exclusive taxes. Credit notes credit a line up to this.
    pub fn charged(&self) -> Decimal {
        self.net + self.tax_added
    }
}

/// One rate's share of the invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTotal {
    /// What the rate was charged on: the discounted lines without their inclusive taxes.
    pub taxable: Decimal,
    pub amount: Decimal,
}

/// An invoice's discounts and taxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjusted {
    pub lines: Vec<LineAdjustment>,
    /// Per discount: what it took off the invoice.
    pub discounts: Vec<Decimal>,
    /// Per rate.
    pub rates: Vec<RateTotal>,
    /// Sum of the lines as priced.
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    /// Every tax shown on the invoice.
    pub tax_total: Decimal,
    /// The exclusive part of `tax_total`.
    pub tax_added: Decimal,
    /// `subtotal - discount_total + tax_added`: what the invoice charges
    /// before prepaid credits. Negative when credit lines outweigh the
    /// charges (the excess goes to the credit balance).
    pub charged: Decimal,
}

/// Applies `discounts` (in order) and then `rates` to `lines`. Amounts are
/// whole minor units of `currency`; so is every figure returned.
pub fn adjust(lines: &[PricedLine], discounts: &[DiscountTerms], rates: &[RateTerms], currency: Currency) -> Adjusted {
    let round = |amount: Decimal| round_amount(amount, currency);
    let subtotal = round(lines.iter().map(|l| l.amount).sum());
    // taken[d][i]: what discount d took off line i.
    let mut taken: Vec<Vec<Decimal>> = Vec::with_capacity(discounts.len());
    let mut left: Vec<Decimal> = lines.iter().map(|l| l.amount.max(Decimal::ZERO)).collect();
    for terms in discounts {
        let eligible: Vec<usize> = (0..lines.len())
            .filter(|&i| left[i] > Decimal::ZERO && applies_to(terms, &lines[i]))
            .collect();
        let mut take = vec![Decimal::ZERO; lines.len()];
        match terms.value {
            DiscountValue::PercentOff(percent) => {
                for &i in &eligible {
                    take[i] = round(left[i] * percent / Decimal::ONE_HUNDRED).min(left[i]);
                }
            }
            DiscountValue::AmountOff(amount) => {
                let shares = spread(
                    round(amount),
                    &eligible.iter().map(|&i| left[i]).collect::<Vec<_>>(),
                    currency,
                );
                for (&i, share) in eligible.iter().zip(shares) {
                    take[i] = share;
                }
            }
        }
        for (i, amount) in take.iter().enumerate() {
            left[i] -= amount;
        }
        taken.push(take);
    }
    // Never below zero as a whole: give back what takes the sum under 0,
    // the last discount and its last line first.
    let ceiling = subtotal.max(Decimal::ZERO);
    let mut excess: Decimal = taken.iter().flatten().copied().sum::<Decimal>() - ceiling;
    'give_back: for take in taken.iter_mut().rev() {
        for amount in take.iter_mut().rev() {
            if excess <= Decimal::ZERO {
                break 'give_back;
            }
            let back = excess.min(*amount);
            *amount -= back;
            excess -= back;
        }
    }

    let inclusive_sum: Decimal = rates.iter().filter(|r| r.inclusive).map(|r| r.percentage).sum();
    let mut rate_totals = vec![
        RateTotal {
            taxable: Decimal::ZERO,
            amount: Decimal::ZERO,
        };
        rates.len()
    ];
    let adjusted_lines: Vec<LineAdjustment> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let line_discounts: Vec<Decimal> = taken.iter().map(|take| round(take[i])).collect();
            let discount = round(line_discounts.iter().copied().sum());
            let net = round(line.amount - discount);
            let mut taxes = vec![Decimal::ZERO; rates.len()];
            for (r, rate) in rates.iter().enumerate().filter(|(_, r)| r.inclusive) {
                taxes[r] = round(net * rate.percentage / (Decimal::ONE_HUNDRED + inclusive_sum));
            }
            let inclusive_tax: Decimal = taxes.iter().copied().sum();
            let base = net - inclusive_tax;
            for (r, rate) in rates.iter().enumerate().filter(|(_, r)| !r.inclusive) {
                taxes[r] = round(base * rate.percentage / Decimal::ONE_HUNDRED);
            }
            for (r, total) in rate_totals.iter_mut().enumerate() {
                total.taxable += base;
                total.amount += taxes[r];
            }
            let tax = round(taxes.iter().copied().sum());
            let tax_added = round(
                taxes
                    .iter()
                    .zip(rates)
                    .filter(|(_, rate)| !rate.inclusive)
                    .map(|(t, _)| *t)
                    .sum(),
            );
            LineAdjustment {
                discounts: line_discounts,
                discount,
                net,
                taxes,
                tax,
                tax_added,
            }
        })
        .collect();
    let per_discount: Vec<Decimal> = (0..discounts.len())
        .map(|d| round(adjusted_lines.iter().map(|l| l.discounts[d]).sum()))
        .collect();
    let discount_total = round(per_discount.iter().copied().sum());
    let tax_total = round(adjusted_lines.iter().map(|l| l.tax).sum());
    let tax_added = round(adjusted_lines.iter().map(|l| l.tax_added).sum());
    for total in &mut rate_totals {
        total.taxable = round(total.taxable);
        total.amount = round(total.amount);
    }
    Adjusted {
        lines: adjusted_lines,
        discounts: per_discount,
        rates: rate_totals,
        subtotal,
        discount_total,
        tax_total,
        tax_added,
        charged: round(subtotal - discount_total + tax_added),
    }
}

fn applies_to(terms: &DiscountTerms, line: &PricedLine) -> bool {
    match &terms.price_ids {
        None => true,
        Some(prices) => line.price_id.is_some_and(|p| prices.contains(&p)),
    }
}

/// Spreads `amount` (capped at the weights' sum) over `weights` in
/// proportion, in whole minor units: each share floored, then the units
/// left over one each to the largest remainders, the earlier first on a
/// tie. No share exceeds its weight (weights are whole minor units).
fn spread(amount: Decimal, weights: &[Decimal], currency: Currency) -> Vec<Decimal> {
    let total: Decimal = weights.iter().copied().sum();
    if total <= Decimal::ZERO || amount <= Decimal::ZERO {
        return vec![Decimal::ZERO; weights.len()];
    }
    let amount = amount.min(total);
    let unit = Decimal::new(1, currency.minor_units());
    // In minor units, exact integers.
    let units = |d: Decimal| d / unit;
    let amount_units = units(amount);
    let mut shares: Vec<Decimal> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(Decimal, usize)> = Vec::with_capacity(weights.len());
    for (i, weight) in weights.iter().enumerate() {
        let exact = amount_units * units(*weight) / units(total);
        let floor = exact.floor();
        shares.push(floor);
        remainders.push((exact - floor, i));
    }
    let mut leftover = amount_units - shares.iter().copied().sum::<Decimal>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut seen = HashSet::new();
    for (_, i) in remainders {
        if leftover <= Decimal::ZERO {
            break;
        }
        if seen.insert(i) && shares[i] < units(weights[i]) {
            shares[i] += Decimal::ONE;
            leftover -= Decimal::ONE;
        }
    }
    shares.into_iter().map(|s| round_amount(s * unit, currency)).collect()
}

/// The tax a credit reverses, per rate: `credit` is part of `charged` (a
/// line's or the whole invoice's, taxes included), so it holds the same
/// share of each tax: `round(credit × tax / charged)`, once per rate.
pub fn reversed_taxes(credit: Decimal, charged: Decimal, taxes: &[Decimal], currency: Currency) -> Vec<Decimal> {
    if charged <= Decimal::ZERO || credit <= Decimal::ZERO {
        return vec![round_amount(Decimal::ZERO, currency); taxes.len()];
    }
    let credit = credit.min(charged);
    taxes
        .iter()
        .map(|tax| round_amount(credit * tax / charged, currency))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn line(amount: &str) -> PricedLine {
        PricedLine {
            amount: d(amount),
            price_id: None,
        }
    }

    fn priced(amount: &str, price: Uuid) -> PricedLine {
        PricedLine {
            amount: d(amount),
            price_id: Some(price),
        }
    }

    fn percent(p: &str) -> DiscountTerms {
        DiscountTerms {
            value: DiscountValue::PercentOff(d(p)),
            price_ids: None,
        }
    }

    fn amount_off(a: &str) -> DiscountTerms {
        DiscountTerms {
            value: DiscountValue::AmountOff(d(a)),
            price_ids: None,
        }
    }

    fn exclusive(p: &str) -> RateTerms {
        RateTerms {
            percentage: d(p),
            inclusive: false,
        }
    }

    fn inclusive(p: &str) -> RateTerms {
        RateTerms {
            percentage: d(p),
            inclusive: true,
        }
    }

    fn texts(values: &[Decimal]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    /// Every figure below is worked out by hand in the comment beside it.
    #[test]
    fn discount_table() {
        // (lines, discounts, currency, per-line discount, per-discount totals)
        type Case = (
            &'static [&'static str],
            Vec<DiscountTerms>,
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: Vec<Case> = vec![
            // 10% of 19.99 = 1.999 -> 2.00; of 5.05 = 0.505 -> 0.51 (half away from zero).
            (
                &["19.99", "5.05"],
                vec![percent("10")],
                "USD",
                &["2.00", "0.51"],
                &["2.51"],
            ),
            // 100% takes every positive line whole.
            (
                &["19.99", "5.05"],
                vec![percent("100")],
                "USD",
                &["19.99", "5.05"],
                &["25.04"],
            ),
            // 5.00 over 30.00 and 10.00: 3.75 and 1.25 exactly.
            (
                &["30.00", "10.00"],
                vec![amount_off("5")],
                "USD",
                &["3.75", "1.25"],
                &["5.00"],
            ),
            // 1.00 over three 1.00 lines: 33 cents each, the leftover cent to the first (tie).
            (
                &["1.00", "1.00", "1.00"],
                vec![amount_off("1")],
                "USD",
                &["0.34", "0.33", "0.33"],
                &["1.00"],
            ),
            // An amount larger than the invoice takes it to zero, no further.
            (
                &["3.00", "2.00"],
                vec![amount_off("50")],
                "USD",
                &["3.00", "2.00"],
                &["5.00"],
            ),
            // Two coupons: 20% of 50.00 = 10.00, then 5.00 off the 40.00 left.
            (
                &["50.00"],
                vec![percent("20"), amount_off("5")],
                "USD",
                &["15.00"],
                &["10.00", "5.00"],
            ),
            // Amount first, then percent of what is left: 50 - 5 = 45, 20% = 9.
            (
                &["50.00"],
                vec![amount_off("5"), percent("20")],
                "USD",
                &["14.00"],
                &["5.00", "9.00"],
            ),
            // A credit line is never discounted, and the invoice never goes
            // below zero: 10.00 - 8.00 = 2.00 is all 100% may take.
            (
                &["10.00", "-8.00"],
                vec![percent("100")],
                "USD",
                &["2.00", "0.00"],
                &["2.00"],
            ),
            // Two coupons on that invoice: the last gives back first.
            // 50% of 10.00 = 5.00 (over the 2.00 ceiling by 3.00), then 1.00 more: 4.00 back
            // from the second (1.00) and 3.00 from the first -> 2.00 and 0.00.
            (
                &["10.00", "-8.00"],
                vec![percent("50"), amount_off("1")],
                "USD",
                &["2.00", "0.00"],
                &["2.00", "0.00"],
            ),
            // JPY: 15% of 999 = 149.85 -> 150; 333 over 2 lines of 500: 166.5 each -> 167 + 166.
            (&["999"], vec![percent("15")], "JPY", &["150"], &["150"]),
            (
                &["500", "500"],
                vec![amount_off("333")],
                "JPY",
                &["167", "166"],
                &["333"],
            ),
            // KWD: 12.5% of 1.001 = 0.125125 -> 0.125; 0.010 over 0.003 and 0.007: 0.003 + 0.007.
            (&["1.001"], vec![percent("12.5")], "KWD", &["0.125"], &["0.125"]),
            (
                &["0.003", "0.007"],
                vec![amount_off("0.01")],
                "KWD",
                &["0.003", "0.007"],
                &["0.010"],
            ),
            // Spread by remainders: 10.00 over 3.33 / 3.33 / 3.34 (sum 10.00) is each line whole.
            (
                &["3.33", "3.33", "3.34"],
                vec![amount_off("10")],
                "USD",
                &["3.33", "3.33", "3.34"],
                &["10.00"],
            ),
            // 0.05 over 1.00 and 2.00: 0.0166.. and 0.0333.. -> floors 0.01 + 0.03, leftover
            // cent to the larger remainder (0.66 of a cent on the first) -> 0.02 + 0.03.
            (
                &["1.00", "2.00"],
                vec![amount_off("0.05")],
                "USD",
                &["0.02", "0.03"],
                &["0.05"],
            ),
        ];
        for (amounts, discounts, code, want_lines, want_discounts) in cases {
            let lines: Vec<PricedLine> = amounts.iter().map(|a| line(a)).collect();
            let got = adjust(&lines, &discounts, &[], cur(code));
            let per_line: Vec<Decimal> = got.lines.iter().map(|l| l.discount).collect();
            assert_eq!(
                texts(&per_line),
                want_lines.to_vec(),
                "{amounts:?} {discounts:?} {code}"
            );
            assert_eq!(
                texts(&got.discounts),
                want_discounts.to_vec(),
                "{amounts:?} {discounts:?} {code}"
            );
            assert!(got.charged >= Decimal::ZERO || got.subtotal < Decimal::ZERO);
        }
    }

    #[test]
    fn discounts_reduce_only_the_prices_they_name() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let lines = [priced("40.00", a), priced("60.00", b), line("10.00")];
        let only_a = DiscountTerms {
            value: DiscountValue::PercentOff(d("50")),
            price_ids: Some(vec![a]),
        };
        // 50% of the 40.00 line only.
        let got = adjust(&lines, &[only_a], &[], cur("USD"));
        assert_eq!(
            texts(&got.lines.iter().map(|l| l.discount).collect::<Vec<_>>()),
            ["20.00", "0.00", "0.00"]
        );
        let amount_b = DiscountTerms {
            value: DiscountValue::AmountOff(d("100")),
            price_ids: Some(vec![b]),
        };
        // An amount larger than its lines stops at them: 60.00.
        let got = adjust(&lines, &[amount_b], &[], cur("USD"));
        assert_eq!(got.discount_total.to_string(), "60.00");
        assert_eq!(got.charged.to_string(), "50.00");
    }

    #[test]
    fn tax_table() {
        // (line amounts, discount, rates, per-line taxes [line][rate], rate totals, tax_total, tax_added, charged)
        type Case = (
            &'static [&'static str],
            Option<DiscountTerms>,
            Vec<RateTerms>,
            &'static str,
            Vec<Vec<&'static str>>,
            &'static [&'static str],
            &'static str,
            &'static str,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            // Exclusive 19%: 10.00 -> 1.90; 0.99 -> 0.1881 -> 0.19. Total 10.99 + 2.09 = 13.08.
            (
                &["10.00", "0.99"],
                None,
                vec![exclusive("19")],
                "USD",
                vec![vec!["1.90"], vec!["0.19"]],
                &["2.09"],
                "2.09",
                "2.09",
                "13.08",
            ),
            // Rounded per line, not on the sum: 3 x 0.05 at 10% = 0.005 -> 0.01 each = 0.03
            // (0.15 x 10% rounded once would be 0.02).
            (
                &["0.05", "0.05", "0.05"],
                None,
                vec![exclusive("10")],
                "USD",
                vec![vec!["0.01"], vec!["0.01"], vec!["0.01"]],
                &["0.03"],
                "0.03",
                "0.03",
                "0.18",
            ),
            // Inclusive 20%: 12.00 holds 12 x 20/120 = 2.00; nothing is added.
            (
                &["12.00"],
                None,
                vec![inclusive("20")],
                "USD",
                vec![vec!["2.00"]],
                &["2.00"],
                "2.00",
                "0.00",
                "12.00",
            ),
            // Inclusive 19%: 10.00 x 19/119 = 1.5966 -> 1.60.
            (
                &["10.00"],
                None,
                vec![inclusive("19")],
                "USD",
                vec![vec!["1.60"]],
                &["1.60"],
                "1.60",
                "0.00",
                "10.00",
            ),
            // Two exclusive rates (federal 5%, state 9.975%) on 100.00: 5.00 and 9.975 -> 9.98.
            (
                &["100.00"],
                None,
                vec![exclusive("5"), exclusive("9.975")],
                "USD",
                vec![vec!["5.00", "9.98"]],
                &["5.00", "9.98"],
                "14.98",
                "14.98",
                "114.98",
            ),
            // Inclusive 10% then exclusive 5% on the rest: 110.00 holds 10.00; 5% of 100.00 = 5.00.
            (
                &["110.00"],
                None,
                vec![inclusive("10"), exclusive("5")],
                "USD",
                vec![vec!["10.00", "5.00"]],
                &["10.00", "5.00"],
                "15.00",
                "5.00",
                "115.00",
            ),
            // Two inclusive rates share the carve-out: 115.00 x 10/115 = 10.00, x 5/115 = 5.00.
            (
                &["115.00"],
                None,
                vec![inclusive("10"), inclusive("5")],
                "USD",
                vec![vec!["10.00", "5.00"]],
                &["10.00", "5.00"],
                "15.00",
                "0.00",
                "115.00",
            ),
            // Tax follows the discount: 20% off 50.00 = 40.00, 19% = 7.60. 50 - 10 + 7.60 = 47.60.
            (
                &["50.00"],
                Some(percent("20")),
                vec![exclusive("19")],
                "USD",
                vec![vec!["7.60"]],
                &["7.60"],
                "7.60",
                "7.60",
                "47.60",
            ),
            // A credit line carries negative tax: 20.00 and -5.00 at 10%: 2.00 and -0.50.
            (
                &["20.00", "-5.00"],
                None,
                vec![exclusive("10")],
                "USD",
                vec![vec!["2.00"], vec!["-0.50"]],
                &["1.50"],
                "1.50",
                "1.50",
                "16.50",
            ),
            // JPY: 8% of 1,234 = 98.72 -> 99; inclusive 10% of 1,100 = 100.
            (
                &["1234"],
                None,
                vec![exclusive("8")],
                "JPY",
                vec![vec!["99"]],
                &["99"],
                "99",
                "99",
                "1333",
            ),
            (
                &["1100"],
                None,
                vec![inclusive("10")],
                "JPY",
                vec![vec!["100"]],
                &["100"],
                "100",
                "0",
                "1100",
            ),
            // KWD: 5% of 1.237 = 0.06185 -> 0.062.
            (
                &["1.237"],
                None,
                vec![exclusive("5")],
                "KWD",
                vec![vec!["0.062"]],
                &["0.062"],
                "0.062",
                "0.062",
                "1.299",
            ),
            // A 0% rate is shown with nothing charged.
            (
                &["10.00"],
                None,
                vec![exclusive("0")],
                "USD",
                vec![vec!["0.00"]],
                &["0.00"],
                "0.00",
                "0.00",
                "10.00",
            ),
        ];
        for (amounts, discount, rates, code, want_lines, want_rates, tax_total, tax_added, charged) in cases {
            let lines: Vec<PricedLine> = amounts.iter().map(|a| line(a)).collect();
            let discounts: Vec<DiscountTerms> = discount.into_iter().collect();
            let got = adjust(&lines, &discounts, &rates, cur(code));
            let per_line: Vec<Vec<String>> = got.lines.iter().map(|l| texts(&l.taxes)).collect();
            let want_lines: Vec<Vec<String>> = want_lines
                .iter()
                .map(|l| l.iter().map(|s| s.to_string()).collect())
                .collect();
            assert_eq!(per_line, want_lines, "{amounts:?} {rates:?}");
            let rate_amounts: Vec<Decimal> = got.rates.iter().map(|r| r.amount).collect();
            assert_eq!(texts(&rate_amounts), want_rates.to_vec(), "{amounts:?} {rates:?}");
            assert_eq!(got.tax_total.to_string(), tax_total, "{amounts:?} {rates:?}");
            assert_eq!(got.tax_added.to_string(), tax_added, "{amounts:?} {rates:?}");
            assert_eq!(got.charged.to_string(), charged, "{amounts:?} {rates:?}");
        }
    }

    #[test]
    fn taxable_amounts_exclude_inclusive_tax() {
        // 110.00 with 10% inclusive: taxable 100.00 for both rates.
        let got = adjust(&[line("110.00")], &[], &[inclusive("10"), exclusive("5")], cur("USD"));
        assert_eq!(got.rates[0].taxable.to_string(), "100.00");
        assert_eq!(got.rates[1].taxable.to_string(), "100.00");
        assert_eq!(got.lines[0].charged().to_string(), "115.00");
    }

    #[test]
    fn credits_reverse_tax_in_proportion() {
        let usd = cur("USD");
        // A 59.50 line holding 9.50 of tax (50.00 + 19%): crediting 29.75 (half) reverses 4.75.
        assert_eq!(
            texts(&reversed_taxes(d("29.75"), d("59.50"), &[d("9.50")], usd)),
            ["4.75"]
        );
        // Two rates on 114.98 (5.00 and 9.98): crediting 10.00 reverses 0.4349 -> 0.43 and 0.8680 -> 0.87.
        assert_eq!(
            texts(&reversed_taxes(d("10.00"), d("114.98"), &[d("5.00"), d("9.98")], usd)),
            ["0.43", "0.87"]
        );
        // The whole charge reverses the whole tax.
        assert_eq!(
            texts(&reversed_taxes(d("114.98"), d("114.98"), &[d("5.00"), d("9.98")], usd)),
            ["5.00", "9.98"]
        );
        // Nothing charged, nothing reversed.
        assert_eq!(
            texts(&reversed_taxes(d("1.00"), d("0.00"), &[d("0.00")], usd)),
            ["0.00"]
        );
        // JPY: 1,000 of 1,333 holding 99: 74.27 -> 74.
        assert_eq!(
            texts(&reversed_taxes(d("1000"), d("1333"), &[d("99")], cur("JPY"))),
            ["74"]
        );
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["USD", "JPY", "KWD"]).prop_map(cur)
    }

    fn terms(currency: Currency) -> impl Strategy<Value = DiscountTerms> {
        prop_oneof![
            (1i64..=10_000).prop_map(|p| DiscountTerms {
                value: DiscountValue::PercentOff(Decimal::new(p, 2)),
                price_ids: None,
            }),
            (1i64..=1_000_000).prop_map(move |units| DiscountTerms {
                value: DiscountValue::AmountOff(Decimal::new(units, currency.minor_units())),
                price_ids: None,
            }),
        ]
    }

    proptest! {
        #[test]
        fn adjustments_add_up(
            (currency, lines, discounts) in currency().prop_flat_map(|c| (
                Just(c),
                prop::collection::vec((-100_000i64..=1_000_000).prop_map(move |u| PricedLine {
                    amount: Decimal::new(u, c.minor_units()),
                    price_id: None,
                }), 0..8),
                prop::collection::vec(terms(c), 0..4),
            )),
            rates in prop::collection::vec((0i64..=300_000, any::<bool>()).prop_map(|(p, inclusive)| RateTerms {
                percentage: Decimal::new(p, 4),
                inclusive,
            }), 0..4),
        ) {
            let got = adjust(&lines, &discounts, &rates, currency);
            let whole = |x: Decimal| round_amount(x, currency) == x;
            for (line, adj) in lines.iter().zip(&got.lines) {
                prop_assert!(adj.discount >= Decimal::ZERO);
                prop_assert!(adj.discount <= line.amount.max(Decimal::ZERO));
                prop_assert_eq!(adj.net, line.amount - adj.discount);
                prop_assert_eq!(adj.discount, adj.discounts.iter().copied().sum::<Decimal>());
                prop_assert_eq!(adj.tax, adj.taxes.iter().copied().sum::<Decimal>());
                prop_assert!(whole(adj.discount) && whole(adj.tax) && whole(adj.tax_added));
            }
            prop_assert_eq!(got.discount_total, got.discounts.iter().copied().sum::<Decimal>());
            prop_assert_eq!(got.discount_total, got.lines.iter().map(|l| l.discount).sum::<Decimal>());
            prop_assert_eq!(got.tax_total, got.lines.iter().map(|l| l.tax).sum::<Decimal>());
            prop_assert_eq!(got.tax_total, got.rates.iter().map(|r| r.amount).sum::<Decimal>());
            prop_assert_eq!(got.charged, got.subtotal - got.discount_total + got.tax_added);
            // Discounts never take the invoice below zero.
            prop_assert!(got.discount_total <= got.subtotal.max(Decimal::ZERO));
            if got.subtotal >= Decimal::ZERO {
                prop_assert!(got.subtotal - got.discount_total >= Decimal::ZERO);
            }
        }

        #[test]
        fn amount_discounts_take_exactly_what_they_can(
            weights in prop::collection::vec(1i64..=100_000, 1..10),
            amount in 1i64..=2_000_000,
        ) {
            let usd = cur("USD");
            let lines: Vec<PricedLine> = weights.iter().map(|w| PricedLine { amount: Decimal::new(*w, 2), price_id: None }).collect();
            let got = adjust(&lines, &[DiscountTerms { value: DiscountValue::AmountOff(Decimal::new(amount, 2)), price_ids: None }], &[], usd);
            let subtotal: i64 = weights.iter().sum();
            prop_assert_eq!(got.discount_total, Decimal::new(amount.min(subtotal), 2));
        }
    }
}
