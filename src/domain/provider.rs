//! Rules for collecting money through a payment provider: how invoices are
//! collected, the amounts a provider takes (integers of minor units), when a
//! declined payment is tried again, and what of a connection may be shown.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::money::Currency;
use super::stored::stored_enum;
use super::validation::ValidationError;

stored_enum! {
    /// How a payer's invoices are collected.
    pub enum CollectionMethod {
        /// The payment provider charges the saved default card when the
        /// invoice is finalized.
        ChargeAutomatically = "CHARGE_AUTOMATICALLY",
        /// The customer is sent the invoice and pays it themselves.
        SendInvoice = "SEND_INVOICE",
    }
}

stored_enum! {
    pub enum ProviderKind {
        Stripe = "STRIPE",
    }
}

stored_enum! {
    /// Work the provider worker sends to the provider.
    pub enum TaskKind {
        SyncCustomer = "SYNC_CUSTOMER",
        ChargeInvoice = "CHARGE_INVOICE",
        Refund = "REFUND",
    }
}

stored_enum! {
    pub enum AttemptStatus {
        /// Sent, or about to be; the provider has not answered yet.
        Pending = "PENDING",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
        /// The card issuer wants the customer to authenticate.
        RequiresAction = "REQUIRES_ACTION",
    }
}

impl AttemptStatus {
    /// Whether the provider's answer is still awaited: only then may a
    /// report of success or failure change the attempt.
    pub fn is_open(self) -> bool {
        matches!(self, AttemptStatus::Pending | AttemptStatus::RequiresAction)
    }
}

/// An amount as providers take it: an integer count of the currency's minor
/// units (1234 for 12.34 USD, 1234 for 1234 JPY, 1234 for 1.234 KWD). None
/// when the amount is not a whole number of minor units or does not fit.
pub fn to_minor_units(amount: Decimal, currency: Currency) -> Option<i64> {
    let scaled = amount.checked_mul(Decimal::from(10i64.pow(currency.minor_units())))?;
    if !scaled.fract().is_zero() {
        return None;
    }
    i64::try_from(scaled.trunc()).ok()
}

/// The amount of `minor` minor units of `currency`.
pub fn from_minor_units(minor: i64, currency: Currency) -> Decimal {
    Decimal::new(minor, currency.minor_units())
}

/// When attempt `failed_attempt` (1-based) having failed, the next one runs:
/// `days[n - 1]` days after the first failure, or None when the schedule is
/// spent and the invoice is left open.
pub fn next_retry_at(first_failure: DateTime<Utc>, failed_attempt: i32, days: &[u32]) -> Option<DateTime<Utc>> {
    let index = usize::try_from(failed_attempt - 1).ok()?;
    let days = *days.get(index)?;
    first_failure.checked_add_signed(Duration::days(i64::from(days)))
}

/// The retry schedule from its setting: days after the first failure,
/// comma-separated and increasing ("1,3,5"); "" means no retries.
pub fn parse_retry_days(text: &str) -> Result<Vec<u32>, String> {
    let mut days = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let day: u32 = part
            .parse()
            .map_err(|_| format!("{part:?} is not a whole number of days"))?;
        if day == 0 || days.last().is_some_and(|last| *last >= day) {
            return Err("days must be positive and increasing, e.g. 1,3,5".into());
        }
        days.push(day);
    }
    Ok(days)
}

/// Delay before running a task again after its `tries`-th transient
/// failure: 30 s doubling, at most an hour, so an outage delays work
/// without losing it or hammering the provider.
pub fn task_backoff(tries: i32) -> Duration {
    let exponent = tries.clamp(1, 8) - 1;
    Duration::seconds((30i64 << exponent).min(3600))
}

/// A secret key shown as its kind and last four characters
/// ("sk_test_…1234"): enough to tell keys apart, useless to anyone else.
pub fn key_hint(key: &str) -> String {
    let kind = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{kind}…{tail}")
}

const MAX_SECRET_CHARS: usize = 500;

/// A provider secret: required, printable, no blanks.
pub fn validate_secret(field: &str, value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_SECRET_CHARS || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new(field, "is not a valid secret"));
    }
    Ok(value.to_string())
}

/// The provider's API address: an http(s) URL without query or fragment,
/// kept without its trailing slash.
pub fn validate_api_base(field: &str, value: &str) -> Result<String, ValidationError> {
    let url = reqwest::Url::parse(value.trim()).map_err(|_| ValidationError::new(field, "must be an http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ValidationError::new(field, "must be an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(
            field,
            "must not carry credentials, a query or a fragment",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn currency(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    #[test]
    fn minor_units_follow_the_currency() {
        let cases = [
            (d("12.34"), "USD", Some(1234)),
            (d("12.3"), "USD", Some(1230)),
            (d("1234"), "JPY", Some(1234)),
            (d("1.234"), "KWD", Some(1234)),
            (d("0.001"), "USD", None),
            (d("0.5"), "JPY", None),
        ];
        for (amount, code, want) in cases {
            assert_eq!(to_minor_units(amount, currency(code)), want, "{amount} {code}");
            if let Some(minor) = want {
                assert_eq!(from_minor_units(minor, currency(code)), amount);
            }
        }
    }

    #[test]
    fn retries_follow_the_schedule_from_the_first_failure() {
        let first = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let days = [1, 3, 5];
        assert_eq!(next_retry_at(first, 1, &days), Some(first + Duration::days(1)));
        assert_eq!(next_retry_at(first, 2, &days), Some(first + Duration::days(3)));
        assert_eq!(next_retry_at(first, 3, &days), Some(first + Duration::days(5)));
        assert_eq!(next_retry_at(first, 4, &days), None);
        assert_eq!(next_retry_at(first, 1, &[]), None);
    }

    #[test]
    fn retry_days_parse_and_must_increase() {
        assert_eq!(parse_retry_days("1,3,5").unwrap(), vec![1, 3, 5]);
        assert_eq!(parse_retry_days(" 2 , 7 ").unwrap(), vec![2, 7]);
        assert!(parse_retry_days("").unwrap().is_empty());
        assert!(parse_retry_days("3,1").is_err());
        assert!(parse_retry_days("0").is_err());
        assert!(parse_retry_days("x").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(task_backoff(1), Duration::seconds(30));
        assert_eq!(task_backoff(2), Duration::seconds(60));
        assert_eq!(task_backoff(50), Duration::seconds(3600));
    }

    #[test]
    fn key_hints_show_kind_and_last_four() {
        assert_eq!(key_hint("sk_test_abcdef1234"), "sk_test_…1234");
        assert_eq!(key_hint("sk_live_zz9876"), "sk_live_…9876");
        assert_eq!(key_hint("abc"), "…abc");
    }

    #[test]
    fn api_bases_are_http_urls() {
        assert_eq!(
            validate_api_base("f", "https://api.stripe.com/").unwrap(),
            "https://api.stripe.com"
        );
        assert_eq!(
            validate_api_base("f", "http://127.0.0.1:8420").unwrap(),
            "http://127.0.0.1:8420"
        );
        for bad in ["ftp://x", "not a url", "https://u:p@x", "https://x/?a=1", "file:///etc"] {
            assert!(validate_api_base("f", bad).is_err(), "{bad}");
        }
    }
}
