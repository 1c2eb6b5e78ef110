//! Stripe's webhook signatures: `Stripe-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "{t}.{raw body}">` (several v1 entries while a secret
//! rolls), accepted within a tolerance of the timestamp.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Stripe's own default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

/// Whether `header` signs `body` with `secret` at a time within the
/// tolerance of `now` (unix seconds). Comparison is constant-time.
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> bool {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse().ok(),
            Some(("v1", sig)) => signatures.extend(hex::decode(sig).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    signatures
        .iter()
        .any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok())
}

/// The header Stripe would send for `body` at `timestamp`.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_fresh_signature_verifies() {
        let header = sign(b"{}", SECRET, NOW);
        assert!(verify(&header, b"{}", SECRET, NOW + 10));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign(b"{}", SECRET, NOW);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={},v1={v1},v0=abc", "00".repeat(32));
        assert!(verify(&header, b"{}", SECRET, NOW));
    }

    #[test]
    fn forged_stale_or_malformed_signatures_fail() {
        let header = sign(b"{}", SECRET, NOW);
        assert!(!verify(&header, b"{ }", SECRET, NOW), "other body");
        assert!(!verify(&header, b"{}", "whsec_other", NOW), "other secret");
        assert!(!verify(&header, b"{}", SECRET, NOW + TOLERANCE_SECS + 1), "stale");
        assert!(
            !verify(&header, b"{}", SECRET, NOW - TOLERANCE_SECS - 1),
            "from the future"
        );
        assert!(!verify("v1=abc", b"{}", SECRET, NOW), "no timestamp");
        assert!(!verify(&format!("t={NOW}"), b"{}", SECRET, NOW), "no signature");
        assert!(!verify("", b"{}", SECRET, NOW));
    }

    /// The signature of Python's reference computation
    /// (`hmac.new(b"whsec_test", b"1800000000.{}", hashlib.sha256).hexdigest()`).
    #[test]
    fn matches_the_reference_computation() {
        assert_eq!(sign(b"{}", SECRET, NOW), format!("t={NOW},v1={}", REFERENCE));
    }

    const REFERENCE: &str = "482e6337ac5272392d375c6fdc4d52a7e615dc2facedab0ffe155ddfd6a56e66";
}
