//! Rules for the external systems a customer can be linked to.

use crate::domain::stored::stored_enum;
use crate::domain::validation::{ValidationError, check_max_chars, check_no_control, required_text};

/// Longest display name accepted for a custom integration.
const MAX_PROVIDER_NAME_LEN: usize = 100;
/// Ids in other systems are opaque; 255 fits every provider we know of.
const MAX_ENTITY_ID_LEN: usize = 255;

stored_enum! {
    pub enum Provider {
        Stripe = "STRIPE",
        Hubspot = "HUBSPOT",
        Quickbooks = "QUICKBOOKS",
        Salesforce = "SALESFORCE",
        Custom = "CUSTOM",
    }
}

/// A custom integration needs a name to tell it apart; the named providers
/// already have one, so a name there would only be confusing and is refused.
/// Named providers get "" because that is what the database stores for them.
pub fn validate_provider_name(
    field: &str,
    provider: Provider,
    provider_name: Option<&str>,
) -> Result<String, ValidationError> {
    let given = provider_name.map(str::trim).unwrap_or("");
    if provider != Provider::Custom {
        if !given.is_empty() {
            return Err(ValidationError::new(field, "only allowed when provider is CUSTOM"));
        }
        return Ok(String::new());
    }
    if given.is_empty() {
        return Err(ValidationError::new(field, "is required when provider is CUSTOM"));
    }
    check_max_chars(field, given, MAX_PROVIDER_NAME_LEN)?;
    check_no_control(field, given)?;
    Ok(given.to_owned())
}

/// The customer's id in the external system.
pub fn validate_provider_entity_id(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_ENTITY_ID_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_table() {
        let cases = [
            (Provider::Stripe, "STRIPE"),
            (Provider::Hubspot, "HUBSPOT"),
            (Provider::Quickbooks, "QUICKBOOKS"),
            (Provider::Salesforce, "SALESFORCE"),
            (Provider::Custom, "CUSTOM"),
        ];
        for (provider, s) in cases {
            assert_eq!(provider.as_str(), s);
            assert_eq!(Provider::parse(s), Some(provider));
        }
    }

    #[test]
    fn as_str_parse_round_trip_over_all() {
        for &p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        let mut names: Vec<_> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Provider::ALL.len(), "stored strings must be distinct");
    }

    #[test]
    fn parse_rejects_unknown_strings() {
        for s in ["", "stripe", "Stripe", " STRIPE", "STRIPE ", "XERO", "CUSTOMS"] {
            assert_eq!(Provider::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn provider_name_table() {
        use Provider::*;
        let long100 = "n".repeat(100);
        let long101 = "n".repeat(101);
        let multi100 = "ü".repeat(100);
        let multi101 = "ü".repeat(101);
        let required = "is required when provider is CUSTOM";
        let only_custom = "only allowed when provider is CUSTOM";
        let cases: Vec<(Provider, Option<&str>, Result<&str, &str>)> = vec![
            (Custom, Some("Xero"), Ok("Xero")),
            (Custom, Some("  Xero Books  "), Ok("Xero Books")),
            (Custom, Some(&long100), Ok(&long100)),
            (Custom, Some(&long101), Err("must be at most 100 characters")),
            (Custom, Some(&multi100), Ok(&multi100)),
            (Custom, Some(&multi101), Err("must be at most 100 characters")),
            (Custom, Some("Xe\u{7}ro"), Err("must not contain control characters")),
            (Custom, None, Err(required)),
            (Custom, Some(""), Err(required)),
            (Custom, Some("   "), Err(required)),
            (Stripe, None, Ok("")),
            (Stripe, Some(""), Ok("")),
            (Stripe, Some("  "), Ok("")),
            (Stripe, Some("My Stripe"), Err(only_custom)),
            (Hubspot, None, Ok("")),
            (Hubspot, Some("x"), Err(only_custom)),
            (Quickbooks, None, Ok("")),
            (Quickbooks, Some("x"), Err(only_custom)),
            (Salesforce, None, Ok("")),
            (Salesforce, Some("x"), Err(only_custom)),
        ];
        for (provider, name, want) in cases {
            let got = validate_provider_name("input.providerName", provider, name);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{provider:?} {name:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, w, "{provider:?} {name:?}");
                    assert_eq!(e.field, "input.providerName");
                }
                (got, want) => panic!("{provider:?} {name:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn provider_entity_id_table() {
        let cases: Vec<(String, Result<String, &str>)> = vec![
            ("cus_NffrFeUfNV2Hib".into(), Ok("cus_NffrFeUfNV2Hib".into())),
            (" 0012345 ".into(), Ok("0012345".into())),
            ("".into(), Err("must not be empty")),
            (" \t ".into(), Err("must not be empty")),
            ("i".repeat(255), Ok("i".repeat(255))),
            ("i".repeat(256), Err("must be at most 255 characters")),
            ("é".repeat(255), Ok("é".repeat(255))),
            ("é".repeat(256), Err("must be at most 255 characters")),
            ("a\u{0}b".into(), Err("must not contain control characters")),
        ];
        for (value, want) in cases {
            let got = validate_provider_entity_id("input.providerEntityId", &value);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{value:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, w, "{value:?}");
                    assert_eq!(e.field, "input.providerEntityId");
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
