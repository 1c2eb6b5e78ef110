//! Hosted document links: an unguessable, expiring token that names one
//! invoice or credit note of one tenant, so its recipient can open it
//! without an API key.
//!
//! The token is `base64url(payload || mac)`, where the payload is a
//! version byte, the document kind, the tenant id, the document id and the
//! expiry (Unix seconds, big-endian), and the mac is the first 16 bytes of
//! HMAC-SHA256 over the payload under the server's link key. Nothing is
//! stored: a token proves itself, altering any byte of it breaks the mac,
//! and it names exactly one document, so it can never open another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

const VERSION: u8 = 1;
const PAYLOAD_BYTES: usize = 1 + 1 + 16 + 16 + 8;
const MAC_BYTES: usize = 16;

/// Which kind of document a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedDocument {
    Invoice,
    CreditNote,
}

impl LinkedDocument {
    fn byte(self) -> u8 {
        match self {
            LinkedDocument::Invoice => 1,
            LinkedDocument::CreditNote => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(LinkedDocument::Invoice),
            2 => Some(LinkedDocument::CreditNote),
            _ => None,
        }
    }
}

/// What a link grants: one document of one tenant, until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaims {
    pub document: LinkedDocument,
    pub tenant_id: Uuid,
    pub document_id: Uuid,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a link was refused. Callers show all of them the same way (not
/// found), so a link reveals nothing about why it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a token this server makes: wrong length, encoding or version.
    Malformed,
    /// The mac does not match: altered, or made under another key.
    Forged,
    /// Past its expiry.
    Expired,
}

fn mac(key: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload);
    mac
}

/// The token for `claims` under `key`.
pub fn sign(key: &[u8; 32], claims: &LinkClaims) -> String {
    let mut bytes = Vec::with_capacity(PAYLOAD_BYTES + MAC_BYTES);
    bytes.push(VERSION);
    bytes.push(claims.document.byte());
    bytes.extend_from_slice(claims.tenant_id.as_bytes());
    bytes.extend_from_slice(claims.document_id.as_bytes());
    bytes.extend_from_slice(&claims.expires_at.to_be_bytes());
    let tag = mac(key, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..MAC_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of `token` if it was made under `key` and has not expired at
/// `now` (Unix seconds). The mac is checked in constant time.
pub fn verify(key: &[u8; 32], token: &str, now: i64) -> Result<LinkClaims, LinkRefusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| LinkRefusal::Malformed)?;
    if bytes.len() != PAYLOAD_BYTES + MAC_BYTES || bytes[0] != VERSION {
        return Err(LinkRefusal::Malformed);
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_BYTES);
    mac(key, payload)
        .verify_truncated_left(tag)
        .map_err(|_| LinkRefusal::Forged)?;
    let document = LinkedDocument::from_byte(payload[1]).ok_or(LinkRefusal::Malformed)?;
    let id = |range: std::ops::Range<usize>| Uuid::from_slice(&payload[range]).map_err(|_| LinkRefusal::Malformed);
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&payload[34..42]);
    let claims = LinkClaims {
        document,
        tenant_id: id(2..18)?,
        document_id: id(18..34)?,
        expires_at: i64::from_be_bytes(expiry),
    };
    if now >= claims.expires_at {
        return Err(LinkRefusal::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [7; 32];

    fn claims() -> LinkClaims {
        LinkClaims {
            document: LinkedDocument::Invoice,
            tenant_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            document_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002),
            expires_at: 1_800_000_000,
        }
    }

    #[test]
    fn a_token_opens_what_it_names_until_it_expires() {
        let token = sign(&KEY, &claims());
        assert_eq!(token.len(), 78, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(verify(&KEY, &token, 1_799_999_999), Ok(claims()));
        assert_eq!(verify(&KEY, &token, 1_800_000_000), Err(LinkRefusal::Expired));
        let note = LinkClaims {
            document: LinkedDocument::CreditNote,
            ..claims()
        };
        assert_eq!(
            verify(&KEY, &sign(&KEY, &note), 0).unwrap().document,
            LinkedDocument::CreditNote
        );
    }

    #[test]
    fn another_key_or_garbage_is_refused() {
        let token = sign(&KEY, &claims());
        assert_eq!(verify(&[8; 32], &token, 0), Err(LinkRefusal::Forged));
        for bad in ["", "abc", "!!!!", &token[..77], &format!("{token}A")] {
            assert_eq!(verify(&KEY, bad, 0), Err(LinkRefusal::Malformed), "{bad:?}");
        }
    }

    proptest! {
        /// Changing any one character of a token (to another base64url
        /// character) never yields a token that opens anything.
        #[test]
        fn every_altered_token_is_refused(position in 0usize..78, replacement in "[A-Za-z0-9_-]") {
            let token = sign(&KEY, &claims());
            let mut altered: Vec<char> = token.chars().collect();
            let new = replacement.chars().next().unwrap();
            prop_assume!(altered[position] != new);
            altered[position] = new;
            let altered: String = altered.into_iter().collect();
            prop_assert!(verify(&KEY, &altered, 0).is_err());
        }
    }
}
