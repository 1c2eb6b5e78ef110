//! Mixed load: many clients of one tenant at once, each cycling through a
//! dashboard page with children and usage, createCustomer, ingestEvents
//! and a wallet debit. Requests beyond the tenant's share are answered
//! RATE_LIMITED and retried after the Retry-After the server asks for.
//! Afterwards the wallet must hold exactly its credits less the debits
//! that succeeded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::client::{Api, percentile};

const PAGE: &str = "query($from: DateTime!, $to: DateTime!) {
    customers(first: 20, filter: { rootsOnly: true }) { edges { node { id
        children(first: 5) { edges { node { id } } }
        usage(from: $from, to: $to) { eventCount }
    } } } }";
const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }";
const INGEST: &str = "mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted } }";
const DEBIT: &str = "mutation($w: UUID!, $i: DebitWalletInput!) { debitWallet(walletId: $w, input: $i) { id } }";
const DEBIT_CREDITS: &str = "0.01";
const SEED_CREDITS: &str = "1000000";

/// Runs the mix at each concurrency for `seconds`; one report per run.
pub async fn run(
    api: &Api,
    external_ids: &[String],
    now: DateTime<Utc>,
    concurrencies: &[usize],
    seconds: u64,
) -> anyhow::Result<Value> {
    let wallet = seed_wallet(api).await?;
    let mut runs = Vec::new();
    let debited = Arc::new(AtomicUsize::new(0));
    for (run, &clients) in concurrencies.iter().enumerate() {
        let report = at_concurrency(api, external_ids, now, &wallet, run, clients, seconds, debited.clone()).await?;
        eprintln!("  {clients} clients: {report}");
        runs.push(report);
    }
    let data = api
        .gql(
            "query($w: UUID!) { wallet(id: $w) { creditBalance } }",
            json!({ "w": wallet }),
        )
        .await?;
    let balance: Decimal = data["wallet"]["creditBalance"].as_str().context("balance")?.parse()?;
    let debits = debited.load(Ordering::SeqCst);
    let expected = SEED_CREDITS.parse::<Decimal>()? - DEBIT_CREDITS.parse::<Decimal>()? * Decimal::from(debits);
    if balance != expected {
        bail!("the wallet holds {balance} after {debits} debits; expected {expected}");
    }
    Ok(json!({ "runs": runs, "wallet_debits": debits, "wallet_exact": true }))
}

async fn seed_wallet(api: &Api) -> anyhow::Result<String> {
    let data = api
        .gql(
            "mutation { createCustomer(input: { externalCustomerId: \"mixed-payer\", name: \"Payer\" }) { id } }",
            json!({}),
        )
        .await?;
    let customer = data["createCustomer"]["id"].as_str().context("customer")?.to_string();
    let data = api
        .gql(
            "mutation($i: CreateWalletInput!) { createWallet(input: $i) { id } }",
            json!({ "i": { "customerId": customer, "currency": "USD", "name": "Mixed", "conversionRate": "1" } }),
        )
        .await?;
    let wallet = data["createWallet"]["id"].as_str().context("wallet")?.to_string();
    api.gql(
        "mutation($w: UUID!, $i: TopUpWalletInput!) { topUpWallet(walletId: $w, input: $i) { id } }",
        json!({ "w": wallet, "i": { "credits": SEED_CREDITS, "idempotencyKey": "mixed-seed" } }),
    )
    .await?;
    Ok(wallet)
}

/// What one client sends as its n-th request.
fn request(n: usize, tag: &str, external_ids: &[String], now: DateTime<Utc>, wallet: &str) -> (&'static str, Value) {
    match n % 4 {
        0 => (
            PAGE,
            json!({ "from": (now - chrono::Duration::days(30)).to_rfc3339(), "to": now.to_rfc3339() }),
        ),
        1 => (
            CREATE,
            json!({ "i": { "externalCustomerId": format!("mixed-{tag}"), "name": "Mixed" } }),
        ),
        2 => {
            let events: Vec<Value> = (0..10)
                .map(|i| {
                    json!({ "eventId": format!("mixed-{tag}-{i}"), "eventName": "api_call",
                        "externalCustomerId": external_ids[(n + i) % external_ids.len()],
                        "properties": { "tokens": 1, "latency_ms": 1.0, "user": "mixed" } })
                })
                .collect();
            (INGEST, json!({ "e": events }))
        }
        _ => (
            DEBIT,
            json!({ "w": wallet, "i": { "credits": DEBIT_CREDITS, "reason": "MANUAL", "idempotencyKey": format!("mixed-{tag}") } }),
        ),
    }
}

enum Answer {
    Ok,
    RateLimited(Duration),
    Failed(String),
}

async fn send(api: &Api, query: &str, variables: &Value) -> Answer {
    let body = Bytes::from(json!({ "query": query, "variables": variables }).to_string());
    let response = match api.send("/graphql", body).await {
        Ok(r) => r,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let bytes = response.bytes().await.unwrap_or_default();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Answer::RateLimited(Duration::from_secs(retry_after.unwrap_or(1)));
    }
    if !status.is_success() || bytes.windows(9).any(|w| w == b"\"errors\":") {
        return Answer::Failed(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Answer::Ok
}

#[allow(clippy::too_many_arguments)]
async fn at_concurrency(
    api: &Api,
    external_ids: &[String],
    now: DateTime<Utc>,
    wallet: &str,
    run: usize,
    clients: usize,
    seconds: u64,
    debited: Arc<AtomicUsize>,
) -> anyhow::Result<Value> {
    let external_ids = Arc::new(external_ids.to_vec());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for client in 0..clients {
        let (api, external_ids, wallet, debited) =
            (api.clone(), external_ids.clone(), wallet.to_string(), debited.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut rate_limited, mut failures) = (Vec::new(), 0usize, Vec::new());
            let mut n = client;
            while Instant::now() < deadline {
                let tag = format!("{run}-{client}-{n}");
                let (query, variables) = request(n, &tag, &external_ids, now, &wallet);
                let t = Instant::now();
                match send(&api, query, &variables).await {
                    Answer::Ok => {
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                        if query == DEBIT {
                            debited.fetch_add(1, Ordering::SeqCst);
                        }
                        n += 1;
                    }
                    Answer::RateLimited(wait) => {
                        rate_limited += 1;
                        tokio::time::sleep(wait).await;
                    }
                    Answer::Failed(e) => {
                        failures.push(e);
                        n += 1;
                    }
                }
            }
            (latencies, rate_limited, failures)
        }));
    }
    let (mut latencies, mut rate_limited, mut failures) = (Vec::new(), 0, Vec::new());
    for w in workers {
        let (l, r, f) = w.await?;
        latencies.extend(l);
        rate_limited += r;
        failures.extend(f);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    if let Some(first) = failures.first() {
        eprintln!("  {} failed requests, e.g. {first}", failures.len());
    }
    Ok(json!({
        "clients": clients,
        "succeeded": latencies.len(),
        "requests_per_s": latencies.len() as f64 / elapsed,
        "p50_ms": percentile(&latencies, 0.5),
        "p99_ms": percentile(&latencies, 0.99),
        "errors": failures.len(),
        "rate_limited": rate_limited,
    }))
}
