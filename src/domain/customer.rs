//! Rules for customer fields: identifiers, names, emails and address lines.

use crate::domain::validation::{ValidationError, check_max_chars, check_no_control, required_text};

/// Limit on free-text customer fields; matches the VARCHAR(255) columns.
pub const MAX_TEXT_LEN: usize = 255;

/// RFC 5321 caps a forward path at 256 octets including the angle brackets.
const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// The id the client's own system uses for this customer; it is echoed back
/// verbatim in invoices, so surrounding whitespace is never meaningful.
pub fn validate_external_customer_id(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_TEXT_LEN)
}

pub fn validate_name(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_TEXT_LEN)
}

/// A deliberately conservative address check: it accepts what mail systems
/// deliver in practice and refuses quoted or IP-literal forms, which invoices
/// never need. The domain is lower-cased since DNS is case-insensitive; the
/// local part is kept as sent because some servers treat it case-sensitively.
pub fn validate_email(field: &str, value: &str) -> Result<String, ValidationError> {
    let err = |message: &str| ValidationError::new(field, message);
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(err("must not be empty"));
    }
    check_max_chars(field, trimmed, MAX_EMAIL_LEN)?;

    let mut parts = trimmed.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err("must contain exactly one '@'"));
    };

    let local_len = local.chars().count();
    if local_len == 0 || local_len > MAX_LOCAL_LEN {
        return Err(err("part before '@' must be 1 to 64 characters"));
    }
    if !local.chars().all(|c| c.is_ascii_graphic()) {
        return Err(err(
            "part before '@' may contain only printable ASCII characters without spaces",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(err("part before '@' must not start or end with '.' or contain '..'"));
    }

    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(err("domain must have at least two parts separated by '.'"));
    }
    for label in &labels {
        if label.is_empty() || label.chars().count() > MAX_LABEL_LEN {
            return Err(err("each domain part must be 1 to 63 characters"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(err("domain may contain only letters, digits, '-' and '.'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(err("domain parts must not start or end with '-'"));
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(err("domain must end with a top-level domain of at least 2 letters"));
    }

    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Longest tax id (VAT numbers, EINs, ABNs and the like are far shorter).
pub const MAX_TAX_ID_LEN: usize = 64;

/// A tax id as printed on documents: trimmed, 1 to 64 characters.
pub fn validate_tax_id(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_TAX_ID_LEN)
}

/// Address lines, city, state and postal code are optional: a blank value
/// means "not provided" rather than an error.
pub fn validate_optional_text(field: &str, value: &str) -> Result<Option<String>, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    check_max_chars(field, trimmed, MAX_TEXT_LEN)?;
    check_no_control(field, trimmed)?;
    Ok(Some(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOO_LONG: &str = "must be at most 255 characters";
    const EMPTY: &str = "must not be empty";
    const CONTROL: &str = "must not contain control characters";

    fn check<T: PartialEq + std::fmt::Debug>(
        name: &str,
        f: fn(&str, &str) -> Result<T, ValidationError>,
        cases: Vec<(String, Result<T, &str>)>,
    ) {
        for (value, want) in cases {
            let got = f("input.f", &value);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{name}({value:?})"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, w, "{name}({value:?})");
                    assert_eq!(e.field, "input.f", "{name}({value:?})");
                }
                (got, want) => panic!("{name}({value:?}): got {got:?}, want {want:?}"),
            }
        }
    }

    /// Rules shared by the external id and the name.
    fn required_text_cases() -> Vec<(String, Result<String, &'static str>)> {
        vec![
            ("cus_123".into(), Ok("cus_123".into())),
            ("  cus_123\t".into(), Ok("cus_123".into())),
            ("Acme Inc.".into(), Ok("Acme Inc.".into())),
            ("".into(), Err(EMPTY)),
            ("   ".into(), Err(EMPTY)),
            ("a".repeat(255), Ok("a".repeat(255))),
            ("a".repeat(256), Err(TOO_LONG)),
            (format!("  {}  ", "a".repeat(255)), Ok("a".repeat(255))),
            // Multi-byte characters count once each.
            ("é".repeat(255), Ok("é".repeat(255))),
            ("é".repeat(256), Err(TOO_LONG)),
            ("🦀".repeat(255), Ok("🦀".repeat(255))),
            ("Zoë Müller".into(), Ok("Zoë Müller".into())),
            ("a\u{0}b".into(), Err(CONTROL)),
            ("a\nb".into(), Err(CONTROL)),
            ("a\u{7f}".into(), Err(CONTROL)),
        ]
    }

    #[test]
    fn external_customer_id_table() {
        check(
            "validate_external_customer_id",
            validate_external_customer_id,
            required_text_cases(),
        );
    }

    #[test]
    fn name_table() {
        check("validate_name", validate_name, required_text_cases());
    }

    #[test]
    fn optional_text_table() {
        let cases: Vec<(String, Result<Option<String>, &str>)> = vec![
            ("".into(), Ok(None)),
            ("   ".into(), Ok(None)),
            ("\t\n".into(), Ok(None)),
            ("1 Main St".into(), Ok(Some("1 Main St".into()))),
            ("  Paris ".into(), Ok(Some("Paris".into()))),
            ("São Paulo".into(), Ok(Some("São Paulo".into()))),
            ("a".repeat(255), Ok(Some("a".repeat(255)))),
            ("a".repeat(256), Err(TOO_LONG)),
            ("ß".repeat(255), Ok(Some("ß".repeat(255)))),
            ("ß".repeat(256), Err(TOO_LONG)),
            ("line\rbreak".into(), Err(CONTROL)),
        ];
        check("validate_optional_text", validate_optional_text, cases);
    }

    #[test]
    fn email_valid_table() {
        let label63 = "d".repeat(63);
        let cases: Vec<(String, String)> = vec![
            ("a@b.co".into(), "a@b.co".into()),
            ("  jane@example.com ".into(), "jane@example.com".into()),
            ("Jane.Doe@Example.COM".into(), "Jane.Doe@example.com".into()),
            (
                "first.last+tag@mail.example.org".into(),
                "first.last+tag@mail.example.org".into(),
            ),
            ("o'brien@example.ie".into(), "o'brien@example.ie".into()),
            (
                "x_y-z!#$%&*/=?^`{|}~@ex-ample.io".into(),
                "x_y-z!#$%&*/=?^`{|}~@ex-ample.io".into(),
            ),
            ("u@123.example.com".into(), "u@123.example.com".into()),
            (
                format!("{}@example.com", "l".repeat(64)),
                format!("{}@example.com", "l".repeat(64)),
            ),
            (format!("u@{label63}.com"), format!("u@{label63}.com")),
        ];
        for (value, want) in cases {
            assert_eq!(validate_email("input.email", &value), Ok(want), "{value:?}");
        }
    }

    #[test]
    fn email_length_boundary() {
        // 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 characters exactly.
        let domain = format!("{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(61));
        let at_limit = format!("{}@{domain}", "l".repeat(64));
        assert_eq!(at_limit.len(), 254);
        assert_eq!(validate_email("input.email", &at_limit), Ok(at_limit.clone()));

        let over = format!("{}@{domain}x", "l".repeat(64));
        assert_eq!(over.len(), 255);
        assert_eq!(
            validate_email("input.email", &over),
            Err(ValidationError::new("input.email", "must be at most 254 characters"))
        );
    }

    #[test]
    fn email_invalid_table() {
        let one_at = "must contain exactly one '@'";
        let local_len = "part before '@' must be 1 to 64 characters";
        let local_chars = "part before '@' may contain only printable ASCII characters without spaces";
        let local_dots = "part before '@' must not start or end with '.' or contain '..'";
        let two_labels = "domain must have at least two parts separated by '.'";
        let label_len = "each domain part must be 1 to 63 characters";
        let label_chars = "domain may contain only letters, digits, '-' and '.'";
        let hyphen = "domain parts must not start or end with '-'";
        let tld = "domain must end with a top-level domain of at least 2 letters";
        let cases: Vec<(String, &str)> = vec![
            ("".into(), EMPTY),
            ("   ".into(), EMPTY),
            ("plainaddress".into(), one_at),
            ("a@b@example.com".into(), one_at),
            ("@example.com".into(), local_len),
            (format!("{}@example.com", "l".repeat(65)), local_len),
            ("jane doe@example.com".into(), local_chars),
            ("jané@example.com".into(), local_chars),
            ("a\u{1}b@example.com".into(), local_chars),
            (".jane@example.com".into(), local_dots),
            ("jane.@example.com".into(), local_dots),
            ("ja..ne@example.com".into(), local_dots),
            ("jane@".into(), two_labels),
            ("jane@localhost".into(), two_labels),
            ("jane@.example.com".into(), label_len),
            ("jane@example..com".into(), label_len),
            ("jane@example.com.".into(), label_len),
            (format!("jane@{}.com", "d".repeat(64)), label_len),
            ("jane@exa_mple.com".into(), label_chars),
            ("jane@exämple.com".into(), label_chars),
            ("jane@exa mple.com".into(), label_chars),
            ("jane@[127.0.0.1]".into(), label_chars),
            ("jane@-example.com".into(), hyphen),
            ("jane@example-.com".into(), hyphen),
            ("jane@example.c".into(), tld),
            ("jane@example.c0m".into(), tld),
            ("jane@127.0.0.1".into(), tld),
            ("jane@example.123".into(), tld),
        ];
        for (value, want) in cases {
            assert_eq!(
                validate_email("input.email", &value),
                Err(ValidationError::new("input.email", want)),
                "{value:?}"
            );
        }
    }

    proptest! {
        // Storing a validated value and validating it again must not change it,
        // otherwise an update that resends the same value would alter data.
        #[test]
        fn name_is_idempotent(s in "\\PC{0,300}") {
            if let Ok(once) = validate_name("f", &s) {
                prop_assert_eq!(validate_name("f", &once), Ok(once.clone()));
            }
        }

        #[test]
        fn email_is_idempotent(s in "[a-zA-Z0-9.+_-]{0,10}@[a-zA-Z0-9.-]{0,20}") {
            if let Ok(once) = validate_email("f", &s) {
                prop_assert_eq!(validate_email("f", &once), Ok(once.clone()));
            }
        }
    }
}
