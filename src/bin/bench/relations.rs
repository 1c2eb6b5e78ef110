//! The seed of page A: every tree root subscribes to a daily plan from 30
//! days ago, holds a wallet, and is billed (31 invoices each, finalized, the
//! wallet paying the first ones).

use anyhow::Context;
use billgraph::AppState;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::Api;

/// Roots of the tenant (trees and the big parent), in id order.
pub async fn roots(api: &Api) -> anyhow::Result<Vec<(Uuid, String)>> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = api
            .gql(
                "query($after: String) { customers(first: 100, after: $after, filter: { rootsOnly: true }) {
                    edges { node { id externalCustomerId } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await?;
        for edge in page["customers"]["edges"].as_array().context("edges")? {
            let id = edge["node"]["id"].as_str().context("id")?.parse()?;
            let external = edge["node"]["externalCustomerId"].as_str().context("external id")?;
            found.push((id, external.to_string()));
        }
        let info = &page["customers"]["pageInfo"];
        if info["hasNextPage"] != json!(true) {
            return Ok(found);
        }
        after = info["endCursor"].as_str().map(str::to_string);
    }
}

/// Subscribes, funds and bills every tree root; returns the invoices made.
pub async fn seed(api: &Api, state: &AppState, call_meter: Uuid, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let plan = json!({ "name": "Daily relations", "prices": [
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "10", "invoiceCadence": "ADVANCE" },
        { "currency": "USD", "billingPeriod": "DAILY", "type": "USAGE", "meterId": call_meter,
          "billingModel": "PER_UNIT", "unitAmount": "0.001" }
    ] });
    let plan_id = api.create_plan(plan).await?;
    let start = (now - Duration::days(30) - Duration::minutes(30)).to_rfc3339();
    let trees: Vec<Uuid> = roots(api)
        .await?
        .into_iter()
        .filter(|(_, external)| external.starts_with("root-"))
        .map(|(id, _)| id)
        .collect();
    for chunk in trees.chunks(50) {
        let mut body = String::new();
        for (i, customer) in chunk.iter().enumerate() {
            body.push_str(&format!(
                "s{i}: createSubscription(input: {{ customerId: \"{customer}\", planId: \"{plan_id}\", startAt: \"{start}\" }}) {{ id }}
                 w{i}: createWallet(input: {{ customerId: \"{customer}\", currency: \"USD\", name: \"Prepaid\", conversionRate: \"0.01\" }}) {{ id }} "
            ));
        }
        let data = api.gql(&format!("mutation {{ {body} }}"), json!({})).await?;
        let mut top_ups = String::new();
        for i in 0..chunk.len() {
            let wallet = data[format!("w{i}")]["id"].as_str().context("wallet id")?;
            top_ups.push_str(&format!(
                "t{i}: topUpWallet(walletId: \"{wallet}\", input: {{ credits: \"2500\", idempotencyKey: \"seed\" }}) {{ id }} "
            ));
        }
        api.gql(&format!("mutation {{ {top_ups} }}"), json!({})).await?;
    }
    let settings = state.config.billing;
    let summary = billgraph::billing::run::run(&state.pool, &settings, &state.links, Utc::now()).await?;
    let mut finalized = 0;
    loop {
        let batch = billgraph::billing::invoices::finalize_due_batch(
            &state.pool,
            &settings,
            &state.links,
            Utc::now() + Duration::hours(2),
            &[],
        )
        .await?;
        if batch.due == 0 {
            break;
        }
        finalized += batch.finalized;
    }
    eprintln!(
        "  {} subscribed roots: {} invoices, {finalized} finalized",
        trees.len(),
        summary.invoices_created
    );
    Ok(json!({
        "subscribed_roots": trees.len(),
        "invoices": summary.invoices_created,
        "finalized": finalized,
    }))
}
