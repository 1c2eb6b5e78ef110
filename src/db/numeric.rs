//! Money columns decoded straight from PostgreSQL's binary `numeric`.
//!
//! rust_decimal's own decoding collects the digit groups into two vectors
//! and adds each fractional group by a `Decimal` division: a page of
//! invoices and their lines decodes some 3,500 amounts, and that was 6% of
//! the server's CPU on a dashboard page. [`ExactDecimal`] reads the groups
//! in place into one integer instead, for every value that is exactly a
//! `Decimal` at the column's display scale (all amounts that billgraph
//! writes). Anything else (more than 28 decimal places, 96 bits, NaN or
//! infinities, malformed input) goes to rust_decimal's decoding, so the
//! answer is always the one rust_decimal gives.
//!
//! Rows opt in per field: `#[diesel(deserialize_as = ExactDecimal)]`, or
//! [`ExactDecimalOrNull`] for a nullable column.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Nullable, Numeric};
use rust_decimal::Decimal;

/// A `numeric` column as a [`Decimal`]; see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct ExactDecimal(pub Decimal);

impl From<ExactDecimal> for Decimal {
    fn from(value: ExactDecimal) -> Self {
        value.0
    }
}

impl FromSql<Numeric, Pg> for ExactDecimal {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match exact(value.as_bytes()) {
            Some(decimal) => Ok(ExactDecimal(decimal)),
            None => <Decimal as FromSql<Numeric, Pg>>::from_sql(value).map(ExactDecimal),
        }
    }
}

/// A nullable `numeric` column as an `Option<Decimal>`; see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct ExactDecimalOrNull(pub Option<Decimal>);

impl From<ExactDecimalOrNull> for Option<Decimal> {
    fn from(value: ExactDecimalOrNull) -> Self {
        value.0
    }
}

impl FromSql<Nullable<Numeric>, Pg> for ExactDecimalOrNull {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <ExactDecimal as FromSql<Numeric, Pg>>::from_sql(value).map(|d| ExactDecimalOrNull(Some(d.0)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(ExactDecimalOrNull(None)),
        }
    }
}

/// Sign words of the binary format.
const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
/// A `Decimal`'s mantissa is below 2^96.
const MANTISSA_LIMIT: u128 = 1 << 96;

/// The binary `numeric` (digit count, weight, sign and display scale as
/// big-endian 16-bit words, then base-10000 digit groups, the first one
/// worth 10000^weight) as the `Decimal` of that value at the display
/// scale, when it is exactly one; None otherwise.
fn exact(bytes: &[u8]) -> Option<Decimal> {
    let word = |i: usize| bytes.get(2 * i..2 * i + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let groups = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let scale = u32::from(word(3)?);
    if bytes.len() != 8 + 2 * groups || scale > Decimal::MAX_SCALE {
        return None;
    }
    let negative = match sign {
        POSITIVE => false,
        NEGATIVE => true,
        _ => return None,
    };
    let mut mantissa: u128 = 0;
    for i in 0..groups {
        let group = word(4 + i)?;
        if group > 9999 {
            return None;
        }
        // The group's worth in units of 10^-scale.
        let exponent = 4 * (weight - i as i32) + scale as i32;
        let part = if exponent >= 0 {
            u128::from(group).checked_mul(10u128.checked_pow(exponent as u32)?)?
        } else {
            // Digits below the display scale: exact only when they are zeros.
            let divisor = 10u128.checked_pow(exponent.unsigned_abs())?;
            if u128::from(group) % divisor != 0 {
                return None;
            }
            u128::from(group) / divisor
        };
        mantissa = mantissa.checked_add(part)?;
    }
    // rust_decimal keeps the sign of a negative zero; leave that to it.
    if mantissa >= MANTISSA_LIMIT || (negative && mantissa == 0) {
        return None;
    }
    let signed = if negative {
        -(mantissa as i128)
    } else {
        mantissa as i128
    };
    Decimal::try_from_i128_with_scale(signed, scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::pg::data_types::PgNumeric;
    use proptest::prelude::*;

    /// The binary form of a `numeric`, as PostgreSQL sends it.
    fn binary(weight: i16, sign: u16, scale: u16, groups: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [groups.len() as u16, weight as u16, sign, scale] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        for group in groups {
            bytes.extend_from_slice(&group.to_be_bytes());
        }
        bytes
    }

    /// rust_decimal's decoding of the same value, the reference.
    fn reference(weight: i16, sign: u16, scale: u16, groups: &[u16]) -> Option<Decimal> {
        let digits = groups.iter().map(|&g| g as i16).collect();
        let numeric = match sign {
            POSITIVE => PgNumeric::Positive { weight, scale, digits },
            NEGATIVE => PgNumeric::Negative { weight, scale, digits },
            _ => PgNumeric::NaN,
        };
        Decimal::try_from(numeric).ok()
    }

    /// The binary form PostgreSQL gives `d` (rust_decimal's encoder writes
    /// the same groups).
    fn encoded(d: Decimal) -> Vec<u8> {
        match PgNumeric::from(d) {
            PgNumeric::Positive { weight, scale, digits } => binary(weight, POSITIVE, scale, &as_groups(&digits)),
            PgNumeric::Negative { weight, scale, digits } => binary(weight, NEGATIVE, scale, &as_groups(&digits)),
            PgNumeric::NaN => unreachable!("a Decimal is never NaN"),
        }
    }

    fn as_groups(digits: &[i16]) -> Vec<u16> {
        digits.iter().map(|&d| d as u16).collect()
    }

    #[test]
    fn amounts_keep_their_value_and_scale() {
        // (text, weight, sign, display scale, groups) as PostgreSQL sends them.
        let cases: [(&str, i16, u16, u16, &[u16]); 8] = [
            ("0", 0, POSITIVE, 0, &[]),
            ("0.00", 0, POSITIVE, 2, &[]),
            ("12.50", 0, POSITIVE, 2, &[12, 5000]),
            ("-12.50", 0, NEGATIVE, 2, &[12, 5000]),
            ("1234567.8901", 1, POSITIVE, 4, &[123, 4567, 8901]),
            ("0.000001660", -2, POSITIVE, 9, &[166]),
            ("-0.01", -1, NEGATIVE, 2, &[100]),
            (
                "79228162514264337593543950335",
                7,
                POSITIVE,
                0,
                &[7, 9228, 1625, 1426, 4337, 5935, 4395, 335],
            ),
        ];
        for (text, weight, sign, scale, groups) in cases {
            let got = exact(&binary(weight, sign, scale, groups)).expect(text);
            assert_eq!(got.to_string(), text);
            assert_eq!(Some(got), reference(weight, sign, scale, groups), "{text}");
        }
    }

    #[test]
    fn values_no_decimal_holds_go_to_rust_decimal() {
        // NaN, a scale past 28, a group out of range, truncated input.
        assert_eq!(exact(&binary(0, 0xC000, 0, &[])), None);
        assert_eq!(exact(&binary(-8, POSITIVE, 30, &[1])), None);
        assert_eq!(exact(&binary(0, POSITIVE, 0, &[10_000])), None);
        assert_eq!(exact(&binary(0, POSITIVE, 0, &[1])[..9]), None);
        // 10^32 has 33 digits: beyond 96 bits.
        assert_eq!(exact(&binary(8, POSITIVE, 0, &[1])), None);
        // A digit below the display scale.
        assert_eq!(exact(&binary(-1, POSITIVE, 2, &[1234])), None);
    }

    proptest! {
        /// Any value PostgreSQL can send decodes as rust_decimal decodes it,
        /// or is left to rust_decimal.
        #[test]
        fn agrees_with_rust_decimal(
            // Up to 10^28 above the groups: rust_decimal panics past that.
            weight in -9i16..7,
            negative in any::<bool>(),
            scale in 0u16..34,
            groups in prop::collection::vec(0u16..10_000, 0..10),
        ) {
            let sign = if negative { NEGATIVE } else { POSITIVE };
            if let Some(fast) = exact(&binary(weight, sign, scale, &groups)) {
                let slow = reference(weight, sign, scale, &groups).expect("rust_decimal decodes it too");
                prop_assert_eq!(fast, slow);
                prop_assert_eq!(fast.scale(), slow.scale());
                prop_assert_eq!(fast.is_sign_negative(), slow.is_sign_negative());
            }
        }

        /// A canonical value (no leading or trailing zero groups, a display
        /// scale that holds every digit) of at most 28 digits always takes
        /// the fast path, to rust_decimal's answer.
        #[test]
        fn canonical_values_take_the_fast_path(
            weight in -6i16..4,
            negative in any::<bool>(),
            first in 1u16..10_000,
            rest in prop::collection::vec(0u16..10_000, 0..4),
            last in 1u16..10_000,
            extra_scale in 0i32..6,
        ) {
            let mut groups = vec![first];
            groups.extend(rest);
            if groups.len() > 1 || first != last {
                groups.push(last);
            }
            let below_point = 4 * (groups.len() as i32 - 1 - i32::from(weight));
            let scale = below_point.max(0) + extra_scale;
            prop_assume!(4 * (i32::from(weight) + 1).max(0) + scale <= 28);
            let sign = if negative { NEGATIVE } else { POSITIVE };
            let fast = exact(&binary(weight, sign, scale as u16, &groups));
            prop_assert!(fast.is_some());
            prop_assert_eq!(fast, reference(weight, sign, scale as u16, &groups));
            prop_assert_eq!(fast.unwrap().scale(), scale as u32);
        }

        /// Every Decimal takes the fast path and comes back unchanged.
        #[test]
        fn decimals_round_trip(mantissa in any::<i128>(), scale in 0u32..=28) {
            let d = Decimal::from_i128_with_scale(mantissa % (1i128 << 96), scale);
            prop_assume!(!d.is_zero() || !d.is_sign_negative());
            let got = exact(&encoded(d));
            prop_assert_eq!(got, Some(d));
            prop_assert_eq!(got.unwrap().scale(), d.scale());
        }
    }
}
