//! Rules for what a tenant prints about itself on its documents.

use crate::domain::validation::{ValidationError, check_max_chars, required_text};

pub const MAX_DISPLAY_NAME_CHARS: usize = 255;
pub const MAX_LOGO_URL_CHARS: usize = 2048;
pub const MAX_INVOICE_FOOTER_CHARS: usize = 2000;

pub fn validate_display_name(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_DISPLAY_NAME_CHARS)
}

/// An absolute https URL: documents are opened by customers' browsers,
/// which block mixed content and must never be pointed at a local file.
pub fn validate_logo_url(field: &str, value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    check_max_chars(field, value, MAX_LOGO_URL_CHARS)?;
    let url = url::Url::parse(value).map_err(|_| ValidationError::new(field, "must be an absolute https URL"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(field, "must be an absolute https URL"));
    }
    Ok(url.to_string())
}

/// Free text of several lines (line breaks kept, other control characters
/// refused); blank means none.
pub fn validate_invoice_footer(field: &str, value: &str) -> Result<Option<String>, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    check_max_chars(field, value, MAX_INVOICE_FOOTER_CHARS)?;
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logos_are_absolute_https_urls() {
        let ok = validate_logo_url("u", "https://cdn.example.com/logo.png").unwrap();
        assert_eq!(ok, "https://cdn.example.com/logo.png");
        for bad in [
            "http://example.com/logo.png",
            "/logo.png",
            "file:///etc/passwd",
            "data:image/png;base64,AAAA",
            "https://",
        ] {
            assert!(validate_logo_url("u", bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(
            validate_logo_url("u", &long).unwrap_err().message,
            "must be at most 2048 characters"
        );
    }

    #[test]
    fn footers_keep_their_lines() {
        assert_eq!(
            validate_invoice_footer("f", " Thanks!\nIBAN DE00 ").unwrap().as_deref(),
            Some("Thanks!\nIBAN DE00")
        );
        assert_eq!(validate_invoice_footer("f", "  ").unwrap(), None);
        assert!(validate_invoice_footer("f", "a\u{7}b").is_err());
        assert!(validate_invoice_footer("f", &"x".repeat(2001)).is_err());
        assert!(validate_invoice_footer("f", &"x".repeat(2000)).is_ok());
    }
}
