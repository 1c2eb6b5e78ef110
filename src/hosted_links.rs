//! Hosted links to invoice and credit note documents: made for each
//! invoice its recipient should be able to open without an API key, and
//! checked when one is opened (`domain::hosted_link` is the token).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::config::DocumentSettings;
use crate::domain::hosted_link::{self, LinkClaims, LinkRefusal, LinkedDocument};
use crate::secrets::SecretBox;

/// Every hosted page's path starts with this.
pub const HOSTED_PREFIX: &str = "/hosted/";
/// The path hosted invoice pages are served under.
pub const INVOICE_PATH: &str = "/hosted/invoices";
/// The path hosted credit note pages are served under.
pub const CREDIT_NOTE_PATH: &str = "/hosted/credit-notes";

/// Makes and opens hosted links.
#[derive(Clone)]
pub struct HostedLinks {
    key: [u8; 32],
    public_url: String,
    lifetime: Duration,
}

impl std::fmt::Debug for HostedLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedLinks")
            .field("public_url", &self.public_url)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl HostedLinks {
    pub fn new(secrets: &SecretBox, settings: &DocumentSettings) -> Self {
        HostedLinks {
            key: *secrets.link_key(),
            public_url: settings.public_url.clone(),
            lifetime: Duration::days(i64::from(settings.hosted_link_days)),
        }
    }

    /// The page of one invoice, valid for the configured lifetime from `now`.
    pub fn invoice_url(&self, tenant_id: Uuid, invoice_id: Uuid, now: DateTime<Utc>) -> String {
        self.url(LinkedDocument::Invoice, tenant_id, invoice_id, now)
    }

    /// The page of one credit note.
    pub fn credit_note_url(&self, tenant_id: Uuid, credit_note_id: Uuid, now: DateTime<Utc>) -> String {
        self.url(LinkedDocument::CreditNote, tenant_id, credit_note_id, now)
    }

    fn url(&self, document: LinkedDocument, tenant_id: Uuid, document_id: Uuid, now: DateTime<Utc>) -> String {
        let expires_at = now
            .checked_add_signed(self.lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let token = hosted_link::sign(
            &self.key,
            &LinkClaims {
                document,
                tenant_id,
                document_id,
                expires_at: expires_at.timestamp(),
            },
        );
        let path = match document {
            LinkedDocument::Invoice => INVOICE_PATH,
            LinkedDocument::CreditNote => CREDIT_NOTE_PATH,
        };
        format!("{}{path}/{token}", self.public_url)
    }

    /// The tenant and document a token opens, if it is a valid, unexpired
    /// link to a document of this kind.
    pub fn open(&self, document: LinkedDocument, token: &str, now: DateTime<Utc>) -> Result<(Uuid, Uuid), LinkRefusal> {
        let claims = hosted_link::verify(&self.key, token, now.timestamp())?;
        if claims.document != document {
            return Err(LinkRefusal::Malformed);
        }
        Ok((claims.tenant_id, claims.document_id))
    }
}
