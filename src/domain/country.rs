//! Country codes, checked against ISO 3166-1 so invoices and tax rules can
//! rely on them.

use crate::domain::validation::ValidationError;

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted so lookups can
/// use a binary search. Reserved and user-assigned codes (e.g. "XK", "EU")
/// are left out on purpose: tax engines reject them.
const ALPHA2_CODES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// Accepts any case and surrounding whitespace; returns the upper-case code.
pub fn validate_country_code(field: &str, value: &str) -> Result<String, ValidationError> {
    let code = value.trim().to_uppercase();
    if code.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if ALPHA2_CODES.binary_search(&code.as_str()).is_err() {
        // Debug formatting quotes the value and escapes anything unprintable.
        return Err(ValidationError::new(
            field,
            format!("{code:?} is not an ISO 3166-1 alpha-2 country code"),
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_list_is_sorted_unique_and_complete() {
        assert_eq!(ALPHA2_CODES.len(), 249);
        assert!(ALPHA2_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ALPHA2_CODES
                .iter()
                .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))
        );
    }

    #[test]
    fn every_listed_code_is_accepted_in_any_case() {
        for code in ALPHA2_CODES {
            assert_eq!(validate_country_code("f", code).as_deref(), Ok(*code));
            let lower = code.to_lowercase();
            assert_eq!(validate_country_code("f", &lower).as_deref(), Ok(*code));
        }
    }

    #[test]
    fn country_code_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("US", Ok("US")),
            ("us", Ok("US")),
            ("uS", Ok("US")),
            ("  fr ", Ok("FR")),
            ("gb", Ok("GB")),
            ("AD", Ok("AD")),
            ("ZW", Ok("ZW")),
            ("", Err("must not be empty")),
            ("   ", Err("must not be empty")),
            ("XX", Err("\"XX\" is not an ISO 3166-1 alpha-2 country code")),
            ("xx", Err("\"XX\" is not an ISO 3166-1 alpha-2 country code")),
            ("UK", Err("\"UK\" is not an ISO 3166-1 alpha-2 country code")),
            ("XK", Err("\"XK\" is not an ISO 3166-1 alpha-2 country code")),
            ("EU", Err("\"EU\" is not an ISO 3166-1 alpha-2 country code")),
            ("AA", Err("\"AA\" is not an ISO 3166-1 alpha-2 country code")),
            ("ZZ", Err("\"ZZ\" is not an ISO 3166-1 alpha-2 country code")),
            ("U", Err("\"U\" is not an ISO 3166-1 alpha-2 country code")),
            ("USA", Err("\"USA\" is not an ISO 3166-1 alpha-2 country code")),
            ("U S", Err("\"U S\" is not an ISO 3166-1 alpha-2 country code")),
            ("1A", Err("\"1A\" is not an ISO 3166-1 alpha-2 country code")),
        ];
        for (value, want) in cases {
            let got = validate_country_code("input.country", value);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{value:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, *w, "{value:?}");
                    assert_eq!(e.field, "input.country");
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
