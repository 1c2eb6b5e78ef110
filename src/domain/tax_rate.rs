//! Tax rates: what a rate may say about itself.

use rust_decimal::Decimal;

use crate::domain::validation::{ValidationError, check_max_chars, check_no_control, required_text};

/// Longest rate name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest state, province or region a rate is limited to.
pub const MAX_STATE_CHARS: usize = 64;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Finest percentage a rate may state: 0.0001 %.
pub const MAX_PERCENTAGE_DECIMALS: u32 = 4;

pub fn validate_name(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_NAME_CHARS)
}

/// 0 to 100 inclusive (0 % rates exist: zero-rated goods are still shown),
/// at most 4 decimal places; returned without trailing zeros.
pub fn validate_percentage(field: &str, value: Decimal) -> Result<Decimal, ValidationError> {
    let value = value.normalize();
    if value.is_sign_negative() || value > Decimal::ONE_HUNDRED {
        return Err(ValidationError::new(field, "must be between 0 and 100"));
    }
    if value.scale() > MAX_PERCENTAGE_DECIMALS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_PERCENTAGE_DECIMALS} decimal places"),
        ));
    }
    Ok(value)
}

/// Trimmed, 1 to 64 characters; kept in the case given (the address match
/// ignores case).
pub fn validate_state(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_STATE_CHARS)
}

/// Free text; blank means none.
pub fn validate_description(field: &str, value: &str) -> Result<Option<String>, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    check_max_chars(field, trimmed, MAX_DESCRIPTION_CHARS)?;
    check_no_control(field, trimmed)?;
    Ok(Some(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn percentages_are_0_to_100_with_4_decimals_at_most() {
        let cases = [
            (dec("0"), Ok(dec("0"))),
            (dec("19.00"), Ok(dec("19"))),
            (dec("100"), Ok(dec("100"))),
            (dec("7.1234"), Ok(dec("7.1234"))),
            (dec("7.12345"), Err("must have at most 4 decimal places")),
            (dec("100.0001"), Err("must be between 0 and 100")),
            (dec("-0.5"), Err("must be between 0 and 100")),
        ];
        for (input, want) in cases {
            let got = validate_percentage("input.percentage", input).map_err(|e| e.message);
            assert_eq!(got, want.map_err(str::to_string), "{input}");
        }
    }

    #[test]
    fn states_are_trimmed_and_bounded() {
        assert_eq!(validate_state("s", " ca ").unwrap(), "ca");
        assert!(validate_state("s", "  ").is_err());
        assert!(validate_state("s", &"x".repeat(65)).is_err());
        assert!(validate_state("s", &"x".repeat(64)).is_ok());
    }

    #[test]
    fn blank_descriptions_are_none() {
        assert_eq!(validate_description("d", "  ").unwrap(), None);
        assert_eq!(validate_description("d", " VAT ").unwrap().as_deref(), Some("VAT"));
        assert!(validate_description("d", &"x".repeat(501)).is_err());
    }
}
