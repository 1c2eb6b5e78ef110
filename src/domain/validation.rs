//! The error every rule returns, plus the text checks shared by several rules.

/// A rule broken by one input field. `field` is the GraphQL input path the
/// client sent (e.g. `input.email`), so the client can point at the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Rejects text longer than `max` characters (not bytes, so non-ASCII
/// names get the same allowance as ASCII ones).
pub(crate) fn check_max_chars(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// Control characters are invisible in dashboards and break CSV exports.
pub(crate) fn check_no_control(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// Trimmed, non-empty, at most `max` characters, no control characters.
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    check_max_chars(field, trimmed, max)?;
    check_no_control(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// Longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// An idempotency key: kept exactly as sent (keys are opaque), but never
/// blank, overlong or with control characters.
pub(crate) fn validate_idempotency_key(field: &str, key: &str) -> Result<String, ValidationError> {
    if key.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    check_max_chars(field, key, MAX_IDEMPOTENCY_KEY_CHARS)?;
    check_no_control(field, key)?;
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_field_and_message() {
        let err = ValidationError::new("input.email", "must not be empty");
        assert_eq!(err.to_string(), "input.email: must not be empty");
        assert_eq!(err.field, "input.email");
        assert_eq!(err.message, "must not be empty");
    }

    #[test]
    fn check_max_chars_counts_characters() {
        let cases: &[(&str, usize, bool)] = &[
            ("", 0, true),
            ("abc", 3, true),
            ("abcd", 3, false),
            ("ééé", 3, true),
            ("éééé", 3, false),
            ("日本語", 3, true),
            ("🦀🦀🦀🦀", 3, false),
        ];
        for &(value, max, ok) in cases {
            let got = check_max_chars("f", value, max);
            assert_eq!(got.is_ok(), ok, "{value:?} max {max}");
            if let Err(e) = got {
                assert_eq!(e.message, format!("must be at most {max} characters"));
                assert_eq!(e.field, "f");
            }
        }
    }

    #[test]
    fn check_no_control_table() {
        let cases: &[(&str, bool)] = &[
            ("plain", true),
            ("with space", true),
            ("tab\there", false),
            ("new\nline", false),
            ("nul\0", false),
            ("del\u{7f}", false),
            ("c1\u{85}", false),
            ("émoji 🦀", true),
        ];
        for &(value, ok) in cases {
            assert_eq!(check_no_control("f", value).is_ok(), ok, "{value:?}");
        }
    }

    #[test]
    fn required_text_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("abc", Ok("abc")),
            ("  abc  ", Ok("abc")),
            ("a b", Ok("a b")),
            ("", Err("must not be empty")),
            ("   ", Err("must not be empty")),
            ("\t\n", Err("must not be empty")),
            ("abcde", Ok("abcde")),
            ("abcdef", Err("must be at most 5 characters")),
            (" abcde ", Ok("abcde")),
            ("a\u{1}b", Err("must not contain control characters")),
        ];
        for (value, want) in cases {
            let got = required_text("input.x", value, 5);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{value:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.message, *w, "{value:?}");
                    assert_eq!(e.field, "input.x");
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
