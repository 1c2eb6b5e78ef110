//! How figures, dates and headings read on a document, shared by the HTML
//! page and the PDF so the two never print the same value differently.
//!
//! Everything is locale-neutral: a dot before the decimals, no grouping of
//! thousands, a leading '-' for negatives, ISO dates in UTC. A reader in any
//! country, and a program that parses the text, reads the same number.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::model::{Document, DocumentKind, DocumentTier};

/// Decimal can hold at most 28 decimal places; a larger minor unit count
/// (no real currency has one) is printed with 28.
const MAX_SCALE: u32 = 28;

/// An amount with exactly `minor_units` decimals: 1234.5 with 2 is
/// "1234.50", 1500 with 0 is "1500", 1.5 with 3 is "1.500".
///
/// Rounds half away from zero, the rule `domain::money::round_amount` uses,
/// so an amount that was not rounded yet still prints as the invoice would
/// charge it. A zero never prints as "-0.00": that reads as a credit.
pub fn amount(value: Decimal, minor_units: u32) -> String {
    let scale = minor_units.min(MAX_SCALE);
    let mut rounded = value.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    pad_decimals(rounded.to_string(), scale)
}

/// An amount preceded by its currency code: "USD 1234.50".
pub fn money(value: Decimal, currency: &str, minor_units: u32) -> String {
    format!("{currency} {}", amount(value, minor_units))
}

/// A unit price: at least the currency's decimals, and more when the price
/// is finer (0.0015 USD per call prints "0.0015", not "0.00").
pub fn unit_price(value: Decimal, minor_units: u32) -> String {
    let scale = minor_units.min(MAX_SCALE);
    let mut exact = value.normalize();
    if exact.is_zero() {
        exact.set_sign_positive(true);
    }
    let text = exact.to_string();
    if exact.scale() >= scale {
        text
    } else {
        pad_decimals(text, scale)
    }
}

/// A quantity without trailing zeros: 1500, 2.5.
pub fn quantity(value: Decimal) -> String {
    let mut exact = value.normalize();
    if exact.is_zero() {
        exact.set_sign_positive(true);
    }
    exact.to_string()
}

/// An ISO date in UTC: 2026-11-30.
pub fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A period as its two dates, as given: "2026-11-01 to 2026-12-01".
pub fn period((from, to): (DateTime<Utc>, DateTime<Utc>)) -> String {
    format!("{} to {}", date(from), date(to))
}

/// "Invoice" or "Credit note".
pub fn title(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Invoice => "Invoice",
        DocumentKind::CreditNote => "Credit note",
    }
}

/// The document's number, or "Draft" while it has none.
pub fn number(doc: &Document) -> &str {
    doc.number.as_deref().unwrap_or("Draft")
}

/// "Amounts in USD", printed once in the header.
pub fn amounts_in(doc: &Document) -> String {
    format!("Amounts in {}", doc.currency)
}

/// "for Child Co": whom a charge paid by a parent is for.
pub fn for_customer(name: &str) -> String {
    format!("for {name}")
}

/// A tier row's label, with its flat fee when it has one:
/// "1 to 100 (flat fee 10.00)".
pub fn tier_label(tier: &DocumentTier, minor_units: u32) -> String {
    if tier.flat_amount.is_zero() {
        tier.label.clone()
    } else {
        format!("{} (flat fee {})", tier.label, amount(tier.flat_amount, minor_units))
    }
}

/// Appends zeros until the text has `scale` decimals; `text` is a plain
/// decimal as Decimal prints it (never in exponent form).
fn pad_decimals(mut text: String, scale: u32) -> String {
    let scale = scale as usize;
    let have = text.find('.').map_or(0, |dot| text.len() - dot - 1);
    if have >= scale {
        return text;
    }
    if have == 0 {
        text.push('.');
    }
    text.extend(std::iter::repeat_n('0', scale - have));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal literal")
    }

    #[test]
    fn amounts_have_exactly_the_minor_units() {
        let cases = [
            ("1234.5", 2, "1234.50"),
            ("1500", 0, "1500"),
            ("1.5", 3, "1.500"),
            ("0", 2, "0.00"),
            ("0", 0, "0"),
            ("0", 3, "0.000"),
            ("-2", 2, "-2.00"),
            ("-0.001", 2, "0.00"),
            ("-0.00", 2, "0.00"),
            ("0.005", 2, "0.01"),
            ("-0.005", 2, "-0.01"),
            ("1234567890123.45", 2, "1234567890123.45"),
            ("1499.5", 0, "1500"),
            ("12.3456", 3, "12.346"),
            ("7.10", 2, "7.10"),
            ("7.100", 2, "7.10"),
        ];
        for (value, minor_units, printed) in cases {
            assert_eq!(amount(dec(value), minor_units), printed, "{value} with {minor_units}");
        }
    }

    #[test]
    fn extreme_amounts_never_panic() {
        for value in [Decimal::MAX, Decimal::MIN, Decimal::new(1, 28), Decimal::new(-1, 28)] {
            for minor_units in [0, 2, 3, 28, 29, u32::MAX] {
                let printed = amount(value, minor_units);
                assert!(!printed.is_empty());
                assert!(!printed.contains('e') && !printed.contains('E'), "{printed}");
            }
        }
        assert_eq!(amount(Decimal::MAX, 2), "79228162514264337593543950335.00");
    }

    #[test]
    fn money_puts_the_code_first() {
        assert_eq!(money(dec("1234.5"), "USD", 2), "USD 1234.50");
        assert_eq!(money(dec("1500"), "JPY", 0), "JPY 1500");
        assert_eq!(money(dec("-1.5"), "KWD", 3), "KWD -1.500");
    }

    #[test]
    fn unit_prices_keep_their_finer_decimals() {
        assert_eq!(unit_price(dec("0.0015"), 2), "0.0015");
        assert_eq!(unit_price(dec("2"), 2), "2.00");
        assert_eq!(unit_price(dec("2.500"), 2), "2.50");
        assert_eq!(unit_price(dec("3"), 0), "3");
        assert_eq!(unit_price(dec("-0"), 3), "0.000");
    }

    #[test]
    fn quantities_drop_trailing_zeros() {
        assert_eq!(quantity(dec("1500")), "1500");
        assert_eq!(quantity(dec("1500.000")), "1500");
        assert_eq!(quantity(dec("2.50")), "2.5");
        assert_eq!(quantity(dec("0.000")), "0");
        assert_eq!(quantity(dec("-0.0")), "0");
        assert_eq!(quantity(dec("-3.10")), "-3.1");
    }

    #[test]
    fn dates_are_iso_in_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap();
        assert_eq!(date(at), "2026-11-30");
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        assert_eq!(period((start, at)), "2026-11-01 to 2026-11-30");
    }
}
