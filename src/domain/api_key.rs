//! API keys: 32 random bytes shown once to the operator; only a SHA-256 hash
//! is stored. The keys carry enough entropy that a plain hash is safe.

use sha2::{Digest, Sha256};

const PREFIX: &str = "bgk_";

pub struct ApiKey {
    secret: String,
}

impl ApiKey {
    pub fn generate() -> Self {
        ApiKey {
            secret: format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>())),
        }
    }

    /// Wraps a key a client sent.
    pub fn from_secret(secret: &str) -> Self {
        ApiKey {
            secret: secret.trim().to_string(),
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    /// Enough of the key to recognise it in a listing, not enough to use it.
    pub fn prefix(&self) -> String {
        self.secret.chars().take(PREFIX.len() + 8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_and_prefixed() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a.secret(), b.secret());
        assert!(a.secret().starts_with("bgk_"));
        assert_eq!(a.secret().len(), 4 + 64);
        assert_eq!(a.prefix().len(), 12);
    }

    #[test]
    fn the_hash_depends_only_on_the_secret() {
        let a = ApiKey::generate();
        assert_eq!(a.hash(), ApiKey::from_secret(a.secret()).hash());
        assert_eq!(a.hash(), ApiKey::from_secret(&format!(" {} ", a.secret())).hash());
        assert_ne!(a.hash(), ApiKey::generate().hash());
    }
}
