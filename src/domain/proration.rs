//! Proration: the share of a billing period a subscription was billable for,
//! and what a fixed fee bills for that share.
//!
//! Time is counted in whole seconds (each instant truncated to its second),
//! and a prorated fee is `amount x quantity x billable / period` computed
//! exactly in integers, then rounded once, half away from zero, to the
//! currency's minor unit. A Decimal division would round the fraction to 28
//! digits first, which can move a result that lies a hair off a midpoint.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::{self, AmountOverflow, Currency};
use super::period::Period;
use super::stored::stored_enum;

stored_enum! {
    /// How a fixed price bills a period the subscription was billable for
    /// only part of (a trial, a pause, a late start, an end or a change
    /// inside it).
    pub enum Proration {
        /// By the exact fraction of the period that was billable.
        Prorated = "PRORATED",
        /// In full when any of the period was billable, else not at all.
        FullPeriod = "FULL_PERIOD",
    }
}

/// Decimal places the fraction is shown with; the amount uses it exactly.
const FRACTION_DECIMALS: u32 = 6;

/// A stretch of a subscription's billing period, as its fees see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodShare {
    /// What one invoice covers: the period, cut short by the subscription's
    /// start or end.
    pub period: Period,
    /// The cadence's whole period that `period` is part of; a prorated fee
    /// is a fraction of this one.
    pub nominal: Period,
    /// The stretches of `period` in which charges accrue (outside trials and
    /// pauses); sorted, disjoint.
    pub billable: Vec<Period>,
}

fn seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn length(p: &Period) -> i64 {
    (seconds(p.end) - seconds(p.start)).max(0)
}

impl PeriodShare {
    /// Whether any of the period accrues charges.
    pub fn accrues(&self) -> bool {
        self.billable_seconds() > 0
    }

    pub fn billable_seconds(&self) -> i64 {
        self.billable.iter().map(length).sum()
    }

    pub fn nominal_seconds(&self) -> i64 {
        length(&self.nominal).max(1)
    }

    /// From the first billable instant to the last; the period itself when
    /// nothing is billable.
    pub fn covered(&self) -> Period {
        match (self.billable.first(), self.billable.last()) {
            (Some(first), Some(last)) => Period {
                start: first.start,
                end: last.end,
            },
            _ => self.period,
        }
    }

    /// The billable fraction of the whole period, as shown on a line.
    pub fn fraction(&self) -> Decimal {
        let billable = Decimal::from(self.billable_seconds().min(self.nominal_seconds()));
        (billable / Decimal::from(self.nominal_seconds()))
            .round_dp_with_strategy(FRACTION_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
    }
}

/// `product x billable / nominal`, rounded once to the currency's minor
/// unit, half away from zero, computed exactly. `billable` is clamped to
/// `[0, nominal]`, so the result never exceeds `product` in magnitude.
pub fn prorate(product: Decimal, billable: i64, nominal: i64, currency: Currency) -> Result<Decimal, AmountOverflow> {
    let overflow = AmountOverflow {
        what: "the prorated amount",
        currency,
    };
    let nominal = i128::from(nominal.max(1));
    let billable = i128::from(billable.clamp(0, nominal as i64));
    let digits = currency.minor_units();
    // product = mantissa / 10^scale; the result in minor units is
    // mantissa * billable * 10^digits / (10^scale * nominal).
    let mantissa = product.mantissa();
    let scale = product.scale();
    let mut numerator = mantissa.checked_mul(billable).ok_or(overflow)?;
    let mut denominator = nominal;
    if scale >= digits {
        denominator = 10i128
            .checked_pow(scale - digits)
            .and_then(|p| p.checked_mul(denominator))
            .ok_or(overflow)?;
    } else {
        numerator = 10i128
            .checked_pow(digits - scale)
            .and_then(|p| p.checked_mul(numerator))
            .ok_or(overflow)?;
    }
    let magnitude = numerator.unsigned_abs();
    let denominator = denominator.unsigned_abs();
    // Half away from zero on the magnitude: floor((2n + d) / 2d).
    let rounded = magnitude
        .checked_mul(2)
        .and_then(|twice| twice.checked_add(denominator))
        .and_then(|sum| sum.checked_div(denominator.checked_mul(2)?))
        .ok_or(overflow)?;
    let minor = i128::try_from(rounded).map_err(|_| overflow)?;
    let signed = if numerator < 0 { -minor } else { minor };
    let amount = Decimal::try_from_i128_with_scale(signed, digits).map_err(|_| overflow)?;
    money::bounded_amount("the prorated amount", money::round_amount(amount, currency), currency)
}

/// What a fixed fee bills for a share of its period, and the fraction shown
/// when it was prorated; None when nothing of the period was billable.
pub fn fixed_share(
    product: Decimal,
    proration: Proration,
    share: &PeriodShare,
    currency: Currency,
) -> Result<Option<(Decimal, Option<Decimal>)>, AmountOverflow> {
    if !share.accrues() {
        return Ok(None);
    }
    Ok(Some(match proration {
        Proration::FullPeriod => (money::round_amount(product, currency), None),
        Proration::Prorated => (
            prorate(product, share.billable_seconds(), share.nominal_seconds(), currency)?,
            Some(share.fraction()),
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + chrono::Duration::days(n)
    }

    fn p(a: i64, b: i64) -> Period {
        Period {
            start: day(a),
            end: day(b),
        }
    }

    #[test]
    fn prorating_is_exact_and_rounds_once() {
        let week = 7 * 86_400;
        // 7.00 for 5 of 7 days: 5.00.
        assert_eq!(prorate(d("7"), 5 * 86_400, week, cur("USD")).unwrap(), d("5.00"));
        // 10.00 for 1 of 3 days: 3.333.. -> 3.33; 2 of 3: 6.666.. -> 6.67.
        assert_eq!(prorate(d("10"), 86_400, 3 * 86_400, cur("USD")).unwrap(), d("3.33"));
        assert_eq!(prorate(d("10"), 2 * 86_400, 3 * 86_400, cur("USD")).unwrap(), d("6.67"));
        // Half a yen rounds away from zero: 1 x 1/2 = 0.5 -> 1.
        assert_eq!(prorate(d("1"), 1, 2, cur("JPY")).unwrap(), d("1"));
        // KWD keeps three decimals: 1.000 x 1/8 = 0.125.
        assert_eq!(prorate(d("1"), 1, 8, cur("KWD")).unwrap(), d("0.125"));
        // 0.0625 USD is below the midpoint of a cent: 0.06; a credit keeps its sign.
        assert_eq!(prorate(d("-0.125"), 1, 2, cur("USD")).unwrap(), d("-0.06"));
        assert_eq!(prorate(d("-0.25"), 1, 2, cur("USD")).unwrap(), d("-0.13"));
        // The largest fee over ten years, to the second, stays exact.
        let ten_years = 3_652 * 86_400;
        assert_eq!(
            prorate(d("1000000000000000"), ten_years - 1, ten_years, cur("USD")).unwrap(),
            d("999999996830757.37")
        );
    }

    #[test]
    fn a_share_bills_by_its_fraction_or_in_full() {
        let share = PeriodShare {
            period: p(0, 7),
            nominal: p(0, 7),
            billable: vec![p(2, 7)],
        };
        assert_eq!(share.fraction(), d("0.714286"));
        assert_eq!(share.covered(), p(2, 7));
        let usd = cur("USD");
        assert_eq!(
            fixed_share(d("7"), Proration::Prorated, &share, usd).unwrap(),
            Some((d("5.00"), Some(d("0.714286"))))
        );
        assert_eq!(
            fixed_share(d("7"), Proration::FullPeriod, &share, usd).unwrap(),
            Some((d("7.00"), None))
        );
        let idle = PeriodShare {
            billable: vec![],
            ..share
        };
        assert_eq!(fixed_share(d("7"), Proration::FullPeriod, &idle, usd).unwrap(), None);
        assert_eq!(idle.covered(), p(0, 7));
    }

    proptest! {
        #[test]
        fn a_prorated_fee_never_exceeds_the_full_fee_and_grows_with_time(
            cents in -100_000_000i64..100_000_000,
            nominal in 1i64..400_000_000,
            a in 0i64..400_000_000,
            b in 0i64..400_000_000,
        ) {
            let usd = cur("USD");
            let product = Decimal::new(cents, 2);
            let (low, high) = (a.min(b), a.max(b));
            let full = prorate(product, nominal, nominal, usd).unwrap();
            prop_assert_eq!(full, product);
            let at_low = prorate(product, low, nominal, usd).unwrap();
            let at_high = prorate(product, high, nominal, usd).unwrap();
            prop_assert!(at_low.abs() <= at_high.abs());
            prop_assert!(at_high.abs() <= product.abs());
            // Where the exact result fits in a Decimal, the two agree.
            let exact = product * Decimal::from(low.min(nominal)) / Decimal::from(nominal);
            let diff = (money::round_amount(exact, usd) - at_low).abs();
            prop_assert!(diff <= d("0.01"));
        }
    }
}
