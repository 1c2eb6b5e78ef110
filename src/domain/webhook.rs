//! Webhook rules without I/O: endpoint inputs, signing secrets and
//! signatures (Standard Webhooks), the retry schedule, and when a failing
//! endpoint is given up on.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::ValidationError;
use crate::domain::outbox::EventType;
use crate::domain::stored::stored_enum;
use crate::domain::validation::{check_max_chars, check_no_control};

stored_enum! {
    /// Whether an endpoint receives deliveries.
    pub enum EndpointStatus {
        Enabled = "ENABLED",
        /// Switched off by the user.
        Disabled = "DISABLED",
        /// Switched off by billgraph after failing for [`FAILING_DISABLE_AFTER`].
        FailingDisabled = "FAILING_DISABLED",
    }
}

stored_enum! {
    /// Where one delivery (an event for an endpoint) stands.
    pub enum DeliveryStatus {
        Pending = "PENDING",
        Succeeded = "SUCCEEDED",
        /// Every attempt of the schedule failed.
        Failed = "FAILED",
    }
}

stored_enum! {
    /// How one attempt went.
    pub enum AttemptOutcome {
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
    }
}

/// Subscribes an endpoint to every event type, present and future.
pub const ALL_EVENT_TYPES: &str = "*";
/// Longest endpoint URL, in characters.
pub const MAX_URL_CHARS: usize = 2000;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// An endpoint whose attempts have all failed for this long is disabled.
pub const FAILING_DISABLE_AFTER: TimeDelta = TimeDelta::days(5);
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// Random bytes in a signing secret (the specification allows 24 to 64).
pub const SECRET_BYTES: usize = 32;
const SECRET_PREFIX: &str = "whsec_";

/// The event types an endpoint asked for: a non-empty list of known types
/// (duplicates dropped, in the order of [`EventType::ALL`]), or `["*"]`
/// alone for all of them.
pub fn validate_event_types(field: &str, types: &[String]) -> Result<Vec<String>, ValidationError> {
    if types.is_empty() {
        return Err(ValidationError::new(
            field,
            "must name at least one event type, or \"*\" for all",
        ));
    }
    if types.iter().any(|t| t.trim() == ALL_EVENT_TYPES) {
        if types.len() > 1 {
            return Err(ValidationError::new(
                field,
                "\"*\" (all event types) must be the only entry",
            ));
        }
        return Ok(vec![ALL_EVENT_TYPES.to_string()]);
    }
    let mut chosen = BTreeSet::new();
    for name in types {
        let parsed: EventType = name
            .trim()
            .parse()
            .map_err(|_| ValidationError::new(field, format!("unknown event type {name:?}")))?;
        chosen.insert(parsed);
    }
    Ok(chosen.into_iter().map(|t| t.as_str().to_string()).collect())
}

/// An optional description: blank means none.
pub fn validate_description(field: &str, text: &str) -> Result<Option<String>, ValidationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    check_max_chars(field, trimmed, MAX_DESCRIPTION_CHARS)?;
    check_no_control(field, trimmed)?;
    Ok(Some(trimmed.to_string()))
}

/// A URL deliveries may be sent to: https (or http when private targets are
/// allowed, for receivers on the local machine), a host, no credentials, no
/// fragment. Where the host points is checked separately, on resolution.
pub fn validate_url(field: &str, raw: &str, allow_private: bool) -> Result<url::Url, ValidationError> {
    let raw = raw.trim();
    check_max_chars(field, raw, MAX_URL_CHARS)?;
    let url = url::Url::parse(raw).map_err(|e| ValidationError::new(field, format!("is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(ValidationError::new(field, "must be an https URL")),
    }
    if url.host().is_none() {
        return Err(ValidationError::new(field, "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(field, "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(ValidationError::new(field, "must not have a fragment"));
    }
    Ok(url)
}

/// A new signing secret from `random` bytes: `whsec_` and their base64.
pub fn format_secret(random: &[u8; SECRET_BYTES]) -> String {
    format!("{SECRET_PREFIX}{}", BASE64.encode(random))
}

/// The HMAC key of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    BASE64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// One `v1,<base64>` signature: HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// keyed by the secret's bytes.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret_key(secret)?).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per live secret,
/// space-separated, so receivers holding either secret accept the message.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let signatures: Option<Vec<String>> = secrets.iter().map(|s| signature(s, id, timestamp, body)).collect();
    Some(signatures?.join(" "))
}

/// Waits after each failed attempt: the nth entry follows attempt n+1.
/// After the last one the delivery fails; together they span 3.15 days
/// before jitter (which only lengthens them).
const RETRY_DELAYS: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Attempts a delivery gets before it fails.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS.len() as u32 + 1;

/// The wait after failed attempt `attempt` (1-based), stretched by up to
/// 10% by `jitter` (in [0, 1)) so retries of many deliveries spread out;
/// None when that was the last attempt.
pub fn retry_delay(attempt: u32, jitter: f64) -> Option<Duration> {
    let base = *RETRY_DELAYS.get(usize::try_from(attempt.checked_sub(1)?).ok()?)?;
    Some(base.mul_f64(1.0 + 0.1 * jitter.clamp(0.0, 1.0)))
}

/// Whether an endpoint failing since `failing_since` is given up on at `now`.
pub fn should_disable(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= FAILING_DISABLE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn event_types_are_known_types_or_the_wildcard_alone() {
        assert_eq!(
            validate_event_types("t", &strings(&["invoice.paid", "customer.created", "invoice.paid"])).unwrap(),
            strings(&["customer.created", "invoice.paid"])
        );
        assert_eq!(validate_event_types("t", &strings(&["*"])).unwrap(), strings(&["*"]));
        let err = validate_event_types("t", &strings(&["customer.created", "customer.deleted"])).unwrap_err();
        assert!(err.message.contains("\"customer.deleted\""), "{err}");
        assert!(validate_event_types("t", &[]).is_err());
        assert!(validate_event_types("t", &strings(&["*", "invoice.paid"])).is_err());
    }

    #[test]
    fn urls_must_be_https_with_a_host_and_no_credentials() {
        assert!(validate_url("u", "https://hooks.example.com/billgraph", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "not a url",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#x",
            "file:///etc/passwd",
        ] {
            assert!(validate_url("u", bad, false).is_err(), "{bad}");
        }
        assert!(validate_url("u", "http://127.0.0.1:9000/", true).is_ok());
        assert!(validate_url("u", &format!("https://x.com/{}", "a".repeat(MAX_URL_CHARS)), false).is_err());
    }

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signatures_match_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(signature("whsec_!!!", "id", 1, b""), None);
        assert_eq!(signature("sk_nope", "id", 1, b""), None);
    }

    #[test]
    fn a_rotated_header_carries_both_signatures() {
        let old = format_secret(&[1; SECRET_BYTES]);
        let new = format_secret(&[2; SECRET_BYTES]);
        let header = signature_header(&[&new, &old], "e", 7, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                signature(&new, "e", 7, b"{}").unwrap(),
                signature(&old, "e", 7, b"{}").unwrap()
            ]
        );
        assert_eq!(secret_key(&new).unwrap(), vec![2; SECRET_BYTES]);
    }

    #[test]
    fn the_schedule_retries_for_more_than_three_days_then_stops() {
        let span = |jitter: f64| {
            (1..MAX_ATTEMPTS)
                .map(|a| retry_delay(a, jitter).unwrap())
                .sum::<Duration>()
        };
        assert!(span(0.0) >= Duration::from_secs(3 * 24 * 3600), "{:?}", span(0.0));
        assert!(span(0.999) < Duration::from_secs(4 * 24 * 3600), "{:?}", span(0.999));
        assert_eq!(retry_delay(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(MAX_ATTEMPTS, 0.0), None);
        assert_eq!(retry_delay(0, 0.0), None);
        assert_eq!(MAX_ATTEMPTS, 10);
    }

    proptest! {
        #[test]
        fn backoff_grows_and_jitter_only_lengthens(attempt in 1u32..10, jitter in 0.0f64..1.0) {
            let base = retry_delay(attempt, 0.0).unwrap();
            let jittered = retry_delay(attempt, jitter).unwrap();
            prop_assert!(jittered >= base);
            prop_assert!(jittered <= base.mul_f64(1.1));
            if let Some(next) = retry_delay(attempt + 1, 0.0) {
                prop_assert!(next >= base);
            }
        }
    }

    #[test]
    fn endpoints_are_disabled_after_five_days_of_failures() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(!should_disable(None, t0));
        assert!(!should_disable(
            Some(t0),
            t0 + TimeDelta::days(5) - TimeDelta::seconds(1)
        ));
        assert!(should_disable(Some(t0), t0 + TimeDelta::days(5)));
    }
}
