//! Stripe, spoken directly: form-encoded requests over the outbound HTTP
//! client, `Authorization: Bearer <secret key>`, an `Idempotency-Key` on
//! every POST, and Stripe's error JSON turned into [`ProviderError`]s. The
//! handful of calls billing makes did not justify a generated SDK's build
//! time.

pub mod signature;
pub mod webhook;

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::Value;

use super::{
    ChargeOutcome, ChargeRequest, CustomerProfile, PaymentProvider, ProviderError, ProviderErrorKind, ProviderResult,
    RefundOutcome, RefundRequest, SavedCard, SetupSession,
};

/// Stripe's API when a connection names no other.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

const TIMEOUT: Duration = Duration::from_secs(30);

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| crate::outbound::client(TIMEOUT));

/// A tenant's Stripe account.
#[derive(Clone)]
pub struct Stripe {
    api_base: String,
    secret_key: String,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").field("api_base", &self.api_base).finish()
    }
}

type Form = Vec<(String, String)>;

impl Stripe {
    pub fn new(api_base: &str, secret_key: &str) -> Self {
        Stripe {
            api_base: api_base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> ProviderResult<Value> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.api_base))
            .map_err(|e| ProviderError::new(ProviderErrorKind::Invalid, format!("bad Stripe URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = CLIENT.get(url).bearer_auth(&self.secret_key);
        answer(request.send().await).await
    }

    async fn post(&self, path: &str, form: &Form, idempotency_key: &str) -> ProviderResult<Value> {
        let request = CLIENT
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .form(form);
        answer(request.send().await).await
    }
}

/// Stripe's answer as JSON, or its error mapped to what billing does next.
async fn answer(sent: reqwest::Result<reqwest::Response>) -> ProviderResult<Value> {
    let response =
        sent.map_err(|e| ProviderError::new(ProviderErrorKind::Unavailable, format!("Stripe unreachable: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let error = &body["error"];
    let message = error["message"].as_str().unwrap_or("no message").to_string();
    let code = error["code"].as_str().or(error["type"].as_str()).unwrap_or("");
    let kind = match status.as_u16() {
        401 | 403 => ProviderErrorKind::Unauthorized,
        402 => ProviderErrorKind::Declined,
        429 => ProviderErrorKind::Unavailable,
        s if s >= 500 => ProviderErrorKind::Unavailable,
        _ if error["type"] == "card_error" => ProviderErrorKind::Declined,
        _ => ProviderErrorKind::Invalid,
    };
    let detail = if code.is_empty() {
        message
    } else {
        format!("{message} ({code})")
    };
    Err(ProviderError::new(kind, format!("Stripe answered {status}: {detail}")))
}

fn text(value: &Value, field: &str) -> ProviderResult<String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ProviderErrorKind::Invalid, format!("Stripe's answer has no {field}")))
}

/// The profile as Stripe's form fields; `clearing` blanks what the profile
/// lacks (an update), and `stale_metadata` names keys to remove.
fn profile_form(profile: &CustomerProfile, clearing: bool, stale_metadata: &[String]) -> Form {
    let mut form = vec![("name".to_string(), profile.name.clone())];
    match &profile.email {
        Some(email) => form.push(("email".into(), email.clone())),
        None if clearing => form.push(("email".into(), String::new())),
        None => {}
    }
    if profile.address.is_empty() {
        if clearing {
            form.push(("address".into(), String::new()));
        }
    } else {
        for (part, value) in &profile.address {
            form.push((format!("address[{part}]"), value.clone()));
        }
    }
    for (key, value) in &profile.metadata {
        form.push((format!("metadata[{key}]"), value.clone()));
    }
    for key in stale_metadata {
        if !profile.metadata.contains_key(key) {
            form.push((format!("metadata[{key}]"), String::new()));
        }
    }
    form
}

fn card_of(method: &Value) -> Option<SavedCard> {
    let card = &method["card"];
    Some(SavedCard {
        id: method["id"].as_str()?.to_string(),
        brand: card["brand"].as_str()?.to_string(),
        last4: card["last4"].as_str()?.to_string(),
        exp_month: i32::try_from(card["exp_month"].as_i64()?).ok()?,
        exp_year: i32::try_from(card["exp_year"].as_i64()?).ok()?,
    })
}

impl PaymentProvider for Stripe {
    async fn check_credentials(&self) -> ProviderResult<()> {
        self.get("/v1/customers", &[("limit", "1")]).await.map(drop)
    }

    async fn create_customer(&self, profile: &CustomerProfile, idempotency_key: &str) -> ProviderResult<String> {
        let created = self
            .post("/v1/customers", &profile_form(profile, false, &[]), idempotency_key)
            .await?;
        text(&created, "id")
    }

    async fn update_customer(
        &self,
        provider_customer_id: &str,
        profile: &CustomerProfile,
        idempotency_key: &str,
    ) -> ProviderResult<()> {
        // Stripe merges metadata: keys removed here must be blanked there.
        let path = format!("/v1/customers/{provider_customer_id}");
        let current = self.get(&path, &[]).await?;
        let stale: Vec<String> = current["metadata"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        self.post(&path, &profile_form(profile, true, &stale), idempotency_key)
            .await
            .map(drop)
    }

    async fn create_setup_session(
        &self,
        provider_customer_id: &str,
        idempotency_key: &str,
    ) -> ProviderResult<SetupSession> {
        let form: Form = vec![
            ("customer".into(), provider_customer_id.into()),
            ("usage".into(), "off_session".into()),
            ("payment_method_types[0]".into(), "card".into()),
        ];
        let intent = self.post("/v1/setup_intents", &form, idempotency_key).await?;
        Ok(SetupSession {
            client_secret: text(&intent, "client_secret")?,
            setup_intent_id: text(&intent, "id")?,
            provider_customer_id: provider_customer_id.to_string(),
        })
    }

    /// The customer's `invoice_settings.default_payment_method` when set
    /// (one call), else the card attached most recently (a second call).
    async fn default_payment_method(&self, provider_customer_id: &str) -> ProviderResult<Option<SavedCard>> {
        let customer = self
            .get(
                &format!("/v1/customers/{provider_customer_id}"),
                &[("expand[]", "invoice_settings.default_payment_method")],
            )
            .await?;
        let default = &customer["invoice_settings"]["default_payment_method"];
        if default.is_object() {
            return Ok(card_of(default));
        }
        let cards = self
            .get(
                "/v1/payment_methods",
                &[("customer", provider_customer_id), ("type", "card"), ("limit", "100")],
            )
            .await?;
        let latest = cards["data"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .max_by_key(|(position, m)| (m["created"].as_i64().unwrap_or(0), *position))
            .and_then(|(_, m)| card_of(m));
        Ok(latest)
    }

    async fn charge(&self, request: &ChargeRequest<'_>) -> ProviderResult<ChargeOutcome> {
        let mut form: Form = vec![
            ("amount".into(), request.amount.to_string()),
            ("currency".into(), request.currency.code().to_ascii_lowercase()),
            ("customer".into(), request.provider_customer_id.into()),
            ("payment_method".into(), request.payment_method_id.into()),
            ("confirm".into(), "true".into()),
            ("off_session".into(), "true".into()),
        ];
        for (key, value) in &request.metadata {
            form.push((format!("metadata[{key}]"), value.clone()));
        }
        let intent = match self.post("/v1/payment_intents", &form, request.idempotency_key).await {
            Ok(intent) => intent,
            Err(e) if e.kind == ProviderErrorKind::Declined => {
                return Ok(ChargeOutcome::Failed {
                    intent_id: None,
                    message: e.message,
                });
            }
            Err(e) => return Err(e),
        };
        let intent_id = text(&intent, "id")?;
        Ok(match intent["status"].as_str().unwrap_or("") {
            "succeeded" => ChargeOutcome::Succeeded {
                amount: intent["amount"].as_i64().unwrap_or(request.amount),
                intent_id,
            },
            "requires_action" => ChargeOutcome::RequiresAction { intent_id },
            "requires_payment_method" | "canceled" => ChargeOutcome::Failed {
                message: intent["last_payment_error"]["message"]
                    .as_str()
                    .unwrap_or("the payment failed")
                    .to_string(),
                intent_id: Some(intent_id),
            },
            _ => ChargeOutcome::Processing { intent_id },
        })
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> ProviderResult<RefundOutcome> {
        let mut form: Form = vec![
            ("payment_intent".into(), request.payment_intent_id.into()),
            ("amount".into(), request.amount.to_string()),
        ];
        for (key, value) in &request.metadata {
            form.push((format!("metadata[{key}]"), value.clone()));
        }
        let refund = self.post("/v1/refunds", &form, request.idempotency_key).await?;
        Ok(RefundOutcome {
            id: text(&refund, "id")?,
            status: refund["status"].as_str().unwrap_or("pending").to_string(),
        })
    }
}
