//! Coupons and the discounts they grant: how long a discount lasts.

use super::stored::stored_enum;

stored_enum! {
    /// How many finalized invoices a discount reduces.
    pub enum CouponDuration {
        /// The first invoice only.
        Once = "ONCE",
        /// The first `duration_periods` invoices.
        Repeating = "REPEATING",
        /// Every invoice while the discount is applied.
        Forever = "FOREVER",
    }
}

impl CouponDuration {
    /// How many invoices a discount of this duration reduces in all; None
    /// for no limit. `periods` is the coupon's `duration_periods`.
    pub fn period_limit(self, periods: Option<i32>) -> Option<i32> {
        match self {
            CouponDuration::Once => Some(1),
            CouponDuration::Repeating => Some(periods.unwrap_or(1)),
            CouponDuration::Forever => None,
        }
    }
}

/// Whether a discount that has reduced `applied` invoices still reduces the next one.
pub fn still_applies(duration: CouponDuration, periods: Option<i32>, applied: i32) -> bool {
    duration.period_limit(periods).is_none_or(|limit| applied < limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_billed_periods() {
        use CouponDuration::*;
        // (duration, periods, already applied, applies to the next invoice)
        let cases = [
            (Once, None, 0, true),
            (Once, None, 1, false),
            (Repeating, Some(3), 0, true),
            (Repeating, Some(3), 2, true),
            (Repeating, Some(3), 3, false),
            (Forever, None, 0, true),
            (Forever, None, 1_000, true),
        ];
        for (duration, periods, applied, want) in cases {
            assert_eq!(
                still_applies(duration, periods, applied),
                want,
                "{duration} {periods:?} {applied}"
            );
        }
    }
}
