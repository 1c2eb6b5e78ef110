//! Billing periods: the cadence a plan bills on and the half-open periods it
//! cuts time into, all in UTC.
//!
//! Every boundary is computed from the anchor, never by stepping from the
//! previous boundary: stepping would let a clamped day (Jan 31 -> Feb 28)
//! stick for the rest of the subscription.

use chrono::{DateTime, Datelike, Duration, Months, Utc};

use super::ValidationError;
use super::stored::stored_enum;

stored_enum! {
    pub enum BillingPeriod {
        Daily = "DAILY",
        Weekly = "WEEKLY",
        Monthly = "MONTHLY",
        Quarterly = "QUARTERLY",
        Annual = "ANNUAL",
    }
}

impl BillingPeriod {
    /// The largest `count` a cadence of this unit may have. No period is
    /// longer than five years, so a typo cannot postpone an invoice for decades.
    pub fn max_count(self) -> u32 {
        match self {
            BillingPeriod::Daily => 365,
            BillingPeriod::Weekly | BillingPeriod::Monthly | BillingPeriod::Quarterly => 12,
            BillingPeriod::Annual => 5,
        }
    }

    /// Whole months per unit, or `None` for the units of fixed length.
    fn months(self) -> Option<u32> {
        match self {
            BillingPeriod::Daily | BillingPeriod::Weekly => None,
            BillingPeriod::Monthly => Some(1),
            BillingPeriod::Quarterly => Some(3),
            BillingPeriod::Annual => Some(12),
        }
    }

    /// Days per unit for the units of fixed length.
    fn days(self) -> i64 {
        match self {
            BillingPeriod::Weekly => 7,
            _ => 1,
        }
    }
}

/// A cadence: `count` periods of `unit` (e.g. 3 x MONTHLY), anchored at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub unit: BillingPeriod,
    pub count: u32,
}

/// The length of one period of a cadence.
#[derive(Debug, Clone, Copy)]
enum Step {
    Months(i64),
    Days(i64),
}

impl Cadence {
    fn step(self) -> Step {
        // The fields are public, so a zero count can reach here without
        // validation; treating it as 1 keeps every period non-empty and the
        // index arithmetic free of division by zero.
        let count = i64::from(self.count.max(1));
        match self.unit.months() {
            Some(months) => Step::Months(i64::from(months) * count),
            None => Step::Days(self.unit.days() * count),
        }
    }
}

/// Checks a cadence from client input; `count` is signed because GraphQL
/// integers are.
pub fn validate_cadence(field: &str, unit: BillingPeriod, count: i32) -> Result<Cadence, ValidationError> {
    let max = unit.max_count();
    match u32::try_from(count) {
        Ok(count) if (1..=max).contains(&count) => Ok(Cadence { unit, count }),
        _ => Err(ValidationError::new(
            field,
            format!("must be between 1 and {max} for {}", unit.as_str()),
        )),
    }
}

/// A billing period, half-open: [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

/// The end of representable time in the direction of `n`, for results that
/// no calendar can hold; saturating keeps the boundaries ordered without
/// panicking on absurd inputs.
fn saturated(n: i64) -> DateTime<Utc> {
    if n < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    }
}

/// The n-th boundary after the anchor: anchor + n * cadence, calendar-correct.
///
/// Month-based units keep the anchor's day where the month has it and clamp
/// to the month's last day where it does not (Jan 31 -> Feb 28 -> Mar 31);
/// the time of day is kept. Daily and weekly add exact 24-hour days. A
/// negative `n` counts back from the anchor. Results beyond chrono's range
/// saturate at its minimum or maximum.
pub fn boundary(anchor: DateTime<Utc>, cadence: Cadence, n: i64) -> DateTime<Utc> {
    let result = match cadence.step() {
        Step::Months(months) => n.checked_mul(months).and_then(|total| {
            let abs = Months::new(u32::try_from(total.unsigned_abs()).ok()?);
            if total < 0 {
                anchor.checked_sub_months(abs)
            } else {
                anchor.checked_add_months(abs)
            }
        }),
        Step::Days(days) => n
            .checked_mul(days)
            .and_then(Duration::try_days)
            .and_then(|delta| anchor.checked_add_signed(delta)),
    };
    result.unwrap_or_else(|| saturated(n))
}

/// The period starting at the n-th boundary.
pub fn nth_period(anchor: DateTime<Utc>, cadence: Cadence, n: i64) -> Period {
    Period {
        start: boundary(anchor, cadence, n),
        end: boundary(anchor, cadence, n.saturating_add(1)),
    }
}

/// The period that contains `at`; periods follow the anchor.
///
/// An `at` before the anchor gets the first period (the one starting at the
/// anchor), since nothing is billed before a subscription starts.
///
/// The index is estimated arithmetically and then corrected by at most a
/// step, so anchors decades in the past cost no more than recent ones.
pub fn period_containing(anchor: DateTime<Utc>, cadence: Cadence, at: DateTime<Utc>) -> Period {
    if at < anchor {
        return nth_period(anchor, cadence, 0);
    }
    let mut n = match cadence.step() {
        Step::Months(months) => {
            let elapsed = (i64::from(at.year()) - i64::from(anchor.year())) * 12 + i64::from(at.month())
                - i64::from(anchor.month());
            elapsed / months
        }
        // A step is a whole number of seconds, so flooring the elapsed time
        // to seconds does not change which step it falls in.
        Step::Days(days) => (at - anchor).num_seconds() / (days * 86_400),
    };
    // The estimate can overshoot when `at` is earlier in its month than the
    // anchor's day or time; boundary 0 is the anchor, so this stops by then.
    while n > 0 && boundary(anchor, cadence, n) > at {
        n -= 1;
    }
    // Undershooting should not happen; the check on growth stops the loop
    // once boundaries saturate at the end of representable time.
    loop {
        let (current, next) = (
            boundary(anchor, cadence, n),
            boundary(anchor, cadence, n.saturating_add(1)),
        );
        if next > at || next <= current {
            break;
        }
        n += 1;
    }
    nth_period(anchor, cadence, n)
}

/// Trial end: start + days, as calendar days in UTC (every UTC day is 24
/// hours, so this is also an exact duration). Saturates at the end of
/// representable time.
pub fn trial_end(start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    Duration::try_days(i64::from(days))
        .and_then(|delta| start.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Timelike};
    use proptest::prelude::*;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn utc_hms(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, s).unwrap()
    }

    fn cadence(unit: BillingPeriod, count: u32) -> Cadence {
        Cadence { unit, count }
    }

    const MONTHLY: Cadence = Cadence {
        unit: BillingPeriod::Monthly,
        count: 1,
    };

    /// Days in a month, worked out independently of the code under test.
    fn days_in_month(y: i32, m: u32) -> u32 {
        (28..=31)
            .rev()
            .find(|&d| NaiveDate::from_ymd_opt(y, m, d).is_some())
            .unwrap()
    }

    /// Checks boundaries 0, 1, 2, ... against `want`, in order.
    fn assert_boundaries(anchor: DateTime<Utc>, cadence: Cadence, want: &[DateTime<Utc>]) {
        for (n, want) in want.iter().enumerate() {
            assert_eq!(
                boundary(anchor, cadence, n as i64),
                *want,
                "{cadence:?} from {anchor} n={n}"
            );
        }
    }

    #[test]
    fn as_str_table() {
        let cases = [
            (BillingPeriod::Daily, "DAILY"),
            (BillingPeriod::Weekly, "WEEKLY"),
            (BillingPeriod::Monthly, "MONTHLY"),
            (BillingPeriod::Quarterly, "QUARTERLY"),
            (BillingPeriod::Annual, "ANNUAL"),
        ];
        for (period, s) in cases {
            assert_eq!(period.as_str(), s);
            assert_eq!(BillingPeriod::parse(s), Some(period));
        }
    }

    #[test]
    fn parse_rejects_unknown_strings() {
        for s in ["", "monthly", "Monthly", "MONTH", " MONTHLY", "YEARLY", "BIWEEKLY"] {
            assert_eq!(BillingPeriod::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn validate_cadence_table() {
        use BillingPeriod::*;
        let cases: &[(BillingPeriod, i32, Result<u32, &str>)] = &[
            (Daily, 1, Ok(1)),
            (Daily, 365, Ok(365)),
            (Daily, 366, Err("must be between 1 and 365 for DAILY")),
            (Daily, 0, Err("must be between 1 and 365 for DAILY")),
            (Weekly, 12, Ok(12)),
            (Weekly, 13, Err("must be between 1 and 12 for WEEKLY")),
            (Monthly, 1, Ok(1)),
            (Monthly, 12, Ok(12)),
            (Monthly, 13, Err("must be between 1 and 12 for MONTHLY")),
            (Monthly, -1, Err("must be between 1 and 12 for MONTHLY")),
            (Monthly, i32::MIN, Err("must be between 1 and 12 for MONTHLY")),
            (Quarterly, 12, Ok(12)),
            (Quarterly, 0, Err("must be between 1 and 12 for QUARTERLY")),
            (Annual, 5, Ok(5)),
            (Annual, 6, Err("must be between 1 and 5 for ANNUAL")),
            (Annual, i32::MAX, Err("must be between 1 and 5 for ANNUAL")),
        ];
        for &(unit, count, want) in cases {
            let got = validate_cadence("input.billingCount", unit, count);
            match want {
                Ok(c) => assert_eq!(got, Ok(cadence(unit, c)), "{unit:?} {count}"),
                Err(message) => assert_eq!(
                    got,
                    Err(ValidationError::new("input.billingCount", message)),
                    "{unit:?} {count}"
                ),
            }
        }
    }

    #[test]
    fn monthly_from_jan_31_in_a_leap_year() {
        let want = [
            utc(2024, 1, 31),
            utc(2024, 2, 29),
            utc(2024, 3, 31),
            utc(2024, 4, 30),
            utc(2024, 5, 31),
            utc(2024, 6, 30),
            utc(2024, 7, 31),
            utc(2024, 8, 31),
            utc(2024, 9, 30),
            utc(2024, 10, 31),
            utc(2024, 11, 30),
            utc(2024, 12, 31),
            utc(2025, 1, 31),
        ];
        assert_boundaries(utc(2024, 1, 31), MONTHLY, &want);
    }

    #[test]
    fn monthly_from_jan_31_in_a_common_year() {
        let want = [
            utc(2025, 1, 31),
            utc(2025, 2, 28),
            utc(2025, 3, 31),
            utc(2025, 4, 30),
            utc(2025, 5, 31),
            utc(2025, 6, 30),
            utc(2025, 7, 31),
            utc(2025, 8, 31),
            utc(2025, 9, 30),
            utc(2025, 10, 31),
            utc(2025, 11, 30),
            utc(2025, 12, 31),
            utc(2026, 1, 31),
        ];
        assert_boundaries(utc(2025, 1, 31), MONTHLY, &want);
    }

    #[test]
    fn monthly_anchor_reaches_leap_february_years_later() {
        let anchor = utc(2023, 1, 31);
        let cases = [
            (1, utc(2023, 2, 28)),
            (13, utc(2024, 2, 29)),
            (14, utc(2024, 3, 31)),
            (25, utc(2025, 2, 28)),
            (26, utc(2025, 3, 31)),
        ];
        for (n, want) in cases {
            assert_eq!(boundary(anchor, MONTHLY, n), want, "n={n}");
        }
    }

    #[test]
    fn annual_from_feb_29() {
        let anchor = utc(2024, 2, 29);
        let annual = cadence(BillingPeriod::Annual, 1);
        let want = [
            utc(2024, 2, 29),
            utc(2025, 2, 28),
            utc(2026, 2, 28),
            utc(2027, 2, 28),
            utc(2028, 2, 29),
            utc(2029, 2, 28),
        ];
        assert_boundaries(anchor, annual, &want);
        // 2100 is not a leap year (divisible by 100 but not by 400).
        assert_eq!(boundary(anchor, annual, 76), utc(2100, 2, 28));
        assert_eq!(boundary(anchor, annual, 76 + 4), utc(2104, 2, 29));
        assert_eq!(boundary(anchor, cadence(BillingPeriod::Annual, 2), 2), utc(2028, 2, 29));
    }

    #[test]
    fn quarterly_from_aug_31() {
        let quarterly = cadence(BillingPeriod::Quarterly, 1);
        let leap = [
            utc(2023, 8, 31),
            utc(2023, 11, 30),
            utc(2024, 2, 29),
            utc(2024, 5, 31),
            utc(2024, 8, 31),
            utc(2024, 11, 30),
            utc(2025, 2, 28),
            utc(2025, 5, 31),
        ];
        assert_boundaries(utc(2023, 8, 31), quarterly, &leap);
    }

    #[test]
    fn every_two_months_from_mar_31() {
        let want = [
            utc(2025, 3, 31),
            utc(2025, 5, 31),
            utc(2025, 7, 31),
            utc(2025, 9, 30),
            utc(2025, 11, 30),
            utc(2026, 1, 31),
            utc(2026, 3, 31),
        ];
        assert_boundaries(utc(2025, 3, 31), cadence(BillingPeriod::Monthly, 2), &want);
    }

    #[test]
    fn time_of_day_is_kept() {
        let anchor = utc_hms(2024, 1, 31, 13, 45, 7) + Duration::nanoseconds(123_456_789);
        let cases = [
            (MONTHLY, 1, utc_hms(2024, 2, 29, 13, 45, 7)),
            (MONTHLY, 2, utc_hms(2024, 3, 31, 13, 45, 7)),
            (cadence(BillingPeriod::Quarterly, 1), 1, utc_hms(2024, 4, 30, 13, 45, 7)),
            (cadence(BillingPeriod::Annual, 1), 1, utc_hms(2025, 1, 31, 13, 45, 7)),
            (cadence(BillingPeriod::Weekly, 1), 1, utc_hms(2024, 2, 7, 13, 45, 7)),
            (cadence(BillingPeriod::Daily, 1), 1, utc_hms(2024, 2, 1, 13, 45, 7)),
        ];
        for (cadence, n, want) in cases {
            assert_eq!(
                boundary(anchor, cadence, n),
                want + Duration::nanoseconds(123_456_789),
                "{cadence:?}"
            );
        }
    }

    #[test]
    fn weekly_and_daily_are_exact_durations() {
        let anchor = utc_hms(2024, 2, 26, 9, 0, 0);
        let cases = [
            (cadence(BillingPeriod::Weekly, 1), 1, utc_hms(2024, 3, 4, 9, 0, 0)),
            (cadence(BillingPeriod::Weekly, 2), 1, utc_hms(2024, 3, 11, 9, 0, 0)),
            (cadence(BillingPeriod::Weekly, 1), 52, utc_hms(2025, 2, 24, 9, 0, 0)),
            (cadence(BillingPeriod::Daily, 1), 3, utc_hms(2024, 2, 29, 9, 0, 0)),
            (cadence(BillingPeriod::Daily, 1), 4, utc_hms(2024, 3, 1, 9, 0, 0)),
            (cadence(BillingPeriod::Daily, 30), 1, utc_hms(2024, 3, 27, 9, 0, 0)),
            (cadence(BillingPeriod::Daily, 1), 366, utc_hms(2025, 2, 26, 9, 0, 0)),
        ];
        for (cadence, n, want) in cases {
            assert_eq!(boundary(anchor, cadence, n), want, "{cadence:?} n={n}");
        }
    }

    #[test]
    fn negative_n_counts_back_from_the_anchor() {
        let anchor = utc(2024, 3, 31);
        assert_eq!(boundary(anchor, MONTHLY, -1), utc(2024, 2, 29));
        assert_eq!(boundary(anchor, MONTHLY, -13), utc(2023, 2, 28));
        assert_eq!(
            boundary(anchor, cadence(BillingPeriod::Weekly, 1), -1),
            utc(2024, 3, 24)
        );
    }

    #[test]
    fn out_of_range_boundaries_saturate() {
        let anchor = utc(2024, 1, 31);
        for &unit in BillingPeriod::ALL {
            let c = cadence(unit, unit.max_count());
            assert_eq!(boundary(anchor, c, i64::MAX), DateTime::<Utc>::MAX_UTC, "{unit:?}");
            assert_eq!(boundary(anchor, c, i64::MIN), DateTime::<Utc>::MIN_UTC, "{unit:?}");
        }
    }

    #[test]
    fn zero_count_behaves_as_one() {
        let anchor = utc(2024, 1, 31);
        let zero = cadence(BillingPeriod::Monthly, 0);
        assert_eq!(boundary(anchor, zero, 1), utc(2024, 2, 29));
        assert_eq!(
            period_containing(anchor, zero, utc(2024, 3, 1)),
            nth_period(anchor, MONTHLY, 1)
        );
    }

    #[test]
    fn nth_period_table() {
        let anchor = utc(2024, 1, 31);
        let cases = [
            (MONTHLY, 0, utc(2024, 1, 31), utc(2024, 2, 29)),
            (MONTHLY, 1, utc(2024, 2, 29), utc(2024, 3, 31)),
            (MONTHLY, 12, utc(2025, 1, 31), utc(2025, 2, 28)),
            (cadence(BillingPeriod::Weekly, 2), 1, utc(2024, 2, 14), utc(2024, 2, 28)),
        ];
        for (cadence, n, start, end) in cases {
            assert_eq!(
                nth_period(anchor, cadence, n),
                Period { start, end },
                "{cadence:?} n={n}"
            );
        }
    }

    #[test]
    fn period_containing_table() {
        let ns = Duration::nanoseconds(1);
        let anchor = utc_hms(2024, 1, 31, 12, 0, 0);
        let weekly = cadence(BillingPeriod::Weekly, 1);
        let daily = cadence(BillingPeriod::Daily, 1);
        let annual = cadence(BillingPeriod::Annual, 1);
        let feb29 = utc_hms(2024, 2, 29, 12, 0, 0);
        let mar31 = utc_hms(2024, 3, 31, 12, 0, 0);
        let in_30_years = utc_hms(2054, 1, 31, 12, 0, 0);
        let feb28_in_30_years = utc_hms(2054, 2, 28, 12, 0, 0);
        let a_year_later = utc_hms(2025, 1, 31, 12, 0, 0);
        let a_week_later = utc_hms(2024, 2, 7, 12, 0, 0);
        let a_day_later = utc_hms(2024, 2, 1, 12, 0, 0);
        let cases = [
            ("at the anchor", MONTHLY, anchor, 0),
            ("before the anchor", MONTHLY, anchor - Duration::days(400), 0),
            ("1 ns before the anchor", MONTHLY, anchor - ns, 0),
            ("at a clamped boundary", MONTHLY, feb29, 1),
            ("1 ns before it", MONTHLY, feb29 - ns, 0),
            ("same day, earlier time", MONTHLY, mar31 - Duration::hours(1), 1),
            ("same day, later time", MONTHLY, mar31 + Duration::hours(1), 2),
            ("start of a later month", MONTHLY, utc(2024, 5, 1), 3),
            ("30 years later, at a boundary", MONTHLY, in_30_years, 360),
            ("30 years later, 1 ns before", MONTHLY, in_30_years - ns, 359),
            ("30 years later, clamped", MONTHLY, feb28_in_30_years, 361),
            ("annual, 1 ns before a boundary", annual, a_year_later - ns, 0),
            ("annual, 30 years later", annual, utc(2054, 6, 1), 30),
            ("weekly, at a boundary", weekly, a_week_later, 1),
            ("weekly, 1 ns before", weekly, a_week_later - ns, 0),
            (
                "weekly, 30 years later",
                weekly,
                anchor + Duration::weeks(1565) + ns,
                1565,
            ),
            ("daily, 1 ns before", daily, a_day_later - ns, 0),
            ("daily, 30 years later", daily, anchor + Duration::days(10957), 10957),
        ];
        for (name, cadence, at, n) in cases {
            let got = period_containing(anchor, cadence, at);
            assert_eq!(got, nth_period(anchor, cadence, n), "{name}");
            if at >= anchor {
                assert!(got.contains(at), "{name}");
            }
        }
    }

    #[test]
    fn period_containing_sub_second_anchor() {
        // The fixed-length estimate floors to seconds; the anchor's nanoseconds
        // must not push `at` into the wrong period.
        let anchor = utc(2024, 1, 1) + Duration::nanoseconds(999_999_999);
        let daily = cadence(BillingPeriod::Daily, 1);
        let next = anchor + Duration::days(1);
        assert_eq!(
            period_containing(anchor, daily, next - Duration::nanoseconds(1)).start,
            anchor
        );
        assert_eq!(period_containing(anchor, daily, next).start, next);
    }

    #[test]
    fn period_containing_near_the_end_of_time_terminates() {
        let anchor = utc(2024, 1, 31);
        let got = period_containing(anchor, MONTHLY, DateTime::<Utc>::MAX_UTC);
        assert!(got.start <= DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn trial_end_table() {
        let start = utc_hms(2024, 2, 27, 8, 30, 0);
        let cases = [
            (0, utc_hms(2024, 2, 27, 8, 30, 0)),
            (1, utc_hms(2024, 2, 28, 8, 30, 0)),
            (2, utc_hms(2024, 2, 29, 8, 30, 0)),
            (3, utc_hms(2024, 3, 1, 8, 30, 0)),
            (14, utc_hms(2024, 3, 12, 8, 30, 0)),
            (366, utc_hms(2025, 2, 27, 8, 30, 0)),
        ];
        for (days, want) in cases {
            assert_eq!(trial_end(start, days), want, "{days} days");
        }
        assert_eq!(trial_end(start, u32::MAX), DateTime::<Utc>::MAX_UTC);
    }

    fn any_anchor() -> impl Strategy<Value = DateTime<Utc>> {
        let from = utc(2000, 1, 1).timestamp();
        let to = utc(2100, 1, 1).timestamp();
        (from..to, 0..1_000_000_000u32).prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
    }

    fn any_cadence() -> impl Strategy<Value = Cadence> {
        prop::sample::select(BillingPeriod::ALL.to_vec())
            .prop_flat_map(|unit| (Just(unit), 1..=unit.max_count()))
            .prop_map(|(unit, count)| Cadence { unit, count })
    }

    proptest! {
        #[test]
        fn boundaries_strictly_increase(anchor in any_anchor(), cadence in any_cadence(), n in -200i64..200) {
            prop_assert!(boundary(anchor, cadence, n) < boundary(anchor, cadence, n + 1));
        }

        #[test]
        fn period_containing_contains(
            anchor in any_anchor(),
            cadence in any_cadence(),
            offset in 0i64..(100 * 366 * 86_400),
            nanos in 0i64..1_000_000_000,
        ) {
            let at = anchor + Duration::seconds(offset) + Duration::nanoseconds(nanos);
            let got = period_containing(anchor, cadence, at);
            prop_assert!(got.contains(at), "{:?} does not contain {}", got, at);
        }

        #[test]
        fn period_containing_matches_a_scan(
            anchor in any_anchor(),
            cadence in any_cadence(),
            n in 0i64..40,
            fraction in 0.0f64..1.0,
        ) {
            // Any instant inside the n-th period must map back to exactly it.
            let period = nth_period(anchor, cadence, n);
            let len = (period.end - period.start).num_nanoseconds().unwrap();
            let at = period.start + Duration::nanoseconds((len as f64 * fraction) as i64);
            prop_assume!(at < period.end);
            prop_assert_eq!(period_containing(anchor, cadence, at), period);
            prop_assert_eq!(period_containing(anchor, cadence, period.end), nth_period(anchor, cadence, n + 1));
        }

        #[test]
        fn periods_are_contiguous(anchor in any_anchor(), cadence in any_cadence(), n in -200i64..200) {
            let this = nth_period(anchor, cadence, n);
            prop_assert!(this.start < this.end);
            prop_assert_eq!(this.end, nth_period(anchor, cadence, n + 1).start);
        }

        #[test]
        fn monthly_boundaries_never_drift(anchor in any_anchor(), count in 1u32..=12, n in 0i64..300) {
            let b = boundary(anchor, Cadence { unit: BillingPeriod::Monthly, count }, n);
            let months = i64::from(anchor.month0()) + n * i64::from(count);
            let year = anchor.year() + i32::try_from(months / 12).unwrap();
            let month = u32::try_from(months % 12).unwrap() + 1;
            prop_assert_eq!((b.year(), b.month()), (year, month));
            prop_assert_eq!(b.day(), anchor.day().min(days_in_month(year, month)));
            prop_assert_eq!(b.time(), anchor.time());
            prop_assert_eq!(b.nanosecond(), anchor.nanosecond());
        }
    }
}
