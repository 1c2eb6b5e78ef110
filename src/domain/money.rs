//! Currencies and the one rounding rule every charge goes through.
//!
//! Money is always a `Decimal`: binary floats cannot hold 0.10 exactly, and
//! cents lost that way show up as invoices that do not add up.

use rust_decimal::{Decimal, RoundingStrategy};

use super::ValidationError;

/// Most decimal places an amount may have: enough for per-call prices such
/// as 0.000001 USD, while keeping `amount * quantity` well inside Decimal's
/// 28 significant digits.
pub const MAX_AMOUNT_DECIMALS: u32 = 12;

/// Largest magnitude an amount may have (10^15). Far above any real price,
/// low enough that sums of many such amounts cannot overflow a Decimal.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Active ISO 4217 codes (List One) and their minor units, sorted by code so
/// `parse` can binary-search it.
///
/// Codes whose minor unit ISO gives as "N.A." (precious metals, bond-market
/// units, XDR, XSU, XUA, XTS, XXX) are left out: an amount in them cannot be
/// rounded to a minor unit, so nothing can be invoiced in them.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2), ("AWG", 2), ("AZN", 2),
    ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2),
    ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2),
    ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2),
    ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2),
    ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2),
    ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2),
    ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2),
    ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0),
    ("JMD", 2), ("JOD", 3), ("JPY", 0),
    ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2),
    ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3),
    ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2),
    ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2),
    ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2), ("NPR", 2), ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2), ("PLN", 2), ("PYG", 0),
    ("QAR", 2),
    ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2),
    ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2),
    ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0),
    ("WST", 2),
    ("XAD", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0), ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// An ISO 4217 currency. Only `parse` builds one, so every value is a code
/// from the table above. Stored as its code in a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    /// Accepts any case and surrounding blanks ("usd ", "Eur"), since clients
    /// type codes by hand; the result always carries the upper-case code.
    pub fn parse(field: &str, code: &str) -> Result<Currency, ValidationError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        Currency::of_code(&code.to_ascii_uppercase())
            .ok_or_else(|| ValidationError::new(field, "must be an active ISO 4217 currency code, such as USD"))
    }

    /// The currency whose upper-case code is `code`, as stored.
    fn of_code(code: &str) -> Option<Currency> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .ok()
            .map(|i| Currency {
                code: CURRENCIES[i].0,
                minor_units: CURRENCIES[i].1,
            })
    }

    /// The upper-case ISO 4217 code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimal places of the smallest coin: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn minor_units(self) -> u32 {
        self.minor_units
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for Currency {
    fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
        <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.code, out)
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for Currency {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        // Read in place (a page decodes hundreds of amounts' currencies);
        // a code stored otherwise than upper case is still read as it was.
        let code = std::str::from_utf8(bytes.as_bytes())?;
        match Currency::of_code(code) {
            Some(currency) => Ok(currency),
            None => {
                Currency::parse("currency", code).map_err(|e| format!("stored currency {code:?}: {}", e.message).into())
            }
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

/// Rounds to the currency's minor units, half away from zero (0.005 USD ->
/// 0.01, -0.005 USD -> -0.01), and pads to them (1 USD -> 1.00).
///
/// Half away from zero is commercial rounding: what customers, accountants
/// and tax authorities expect to see on an invoice, and what spreadsheets do
/// when they check one. Banker's rounding would make 0.125 USD an invoice of
/// 0.12, which looks like an error to the reader. A credit rounds like the
/// charge it reverses, so a charge and its refund cancel exactly.
///
/// Every charge is rounded here, once, after it is computed exactly:
/// rounding each piece first would let totals drift from their lines.
///
/// Never panics. Near `Decimal::MAX` the padding may not fit; the value then
/// keeps as many decimal places as fit, which is never more than the
/// currency's, so the amount is still a whole number of minor units.
pub fn round_amount(amount: Decimal, currency: Currency) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(currency.minor_units, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(currency.minor_units);
    if rounded.is_zero() {
        // -0.004 USD rounds to zero; "-0.00" on an invoice reads as a credit.
        rounded.set_sign_positive(true);
    }
    rounded
}

/// A stored amount as the API shows it, in the minor units of its stored
/// currency code ("0.00", not "0": the database driver drops the scale of a
/// zero). An unknown code leaves the amount as it is.
pub fn in_minor_units(amount: Decimal, code: &str) -> Decimal {
    match Currency::parse("currency", code) {
        Ok(currency) => round_amount(amount, currency),
        Err(_) => amount,
    }
}

/// Checks an amount a client sends: a price, a fee, a credit.
///
/// Unit prices may be finer than the currency (0.0001 USD per API call), so
/// only the total is rounded to minor units, never the input; the input is
/// limited to `MAX_AMOUNT_DECIMALS` places and `MAX_AMOUNT` in magnitude.
/// Negative amounts are refused unless `allow_negative` (credits, discounts).
/// Returns the value without trailing zeros, so 1.50 and 1.5 are stored alike.
pub fn validate_amount(
    field: &str,
    value: Decimal,
    currency: Currency,
    allow_negative: bool,
) -> Result<Decimal, ValidationError> {
    check_decimal(field, value, allow_negative, Some(currency))
}

/// The same limits as `validate_amount`, for numbers that carry no currency
/// of their own: tier bounds, package sizes, prices in a model that is
/// checked before its currency is known.
pub(crate) fn validate_non_negative(field: &str, value: Decimal) -> Result<Decimal, ValidationError> {
    check_decimal(field, value, false, None)
}

fn check_decimal(
    field: &str,
    value: Decimal,
    allow_negative: bool,
    currency: Option<Currency>,
) -> Result<Decimal, ValidationError> {
    let value = value.normalize();
    if value.is_sign_negative() && !allow_negative {
        return Err(ValidationError::new(field, "must not be negative"));
    }
    if value.scale() > MAX_AMOUNT_DECIMALS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_AMOUNT_DECIMALS} decimal places"),
        ));
    }
    if value.abs() > MAX_AMOUNT {
        let unit = currency.map(|c| format!(" {c}")).unwrap_or_default();
        let message = if allow_negative {
            format!("must be between -{MAX_AMOUNT}{unit} and {MAX_AMOUNT}{unit}")
        } else {
            format!("must be at most {MAX_AMOUNT}{unit}")
        };
        return Err(ValidationError::new(field, message));
    }
    Ok(value)
}

/// Largest quantity a price may carry (10^15), with at most
/// `MAX_AMOUNT_DECIMALS` places: like an amount, so `amount * quantity` of
/// two valid inputs always fits a Decimal and can be checked against
/// `MAX_AMOUNT` rather than overflow.
pub const MAX_QUANTITY: Decimal = MAX_AMOUNT;

/// A computed amount fell outside `MAX_AMOUNT` (or Decimal's range): the
/// charge cannot be stated exactly to the minor unit, so it is refused
/// rather than saturated into a wrong figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} would exceed {MAX_AMOUNT} {currency}")]
pub struct AmountOverflow {
    pub what: &'static str,
    pub currency: Currency,
}

/// Checks a quantity a client sends (seats, units of a one-off line): not
/// negative, at most `MAX_AMOUNT_DECIMALS` places, at most `MAX_QUANTITY`.
pub fn validate_quantity(field: &str, value: Decimal) -> Result<Decimal, ValidationError> {
    check_decimal(field, value, false, None)
}

/// The sum of `amounts`, or None when it leaves Decimal's range.
pub fn checked_sum(amounts: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    amounts.into_iter().try_fold(Decimal::ZERO, Decimal::checked_add)
}

/// Amounts added up per currency code, in code order; None when a sum
/// leaves Decimal's range.
pub fn sums_per_currency<'a>(
    amounts: impl IntoIterator<Item = (&'a str, Decimal)>,
) -> Option<std::collections::BTreeMap<&'a str, Decimal>> {
    let mut sums = std::collections::BTreeMap::new();
    for (code, amount) in amounts {
        let sum: &mut Decimal = sums.entry(code).or_insert(Decimal::ZERO);
        *sum = sum.checked_add(amount)?;
    }
    Some(sums)
}

/// `amount` rounded once to `currency`, provided it is within `MAX_AMOUNT`
/// in magnitude; `what` names the figure in the error.
pub fn bounded_amount(what: &'static str, amount: Decimal, currency: Currency) -> Result<Decimal, AmountOverflow> {
    let rounded = round_amount(amount, currency);
    if rounded.abs() > MAX_AMOUNT {
        return Err(AmountOverflow { what, currency });
    }
    Ok(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        for pair in CURRENCIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} must come before {}", pair[0].0, pair[1].0);
        }
        for (code, minor) in CURRENCIES {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code}"
            );
            assert!(*minor <= 4, "{code}");
        }
        assert_eq!(CURRENCIES.len(), 165);
    }

    #[test]
    fn minor_units_table() {
        let cases: &[(&str, u32)] = &[
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("CHF", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("CLP", 0),
            ("ISK", 0),
            ("VND", 0),
            ("XAF", 0),
            ("XOF", 0),
            ("XPF", 0),
            ("UYI", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("LYD", 3),
            ("IQD", 3),
            ("CLF", 4),
            ("UYW", 4),
            ("SLE", 2),
            ("VED", 2),
            ("XCG", 2),
            ("ZWG", 2),
        ];
        for &(code, minor) in cases {
            let c = cur(code);
            assert_eq!(c.code(), code);
            assert_eq!(c.minor_units(), minor, "{code}");
        }
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("USD", Ok("USD")),
            ("usd", Ok("USD")),
            ("  eUr\t", Ok("EUR")),
            ("jpy", Ok("JPY")),
            ("", Err("must not be empty")),
            ("   ", Err("must not be empty")),
            ("US", Err("must be an active ISO 4217 currency code, such as USD")),
            ("USDD", Err("must be an active ISO 4217 currency code, such as USD")),
            ("U SD", Err("must be an active ISO 4217 currency code, such as USD")),
            ("ZZZ", Err("must be an active ISO 4217 currency code, such as USD")),
            // Withdrawn codes.
            ("HRK", Err("must be an active ISO 4217 currency code, such as USD")),
            ("VEF", Err("must be an active ISO 4217 currency code, such as USD")),
            ("ANG", Err("must be an active ISO 4217 currency code, such as USD")),
            // Listed by ISO, but with no minor unit.
            ("XAU", Err("must be an active ISO 4217 currency code, such as USD")),
            ("XXX", Err("must be an active ISO 4217 currency code, such as USD")),
            ("XTS", Err("must be an active ISO 4217 currency code, such as USD")),
            // Non-ASCII letters must not upper-case into a code.
            ("uſd", Err("must be an active ISO 4217 currency code, such as USD")),
        ];
        for (value, want) in cases {
            match (Currency::parse("input.currency", value), want) {
                (Ok(c), Ok(w)) => assert_eq!(c.code(), *w, "{value:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, *w, "{value:?}");
                    assert_eq!(e.field, "input.currency");
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn display_is_the_code() {
        assert_eq!(cur("chf").to_string(), "CHF");
    }

    #[test]
    fn round_amount_table() {
        // (amount, currency, expected text: value and scale both matter)
        let cases: &[(&str, &str, &str)] = &[
            ("0.005", "USD", "0.01"),
            ("0.004", "USD", "0.00"),
            ("-0.005", "USD", "-0.01"),
            ("-0.004", "USD", "0.00"),
            ("0.015", "USD", "0.02"),
            ("0.025", "USD", "0.03"),
            ("0.125", "EUR", "0.13"),
            ("1", "USD", "1.00"),
            ("1.1", "USD", "1.10"),
            ("0", "USD", "0.00"),
            ("12.344999999", "USD", "12.34"),
            ("2.5", "JPY", "3"),
            ("3.5", "JPY", "4"),
            ("-2.5", "JPY", "-3"),
            ("2.49", "JPY", "2"),
            ("100", "JPY", "100"),
            ("1.0005", "KWD", "1.001"),
            ("1.0004", "KWD", "1.000"),
            ("1", "KWD", "1.000"),
            ("0.00005", "CLF", "0.0001"),
            ("0.000000000001", "USD", "0.00"),
            // Largest Decimal with 3 places: rounding must not overflow.
            ("79228162514264337593543950.335", "USD", "79228162514264337593543950.34"),
            (
                "-79228162514264337593543950.335",
                "USD",
                "-79228162514264337593543950.34",
            ),
            ("79228162514264337593543950.335", "JPY", "79228162514264337593543950"),
            // Padding to 2 places does not fit: the whole number is kept.
            ("79228162514264337593543950335", "USD", "79228162514264337593543950335"),
            (
                "-79228162514264337593543950335",
                "USD",
                "-79228162514264337593543950335",
            ),
            // Only one place fits.
            (
                "7922816251426433759354395033.5",
                "USD",
                "7922816251426433759354395033.5",
            ),
            ("0.0000000000000000000000000005", "USD", "0.00"),
        ];
        for &(amount, code, want) in cases {
            let got = round_amount(d(amount), cur(code));
            assert_eq!(got.to_string(), want, "{amount} {code}");
        }
    }

    #[test]
    fn round_amount_is_idempotent() {
        for amount in ["0.005", "-7.125", "1234.5678", "79228162514264337593543950335"] {
            for code in ["USD", "JPY", "KWD", "CLF"] {
                let once = round_amount(d(amount), cur(code));
                let twice = round_amount(once, cur(code));
                assert_eq!(once.to_string(), twice.to_string(), "{amount} {code}");
            }
        }
    }

    #[test]
    fn validate_amount_table() {
        const AT_MOST: &str = "must be at most 1000000000000000 USD";
        const BETWEEN: &str = "must be between -1000000000000000 USD and 1000000000000000 USD";
        // (value, allow_negative, expected normalized value or message)
        let cases: &[(&str, bool, Result<&str, &str>)] = &[
            ("0", false, Ok("0")),
            ("0.00", false, Ok("0")),
            ("-0.00", false, Ok("0")),
            ("1.50", false, Ok("1.5")),
            ("0.0001", false, Ok("0.0001")),
            ("0.000000000001", false, Ok("0.000000000001")),
            ("0.0000000000010", false, Ok("0.000000000001")),
            ("0.0000000000001", false, Err("must have at most 12 decimal places")),
            ("1000000000000000", false, Ok("1000000000000000")),
            ("1000000000000000.000", false, Ok("1000000000000000")),
            ("1000000000000000.000000000001", false, Err(AT_MOST)),
            ("1000000000000001", false, Err(AT_MOST)),
            ("79228162514264337593543950335", false, Err(AT_MOST)),
            ("-0.01", false, Err("must not be negative")),
            ("-1000000000000001", false, Err("must not be negative")),
            ("-0.01", true, Ok("-0.01")),
            ("-1000000000000000", true, Ok("-1000000000000000")),
            ("-1000000000000001", true, Err(BETWEEN)),
            ("1000000000000001", true, Err(BETWEEN)),
            ("-0.0000000000001", true, Err("must have at most 12 decimal places")),
        ];
        for &(value, allow_negative, want) in cases {
            let got = validate_amount("input.amount", d(value), cur("USD"), allow_negative);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g.to_string(), w, "{value}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, w, "{value}");
                    assert_eq!(e.field, "input.amount");
                }
                (got, want) => panic!("{value} (negative allowed: {allow_negative}): got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn validate_non_negative_names_no_currency() {
        let err = validate_non_negative("input.packageSize", d("1000000000000001")).unwrap_err();
        assert_eq!(
            err,
            ValidationError::new("input.packageSize", "must be at most 1000000000000000")
        );
        assert_eq!(validate_non_negative("f", d("2.500")), Ok(d("2.5")));
    }

    #[test]
    fn max_amount_is_ten_to_the_fifteen() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_000_i64));
    }

    #[test]
    fn sums_per_currency_add_up_by_code_and_refuse_to_overflow() {
        let sums = sums_per_currency([
            ("USD", Decimal::new(150, 2)),
            ("EUR", Decimal::ONE),
            ("USD", Decimal::new(25, 2)),
        ])
        .unwrap();
        assert_eq!(
            sums.into_iter().collect::<Vec<_>>(),
            [("EUR", Decimal::ONE), ("USD", Decimal::new(175, 2))]
        );
        assert_eq!(sums_per_currency([("USD", Decimal::MAX), ("USD", Decimal::ONE)]), None);
        assert_eq!(sums_per_currency([]), Some(Default::default()));
    }
}
