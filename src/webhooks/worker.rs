//! The delivery worker. Every server instance runs one; they share the
//! queue through leases: a delivery is claimed (leased past the request
//! timeout) in one short statement, sent outside any transaction, and its
//! attempt recorded with the next state. Concurrency is bounded per
//! instance, in total and per endpoint, so a slow or dead endpoint holds a
//! few sends at most and never delays the API or other endpoints.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection;
use rand::RngExt;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::db::connection;
use crate::db::webhooks::{self as rows, BusyEndpoint, ClaimedDelivery, WebhookAttemptRow};
use crate::domain::webhook::{
    AttemptOutcome, DeliveryStatus, EndpointStatus, FAILING_DISABLE_AFTER, retry_delay, should_disable,
    signature_header,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::telemetry::error_detail;
use crate::webhooks::target::{self, Unreachable};

const USER_AGENT: &str = concat!("billgraph-webhooks/", env!("CARGO_PKG_VERSION"));
/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 500;

/// One instance's sender: its bounds and what it is sending now.
pub struct Deliverer {
    state: AppState,
    settings: WebhookSettings,
    /// Shared by every send when private targets are allowed (nothing to pin).
    client: reqwest::Client,
    /// Clients pinned to checked addresses, kept so that deliveries to the
    /// same endpoint reuse its connections (and TLS set-up) while its
    /// addresses stay the same.
    pinned: Mutex<HashMap<(String, Vec<SocketAddr>), reqwest::Client>>,
    slots: Arc<Semaphore>,
    in_flight: Mutex<HashMap<Uuid, i64>>,
}

/// Pinned clients kept at most; the cache starts over beyond it.
const MAX_PINNED_CLIENTS: usize = 256;

impl Deliverer {
    pub fn new(state: AppState) -> Arc<Self> {
        let settings = state.config.webhooks;
        Arc::new(Deliverer {
            client: crate::outbound::client(settings.timeout),
            slots: Arc::new(Semaphore::new(settings.workers.max(1))),
            in_flight: Mutex::new(HashMap::new()),
            pinned: Mutex::new(HashMap::new()),
            settings,
            state,
        })
    }

    /// Claims the deliveries due at `now` this instance has room for and
    /// starts sending them; the handles finish when their attempts are
    /// recorded.
    pub async fn dispatch(self: &Arc<Self>, now: DateTime<Utc>) -> AppResult<Vec<JoinHandle<()>>> {
        let room = self.slots.available_permits();
        if room == 0 {
            return Ok(Vec::new());
        }
        let busy: Vec<BusyEndpoint> = self
            .in_flight
            .lock()
            .expect("in-flight map")
            .iter()
            .map(|(id, n)| BusyEndpoint {
                endpoint_id: *id,
                in_flight: *n,
            })
            .collect();
        let lease = TimeDelta::from_std(self.settings.lease()).map_err(AppError::internal)?;
        let claimed = {
            let mut conn = connection(&self.state.pool).await?;
            rows::claim_due(
                &mut conn,
                now,
                now + lease,
                room as i64,
                self.settings.per_endpoint as i64,
                &busy,
            )
            .await?
        };
        let mut handles = Vec::with_capacity(claimed.len());
        for delivery in claimed {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                // Only this dispatcher takes slots, and it claimed no more than were free.
                break;
            };
            *self
                .in_flight
                .lock()
                .expect("in-flight map")
                .entry(delivery.endpoint_id)
                .or_default() += 1;
            let this = self.clone();
            handles.push(tokio::spawn(async move {
                let endpoint = delivery.endpoint_id;
                if let Err(e) = this.deliver(delivery, now).await {
                    tracing::error!(
                        "recording a webhook attempt failed (the lease will expire and it is retried): {}",
                        error_detail(&e)
                    );
                }
                let mut in_flight = this.in_flight.lock().expect("in-flight map");
                if let Some(n) = in_flight.get_mut(&endpoint) {
                    *n -= 1;
                    if *n <= 0 {
                        in_flight.remove(&endpoint);
                    }
                }
                drop(slot);
            }));
        }
        Ok(handles)
    }

    async fn deliver(&self, delivery: ClaimedDelivery, now: DateTime<Utc>) -> AppResult<()> {
        let started = Instant::now();
        let outcome = self.send(&delivery, now).await;
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let attempt = WebhookAttemptRow {
            tenant_id: delivery.event.tenant_id,
            delivery_id: delivery.delivery_id,
            attempt: delivery.attempts + 1,
            status: if outcome.succeeded() {
                AttemptOutcome::Succeeded
            } else {
                AttemptOutcome::Failed
            },
            response_code: outcome.response_code,
            duration_ms,
            error: outcome.error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect()),
            attempted_at: now,
        };
        record(&self.state, &attempt, delivery.endpoint_id).await
    }

    /// One POST of the event to the endpoint.
    async fn send(&self, delivery: &ClaimedDelivery, now: DateTime<Utc>) -> Outcome {
        let secrets = match self.live_secrets(delivery, now) {
            Ok(secrets) => secrets,
            Err(e) => return Outcome::error(format!("the signing secret could not be opened: {e}")),
        };
        let target =
            match target::resolve("url", &delivery.url, self.settings.allow_private, self.settings.timeout).await {
                Ok(target) => target,
                Err(Unreachable::Refused(e)) => return Outcome::error(format!("refused: {}", e.message)),
                Err(Unreachable::Unresolved(e)) => return Outcome::error(e.message),
            };
        let client = match target.pinned {
            Some(pin) => self.pinned_client(pin),
            None => self.client.clone(),
        };
        let body = match serde_json::to_vec(&crate::outbox::envelope(&delivery.event)) {
            Ok(body) => body,
            Err(e) => return Outcome::error(format!("the event could not be serialized: {e}")),
        };
        let id = delivery.event.id.to_string();
        let timestamp = now.timestamp();
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let Some(signature) = signature_header(&secret_refs, &id, timestamp, &body) else {
            return Outcome::error("the signing secret is malformed".to_string());
        };
        let request = client
            .post(target.url)
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT)
            .body(body);
        match request.send().await {
            Ok(response) => {
                let code = response.status();
                Outcome {
                    response_code: Some(i32::from(code.as_u16())),
                    error: (!code.is_success()).then(|| format!("the endpoint answered {code}")),
                }
            }
            Err(e) if e.is_timeout() => {
                Outcome::error(format!("no answer within {} s", self.settings.timeout.as_secs_f64()))
            }
            Err(e) => Outcome::error(error_chain(&e)),
        }
    }

    fn pinned_client(&self, pin: (String, Vec<SocketAddr>)) -> reqwest::Client {
        let mut clients = self.pinned.lock().expect("pinned clients");
        if let Some(client) = clients.get(&pin) {
            return client.clone();
        }
        if clients.len() >= MAX_PINNED_CLIENTS {
            clients.clear();
        }
        let client = crate::outbound::pinned_client(self.settings.timeout, &pin.0, &pin.1);
        clients.insert(pin, client.clone());
        client
    }

    /// The current secret, and the previous one while it still signs.
    fn live_secrets(&self, delivery: &ClaimedDelivery, now: DateTime<Utc>) -> AppResult<Vec<String>> {
        let mut secrets = vec![self.state.secrets.open(&delivery.secret_sealed)?];
        if let (Some(previous), Some(until)) = (&delivery.previous_secret_sealed, delivery.previous_secret_expires_at)
            && until > now
        {
            secrets.push(self.state.secrets.open(previous)?);
        }
        Ok(secrets)
    }
}

/// How an attempt went: a response code when the endpoint answered, an
/// error unless it answered 2xx.
struct Outcome {
    response_code: Option<i32>,
    error: Option<String>,
}

impl Outcome {
    fn error(message: String) -> Self {
        Outcome {
            response_code: None,
            error: Some(message),
        }
    }

    fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Records the attempt, schedules the next one (or settles the delivery),
/// and keeps the endpoint's failure clock: an endpoint with no success
/// for [`FAILING_DISABLE_AFTER`] since its first failure is disabled.
async fn record(state: &AppState, attempt: &WebhookAttemptRow, endpoint_id: Uuid) -> AppResult<()> {
    let succeeded = attempt.status == AttemptOutcome::Succeeded;
    let (status, next_attempt_at) = if succeeded {
        (DeliveryStatus::Succeeded, None)
    } else {
        let jitter: f64 = rand::rng().random();
        match retry_delay(attempt.attempt as u32, jitter) {
            Some(wait) => (
                DeliveryStatus::Pending,
                Some(attempt.attempted_at + TimeDelta::from_std(wait).map_err(AppError::internal)?),
            ),
            None => (DeliveryStatus::Failed, None),
        }
    };
    let mut conn = connection(&state.pool).await?;
    conn.transaction(async |conn| {
        if !rows::insert_attempt(conn, attempt).await? {
            return Ok(());
        }
        rows::settle_attempt(conn, attempt, status, next_attempt_at).await?;
        let Some(mut endpoint) = rows::endpoint_for_update(conn, attempt.tenant_id, endpoint_id).await? else {
            return Ok(());
        };
        let failing_since = if succeeded {
            None
        } else {
            Some(endpoint.failing_since.unwrap_or(attempt.attempted_at))
        };
        let disable = endpoint.status == EndpointStatus::Enabled && should_disable(failing_since, attempt.attempted_at);
        if failing_since == endpoint.failing_since && !disable {
            return Ok(());
        }
        endpoint.failing_since = failing_since;
        if disable {
            endpoint.status = EndpointStatus::FailingDisabled;
            endpoint.disabled_at = Some(attempt.attempted_at);
            endpoint.disabled_reason = Some(format!(
                "every delivery attempt failed for {} days, since {}",
                FAILING_DISABLE_AFTER.num_days(),
                failing_since.map(|t| t.to_rfc3339()).unwrap_or_default()
            ));
            tracing::warn!(endpoint = %endpoint_id, "webhook endpoint disabled after failing for 5 days");
        }
        endpoint.updated_at = attempt.attempted_at.max(endpoint.updated_at);
        rows::save_endpoint(conn, &endpoint).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// Sends what is due at `now`, as far as one step's bounds allow
/// (BILLGRAPH_WEBHOOK_WORKERS in all, BILLGRAPH_WEBHOOK_PER_ENDPOINT per
/// endpoint), and waits until every attempt is recorded; returns how many
/// deliveries were attempted. The worker's step, with the
/// clock given, so tests move time forward without sleeping.
pub async fn deliver_due(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let handles = Deliverer::new(state.clone()).dispatch(now).await?;
    let attempted = handles.len();
    for handle in handles {
        handle.await.map_err(AppError::internal)?;
    }
    Ok(attempted)
}

/// Starts the worker of this instance (unless BILLGRAPH_WEBHOOK_WORKERS is
/// 0): every interval it claims what is due, as far as its bounds allow,
/// without waiting for sends still in flight.
pub fn spawn_worker(state: AppState) {
    if state.config.webhooks.workers == 0 {
        return;
    }
    let interval = state.config.webhooks.interval;
    let deliverer = Deliverer::new(state);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = deliverer.dispatch(Utc::now()).await {
                tracing::error!("claiming webhook deliveries failed, will retry: {}", error_detail(&e));
            }
        }
    });
}
