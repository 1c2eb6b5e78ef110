//! Coupons and the discounts they grant: how long a discount lasts.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::money::{self, Currency};
use super::stored::stored_enum;
use super::validation::{ValidationError, required_text};

/// Longest coupon code, in characters.
pub const MAX_CODE_CHARS: usize = 64;
/// Longest coupon name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Most periods a REPEATING coupon may last: a hundred years of months.
pub const MAX_DURATION_PERIODS: i32 = 1200;
/// Finest percentage a coupon may take off: 0.0001 %.
pub const MAX_PERCENT_DECIMALS: u32 = 4;

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

/// A code customers type: 1 to 64 letters, digits, `_` or `-`, kept as given.
pub fn validate_code(field: &str, value: &str) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_CODE_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_CODE_CHARS} characters"),
        ));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(ValidationError::new(
            field,
            "may contain only letters A-Z a-z, digits, '_' and '-'",
        ));
    }
    Ok(value.to_string())
}

pub fn validate_name(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_NAME_CHARS)
}

/// Above 0 and at most 100, at most 4 decimal places; without trailing zeros.
pub fn validate_percent_off(field: &str, value: Decimal) -> Result<Decimal, ValidationError> {
    let value = value.normalize();
    if value <= Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        return Err(ValidationError::new(field, "must be above 0 and at most 100"));
    }
    if value.scale() > MAX_PERCENT_DECIMALS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_PERCENT_DECIMALS} decimal places"),
        ));
    }
    Ok(value)
}

/// Above 0 and no finer than the currency's minor unit (an invoice can only
/// take off whole cents, or whole yen).
pub fn validate_amount_off(field: &str, value: Decimal, currency: Currency) -> Result<Decimal, ValidationError> {
    let value = money::validate_amount(field, value, currency, false)?;
    if value.is_zero() {
        return Err(ValidationError::new(field, "must be above 0"));
    }
    if value.scale() > currency.minor_units() {
        return Err(ValidationError::new(
            field,
            format!(
                "must be a whole number of {currency} minor units ({} decimal places at most)",
                currency.minor_units()
            ),
        ));
    }
    Ok(value)
}

/// `duration_periods` as stored: required for REPEATING (1 to 1200),
/// refused for the others.
pub fn validate_duration_periods(
    field: &str,
    duration: CouponDuration,
    periods: Option<i32>,
) -> Result<Option<i32>, ValidationError> {
    match (duration, periods) {
        (CouponDuration::Repeating, None) => Err(ValidationError::new(field, "is required for a REPEATING coupon")),
        (CouponDuration::Repeating, Some(n)) if !(1..=MAX_DURATION_PERIODS).contains(&n) => Err(ValidationError::new(
            field,
            format!("must be between 1 and {MAX_DURATION_PERIODS}"),
        )),
        (CouponDuration::Repeating, Some(n)) => Ok(Some(n)),
        (_, Some(_)) => Err(ValidationError::new(field, "is only for a REPEATING coupon")),
        (_, None) => Ok(None),
    }
}

pub fn validate_max_redemptions(field: &str, value: i32) -> Result<i32, ValidationError> {
    if value < 1 {
        return Err(ValidationError::new(field, "must be at least 1"));
    }
    Ok(value)
}

/// A redeem-by instant must still be ahead.
pub fn validate_redeem_by(
    field: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ValidationError> {
    if at <= now {
        return Err(ValidationError::new(field, "must be in the future"));
    }
    Ok(at)
}

/// Why a coupon cannot be redeemed now; None when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unredeemable {
    Archived,
    LimitReached(i32),
    Expired,
}

/// Whether a coupon in this state can be redeemed at `now`. The redeeming
/// statement checks the same conditions in SQL, atomically; this tells a
/// client why it refused, and answers `Coupon.redeemable`.
pub fn unredeemable(
    archived: bool,
    max_redemptions: Option<i32>,
    times_redeemed: i32,
    redeem_by: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Unredeemable> {
    if archived {
        return Some(Unredeemable::Archived);
    }
    if let Some(max) = max_redemptions
        && times_redeemed >= max
    {
        return Some(Unredeemable::LimitReached(max));
    }
    if redeem_by.is_some_and(|by| by <= now) {
        return Some(Unredeemable::Expired);
    }
    None
}

/// Invoices a discount still reduces; None when there is no limit.
pub fn periods_remaining(duration: CouponDuration, periods: Option<i32>, applied: i32) -> Option<i32> {
    duration.period_limit(periods).map(|limit| (limit - applied).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn currency(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    #[test]
    fn codes_are_letters_digits_underscores_and_dashes() {
        let cases: [(&str, Result<&str, &str>); 6] = [
            ("SUMMER-2026_a", Ok("SUMMER-2026_a")),
            ("", Err("must not be empty")),
            (
                "with space",
                Err("may contain only letters A-Z a-z, digits, '_' and '-'"),
            ),
            ("é", Err("may contain only letters A-Z a-z, digits, '_' and '-'")),
            (&"A".repeat(64), Ok(&"A".repeat(64))),
            (&"A".repeat(65), Err("must be at most 64 characters")),
        ];
        for (input, want) in cases {
            let got = validate_code("input.code", input).map_err(|e| e.message);
            assert_eq!(got, want.map(str::to_string).map_err(str::to_string), "{input}");
        }
    }

    #[test]
    fn percentages_off_are_above_0_up_to_100() {
        let cases = [
            ("0", Err("must be above 0 and at most 100")),
            ("0.0001", Ok("0.0001")),
            ("25.50", Ok("25.5")),
            ("100", Ok("100")),
            ("100.01", Err("must be above 0 and at most 100")),
            ("-5", Err("must be above 0 and at most 100")),
            ("1.00001", Err("must have at most 4 decimal places")),
        ];
        for (input, want) in cases {
            let got = validate_percent_off("p", dec(input)).map_err(|e| e.message);
            assert_eq!(got, want.map(dec).map_err(str::to_string), "{input}");
        }
    }

    #[test]
    fn amounts_off_follow_the_currency_minor_units() {
        assert_eq!(
            validate_amount_off("a", dec("5.50"), currency("USD")).unwrap(),
            dec("5.5")
        );
        assert!(validate_amount_off("a", dec("5.505"), currency("USD")).is_err());
        assert!(validate_amount_off("a", dec("500.5"), currency("JPY")).is_err());
        assert_eq!(
            validate_amount_off("a", dec("500"), currency("JPY")).unwrap(),
            dec("500")
        );
        assert!(validate_amount_off("a", dec("1.234"), currency("KWD")).is_ok());
        assert!(validate_amount_off("a", dec("0"), currency("USD")).is_err());
        assert!(validate_amount_off("a", dec("-1"), currency("USD")).is_err());
    }

    #[test]
    fn only_repeating_coupons_have_periods() {
        use CouponDuration::*;
        assert_eq!(validate_duration_periods("d", Repeating, Some(3)), Ok(Some(3)));
        assert_eq!(validate_duration_periods("d", Repeating, Some(1200)), Ok(Some(1200)));
        assert!(validate_duration_periods("d", Repeating, Some(1201)).is_err());
        assert!(validate_duration_periods("d", Repeating, Some(0)).is_err());
        assert!(validate_duration_periods("d", Repeating, None).is_err());
        assert!(validate_duration_periods("d", Once, Some(2)).is_err());
        assert_eq!(validate_duration_periods("d", Forever, None), Ok(None));
    }

    #[test]
    fn a_coupon_is_redeemable_while_live_unexpired_and_under_its_limit() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(1);
        assert_eq!(unredeemable(false, None, 10, None, now), None);
        assert_eq!(unredeemable(false, Some(3), 2, Some(later), now), None);
        assert_eq!(unredeemable(true, None, 0, None, now), Some(Unredeemable::Archived));
        assert_eq!(
            unredeemable(false, Some(3), 3, None, now),
            Some(Unredeemable::LimitReached(3))
        );
        assert_eq!(
            unredeemable(false, None, 0, Some(now), now),
            Some(Unredeemable::Expired)
        );
    }

    #[test]
    fn remaining_periods_count_down_to_zero() {
        use CouponDuration::*;
        assert_eq!(periods_remaining(Once, None, 0), Some(1));
        assert_eq!(periods_remaining(Once, None, 1), Some(0));
        assert_eq!(periods_remaining(Repeating, Some(3), 1), Some(2));
        assert_eq!(periods_remaining(Repeating, Some(3), 5), Some(0));
        assert_eq!(periods_remaining(Forever, None, 7), None);
    }

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
