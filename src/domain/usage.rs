//! Usage queries: the time range, the optional time series, and what a
//! meter's value is when no event counted.

use chrono::{DateTime, Duration, DurationRound, Utc};
use rust_decimal::Decimal;

use super::ValidationError;
use super::meter::Aggregation;

/// Range used when a usage query gives none.
pub const DEFAULT_RANGE: Duration = Duration::days(30);
/// Most buckets one time series may have.
pub const MAX_WINDOWS: i64 = 1000;

/// The current day is rolled up in slices of this length. What is not
/// rolled up yet is read from raw events, so shorter slices keep usage
/// queries cheap on busy customers; each slice rewrites every level of the
/// day's buckets of the customers it saw, so they should not be too short.
pub const ROLLUP_SLICE: Duration = Duration::minutes(15);

/// How long after a slice ends its rollup waits, for stragglers. Events
/// arriving later still count: they update the rollups as they come.
pub const ROLLUP_DELAY: Duration = Duration::minutes(10);

/// Events before this instant are rolled up at `now`: the slices that
/// ended at least the delay ago.
pub fn rollup_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    let ready = now - ROLLUP_DELAY;
    ready.duration_trunc(ROLLUP_SLICE).unwrap_or(ready)
}

/// How long the oldest usage not yet rolled up has been due, given where
/// the earliest unfinished day stands (`rolled_to`, a slice boundary): its
/// next slice is due a delay after it ends. Zero when nothing waits.
pub fn rollup_lag(now: DateTime<Utc>, oldest_rolled_to: Option<DateTime<Utc>>) -> std::time::Duration {
    oldest_rolled_to
        .map(|rolled_to| now - (rolled_to + ROLLUP_SLICE + ROLLUP_DELAY))
        .and_then(|late| late.to_std().ok())
        .unwrap_or_default()
}

/// The top level of the dyadic day buckets: a bucket of level `l` covers
/// the 2^l UTC days from a multiple of 2^l (days since 1970-01-01).
pub const TOP_LEVEL: u32 = 9;

/// The buckets (level, first day) that exactly cover the days
/// [from_day, to_day): below the top level a block is
/// taken when it lies inside the range and its parent does not, which
/// leaves at most the first and the last block of each level. The SQL
/// function `billgraph_day_buckets` applies the same rule.
pub fn day_buckets(from_day: i32, to_day: i32) -> Vec<(u32, i32)> {
    let inside = |level: u32| ((from_day + (1 << level) - 1) >> level, to_day >> level);
    let mut buckets = Vec::new();
    for level in 0..TOP_LEVEL {
        let (first, end) = inside(level);
        let (parent_first, parent_end) = inside(level + 1);
        let mut candidates = vec![first, end - 1];
        candidates.dedup();
        for k in candidates {
            let parent_inside = (parent_first..parent_end).contains(&(k >> 1));
            if (first..end).contains(&k) && !parent_inside {
                buckets.push((level, k << level));
            }
        }
    }
    let (first, end) = inside(TOP_LEVEL);
    buckets.extend((first..end).map(|k| (TOP_LEVEL, k << TOP_LEVEL)));
    buckets
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Hour,
    Day,
    Month,
}

impl Window {
    /// The PostgreSQL date_trunc unit.
    pub fn date_trunc_unit(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
        }
    }

    /// The end of the bucket that starts at `start`.
    pub fn bucket_end(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Window::Hour => start + Duration::hours(1),
            Window::Day => start + Duration::days(1),
            Window::Month => start.checked_add_months(chrono::Months::new(1)).unwrap_or(start),
        }
    }

    fn approx_len(self) -> Duration {
        match self {
            Window::Hour => Duration::hours(1),
            Window::Day => Duration::days(1),
            Window::Month => Duration::days(28),
        }
    }
}

/// The half-open range [from, to); defaults to the last 30 days.
pub fn usage_range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    window: Option<Window>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ValidationError> {
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - DEFAULT_RANGE);
    if from >= to {
        return Err(ValidationError::new("from", "must be before to"));
    }
    if let Some(window) = window {
        let buckets = (to - from).num_seconds() / window.approx_len().num_seconds() + 1;
        if buckets > MAX_WINDOWS {
            return Err(ValidationError::new(
                "window",
                format!("the range would have more than {MAX_WINDOWS} windows; use a larger window or a shorter range"),
            ));
        }
    }
    Ok((from, to))
}

/// A meter's value over no counted events: counts and sums are zero; a
/// maximum, average or latest value does not exist.
pub fn empty_value(aggregation: Aggregation) -> Option<Decimal> {
    match aggregation {
        Aggregation::Count | Aggregation::Sum | Aggregation::UniqueCount => Some(Decimal::ZERO),
        Aggregation::Max | Aggregation::Avg | Aggregation::Latest => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rollup_lag_counts_from_when_the_oldest_waiting_slice_was_due() {
        use chrono::TimeZone;
        let rolled_to = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
        let due = rolled_to + ROLLUP_SLICE + ROLLUP_DELAY;
        assert_eq!(rollup_lag(due + Duration::seconds(90), Some(rolled_to)).as_secs(), 90);
        assert_eq!(rollup_lag(due - Duration::seconds(90), Some(rolled_to)).as_secs(), 0);
        assert_eq!(rollup_lag(due, None).as_secs(), 0);
    }

    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn day_buckets_tile_the_range_exactly(from in 0i32..40_000, len in 0i32..3_000) {
            let to = from + len;
            let mut buckets = day_buckets(from, to);
            buckets.sort_by_key(|&(_, start)| start);
            let mut next = from;
            for &(level, start) in &buckets {
                prop_assert!(level <= TOP_LEVEL);
                prop_assert_eq!(start % (1 << level), 0, "aligned");
                prop_assert_eq!(start, next, "no gap, no overlap");
                next = start + (1 << level);
            }
            prop_assert_eq!(next, to);
            let below_top = buckets.iter().filter(|(l, _)| *l < TOP_LEVEL).count();
            prop_assert!(below_top <= 2 * TOP_LEVEL as usize);
            let top = buckets.len() - below_top;
            prop_assert!(top as i32 <= len / (1 << TOP_LEVEL));
        }
    }

    #[test]
    fn a_month_needs_a_handful_of_buckets() {
        // 30 days from day 20000: 20000..20030.
        assert_eq!(
            day_buckets(20_000, 20_030),
            vec![(1, 20_028), (2, 20_024), (3, 20_016), (4, 20_000)]
        );
        assert_eq!(day_buckets(20_001, 20_002), vec![(0, 20_001)]);
        assert!(day_buckets(20_001, 20_001).is_empty());
        assert_eq!(day_buckets(0, 1024), vec![(TOP_LEVEL, 0), (TOP_LEVEL, 512)]);
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_quarter_hour_is_rolled_up_once_it_has_ended_and_the_delay_passed() {
        let day = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap();
        // 00:05: yesterday's last quarter hour is not ready yet, the one before is.
        assert_eq!(rollup_cutoff(day + Duration::minutes(5)), day - Duration::minutes(15));
        assert_eq!(rollup_cutoff(day + Duration::minutes(10)), day);
        assert_eq!(rollup_cutoff(day + Duration::minutes(24)), day);
        assert_eq!(rollup_cutoff(day + Duration::minutes(25)), day + Duration::minutes(15));
        assert_eq!(
            rollup_cutoff(day + Duration::hours(23)),
            day + Duration::minutes(22 * 60 + 45)
        );
    }

    #[test]
    fn the_default_range_is_the_last_30_days() {
        let now = at(31, 0);
        assert_eq!(
            usage_range(None, None, None, now).unwrap(),
            (now - Duration::days(30), now)
        );
        assert_eq!(usage_range(Some(at(1, 0)), None, None, now).unwrap(), (at(1, 0), now));
    }

    #[test]
    fn empty_and_reversed_ranges_are_refused() {
        assert_eq!(
            usage_range(Some(at(2, 0)), Some(at(2, 0)), None, at(3, 0))
                .unwrap_err()
                .field,
            "from"
        );
        assert!(usage_range(Some(at(3, 0)), Some(at(2, 0)), None, at(3, 0)).is_err());
    }

    #[test]
    fn too_many_windows_are_refused() {
        let from = at(1, 0);
        assert!(usage_range(Some(from), Some(from + Duration::hours(999)), Some(Window::Hour), from).is_ok());
        let err = usage_range(Some(from), Some(from + Duration::hours(1000)), Some(Window::Hour), from).unwrap_err();
        assert_eq!(err.field, "window");
        assert!(usage_range(Some(from), Some(from + Duration::days(900)), Some(Window::Day), from).is_ok());
    }

    #[test]
    fn bucket_ends_follow_the_calendar() {
        let jan = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let feb = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
        let mar = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(Window::Month.bucket_end(jan), feb);
        assert_eq!(Window::Month.bucket_end(feb), mar);
        assert_eq!(Window::Day.bucket_end(jan), jan + Duration::days(1));
        assert_eq!(Window::Hour.bucket_end(jan), jan + Duration::hours(1));
    }

    #[test]
    fn empty_values_per_aggregation() {
        assert_eq!(empty_value(Aggregation::Count), Some(Decimal::ZERO));
        assert_eq!(empty_value(Aggregation::Sum), Some(Decimal::ZERO));
        assert_eq!(empty_value(Aggregation::UniqueCount), Some(Decimal::ZERO));
        assert_eq!(empty_value(Aggregation::Max), None);
        assert_eq!(empty_value(Aggregation::Avg), None);
        assert_eq!(empty_value(Aggregation::Latest), None);
    }
}
