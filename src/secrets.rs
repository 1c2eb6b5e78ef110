//! Secrets at rest: payment-provider keys and webhook signing secrets are
//! stored sealed with AES-256-GCM under one server key, so a copy of the
//! database alone reveals none of them.
//!
//! The key comes from BILLGRAPH_SECRET_KEY (base64 of 32 bytes) or, when
//! that is unset, from `secret.key` in the data folder, generated on first
//! start. Losing the key loses the sealed secrets (connections must then be
//! made again), so back it up with the database.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngExt;

use crate::config::Config;
use crate::error::{AppError, AppResult};

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const KEY_FILE: &str = "secret.key";

/// A key for test servers, which share one database between instances.
pub const TEST_KEY: &str = "dGVzdC1rZXktZm9yLWJpbGxncmFwaC10ZXN0cy0zMmI=";

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Signs hosted document links; derived from the key, so rotating the
    /// key also ends every link.
    link_key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8; KEY_BYTES]) -> Self {
        use hmac::{Hmac, Mac};
        // A key of its own for links: a sealing key is never used to sign.
        let mut derive =
            <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        derive.update(b"billgraph hosted document links v1");
        SecretBox {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
            link_key: derive.finalize().into_bytes().into(),
        }
    }

    /// The key hosted document links are signed with.
    pub fn link_key(&self) -> &[u8; KEY_BYTES] {
        &self.link_key
    }

    /// The box for this server: the configured key, else the data folder's.
    pub fn for_config(config: &Config) -> anyhow::Result<Self> {
        match &config.secret_key {
            Some(encoded) => Ok(SecretBox::new(&decode_key(encoded).context("BILLGRAPH_SECRET_KEY")?)),
            None => Ok(SecretBox::new(&key_from_data_dir(&config.data_dir)?)),
        }
    }

    /// A fresh random nonce, then the ciphertext with its tag.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = rand::rng().random();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    /// Fails when the value was sealed under another key or altered.
    pub fn open(&self, sealed: &[u8]) -> AppResult<String> {
        if sealed.len() < NONCE_BYTES {
            return Err(AppError::internal(anyhow::anyhow!("sealed secret too short")));
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce = Nonce::try_from(nonce).map_err(AppError::internal)?;
        let plain = self.cipher.decrypt(&nonce, body).map_err(|_| {
            AppError::internal(anyhow::anyhow!(
                "a stored secret does not open with this server's key (BILLGRAPH_SECRET_KEY changed?)"
            ))
        })?;
        String::from_utf8(plain).map_err(AppError::internal)
    }
}

/// A new key, base64-encoded as BILLGRAPH_SECRET_KEY takes it.
pub fn generate_key() -> String {
    let key: [u8; KEY_BYTES] = rand::rng().random();
    BASE64.encode(key)
}

fn decode_key(encoded: &str) -> anyhow::Result<[u8; KEY_BYTES]> {
    let bytes = BASE64.decode(encoded.trim()).context("not base64")?;
    match <[u8; KEY_BYTES]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(key),
        Err(_) => bail!("must be {KEY_BYTES} bytes, base64-encoded (e.g. `openssl rand -base64 32`)"),
    }
}

fn key_from_data_dir(dir: &Path) -> anyhow::Result<[u8; KEY_BYTES]> {
    let path = dir.join(KEY_FILE);
    if let Ok(saved) = std::fs::read_to_string(&path) {
        return decode_key(&saved).with_context(|| format!("{}", path.display()));
    }
    std::fs::create_dir_all(dir)?;
    let encoded = generate_key();
    crate::commands::write_private_file(&path, &encoded)?;
    decode_key(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_their_key() {
        let a = SecretBox::new(&decode_key(&generate_key()).unwrap());
        let b = SecretBox::new(&decode_key(&generate_key()).unwrap());
        let sealed = a.seal("sk_test_123");
        assert_ne!(&sealed[NONCE_BYTES..], b"sk_test_123");
        assert_eq!(a.open(&sealed).unwrap(), "sk_test_123");
        assert!(b.open(&sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(a.open(&altered).is_err());
        // A fresh nonce each time: equal secrets do not look equal at rest.
        assert_ne!(a.seal("x"), a.seal("x"));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(decode_key("not base64!").is_err());
        assert!(decode_key(&BASE64.encode([0u8; 16])).is_err());
        assert!(decode_key(&BASE64.encode([7u8; 32])).is_ok());
    }

    #[test]
    fn the_data_dir_key_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("billgraph-key-{}", uuid::Uuid::new_v4()));
        let first = key_from_data_dir(&dir).unwrap();
        assert_eq!(key_from_data_dir(&dir).unwrap(), first);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
