//! Requests that need many connections at once, many clients at once, and a
//! tenant that asks for more than its share: every request is answered, and
//! nothing is lost or counted twice.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::TestApp;

/// A request of `count` aliases of `field`.
fn aliased(count: usize, field: &str) -> String {
    let aliases: Vec<String> = (0..count).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", aliases.join(" "))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_with_more_lookups_than_the_pool_has_connections_is_answered_in_full() {
    // Each alias below took a pooled connection in its resolver while its
    // relation's loader waited for another: from about 18 aliases on a pool
    // of 16, the request timed out waiting for the pool.
    let app = Arc::new(TestApp::new().await);
    assert_eq!(app.state.config.db_pool_size, 8);
    let parent = app.create_customer("x", None).await;
    app.create_customer("x-child", Some(&parent)).await;
    app.ok(
        "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id, input: { provider: STRIPE, providerEntityId: \"cus_1\" }) { id } }",
        json!({ "id": parent }),
    )
    .await;
    app.ok(
        "mutation { createPlan(input: { name: \"Pro\", lookupKey: \"pro\", prices: [{ type: FIXED, currency: \"USD\", amount: \"10\", billingPeriod: MONTHLY }] }) { id } }",
        json!({}),
    )
    .await;
    let other_key = app.create_key("globex").await;

    let fields = [
        "customerByExternalId(externalCustomerId: \"x\") { id usage { eventCount } }",
        "customerByExternalId(externalCustomerId: \"x\") { children { totalCount } }",
        "customerByIntegration(provider: STRIPE, providerEntityId: \"cus_1\") { descendants { totalCount } }",
        "planByLookupKey(lookupKey: \"pro\") { prices { id } }",
    ];
    let requests = fields.iter().map(|field| {
        let app = app.clone();
        let query = aliased(24, field);
        async move { app.gql(&query, json!({})).await }
    });
    // Another tenant is answered meanwhile.
    let other = {
        let app = app.clone();
        async move {
            app.gql_as(Some(&other_key), "{ customers(first: 1) { totalCount } }", json!({}))
                .await
        }
    };
    let (answers, other) = tokio::join!(join_all(requests), other);
    for (field, answer) in fields.iter().zip(&answers) {
        let data = answer.data();
        assert_eq!(data.as_object().unwrap().len(), 24, "{field}");
        let first = &data["a0"];
        for i in 1..24 {
            assert_eq!(&data[format!("a{i}")], first, "{field}");
        }
    }
    assert_eq!(answers[1].data()["a5"]["children"]["totalCount"], 1);
    assert_eq!(answers[2].data()["a7"]["descendants"]["totalCount"], 1);
    assert_eq!(other.data()["customers"]["totalCount"], 0);
}

const PAGE: &str = "{ customers(first: 10, filter: { rootsOnly: true }) {
    edges { node { id children(first: 5) { edges { node { id } } } usage { eventCount } } } } }";
const CREATE: &str = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }";
const INGEST: &str = "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted refused } }";
const DEBIT: &str =
    "mutation($id: UUID!, $input: DebitWalletInput!) { debitWallet(walletId: $id, input: $input) { id } }";

#[tokio::test(flavor = "multi_thread")]
async fn four_times_as_many_clients_as_connections_all_succeed_and_nothing_is_lost() {
    let app = Arc::new(TestApp::new().await);
    let clients = 4 * app.state.config.db_pool_size;
    let rounds = 6;
    for i in 0..5 {
        let root = app.create_customer(&format!("root-{i}"), None).await;
        app.create_customer(&format!("root-{i}-child"), Some(&root)).await;
    }
    let payer = app.create_customer("payer", None).await;
    let wallet = app
        .ok(
            "mutation($input: CreateWalletInput!) { createWallet(input: $input) { id } }",
            json!({ "input": { "customerId": payer, "currency": "USD", "name": "Credits", "conversionRate": "1" } }),
        )
        .await["createWallet"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        "mutation($id: UUID!, $input: TopUpWalletInput!) { topUpWallet(walletId: $id, input: $input) { id } }",
        json!({ "id": wallet, "input": { "credits": "1000", "idempotencyKey": "seed" } }),
    )
    .await;

    let runs = (0..clients).map(|client| {
        let (app, wallet) = (app.clone(), wallet.clone());
        async move {
            let mut failures = Vec::new();
            for round in 0..rounds {
                let tag = format!("{client}-{round}");
                let (query, variables) = match (client + round) % 4 {
                    0 => (PAGE, json!({})),
                    1 => (CREATE, json!({ "input": { "externalCustomerId": format!("new-{tag}"), "name": "New" } })),
                    2 => (
                        INGEST,
                        json!({ "events": [{ "eventId": format!("ev-{tag}"), "eventName": "api_call", "externalCustomerId": "root-0" }] }),
                    ),
                    _ => (
                        DEBIT,
                        json!({ "id": wallet, "input": { "credits": "0.25", "reason": "MANUAL", "idempotencyKey": format!("debit-{tag}") } }),
                    ),
                };
                let answer = app.gql(query, variables).await;
                let failed = answer.status != StatusCode::OK
                    || answer.body.get("errors").is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()));
                if failed {
                    failures.push(answer.body.clone());
                }
            }
            failures
        }
    });
    let failures: Vec<Value> = join_all(runs).await.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{} failed, e.g. {}", failures.len(), failures[0]);

    // Each kind of request ran clients * rounds / 4 times; check every one landed once.
    let each = (clients * rounds / 4) as i64;
    let totals = app
        .ok(
            &format!(
                "{{ customers {{ totalCount }} events(first: 1) {{ totalCount }} wallet(id: \"{wallet}\") {{ creditBalance }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(totals["customers"]["totalCount"], 11 + each);
    assert_eq!(totals["events"]["totalCount"], each);
    // 1000 credits less 0.25 per debit: with 48 debits, 1000 - 12 = 988.
    assert_eq!(each, 48);
    assert_eq!(totals["wallet"]["creditBalance"], "988.00");
}

/// A GraphQL request whose body arrives only when `release` is sent.
fn held_request(key: &str) -> (Request<Body>, tokio::sync::oneshot::Sender<()>) {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = json!({ "query": "{ customers { totalCount } }" }).to_string();
    let stream = futures_util::stream::once(async move {
        let _ = released.await;
        Ok::<_, Infallible>(Bytes::from(body))
    });
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(Body::from_stream(stream))
        .unwrap();
    (request, release)
}

fn quick_request(key: &str) -> Request<Body> {
    Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .body(Body::from(
            json!({ "query": "{ customers { totalCount } }" }).to_string(),
        ))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_beyond_its_share_is_rate_limited_and_others_are_not() {
    let app = Arc::new(
        TestApp::with_config(|c| {
            c.sharing.tenant_running_requests = 1;
            c.sharing.tenant_queued_requests = 0;
        })
        .await,
    );
    let other_key = app.create_key("globex").await;
    // The held request is admitted before its body arrives, so it keeps
    // the tenant's only slot until it is released.
    let hold = |app: Arc<TestApp>| {
        let (held, release) = held_request(&app.key);
        (tokio::spawn(async move { app.send(held).await }), release)
    };
    let (mut running, mut release) = hold(app.clone());
    let mut refused = None;
    for _ in 0..200 {
        if running.is_finished() {
            // A quick request took the slot first and the held one was
            // refused: hold again.
            let (status, _) = running.await.unwrap();
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            (running, release) = hold(app.clone());
        }
        let (status, headers, body) = app.respond(quick_request(&app.key)).await;
        if status == StatusCode::TOO_MANY_REQUESTS && !running.is_finished() {
            refused = Some((headers, body));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (headers, body) = refused.expect("a request beyond the tenant's share is refused");
    assert_eq!(headers["retry-after"], "1");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("BILLGRAPH_TENANT_MAX_RUNNING_REQUESTS")
    );

    let (status, _) = app.send(quick_request(&other_key)).await;
    assert_eq!(status, StatusCode::OK, "another tenant keeps its share");

    release.send(()).unwrap();
    let (status, body) = running.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (status, _) = app.send(quick_request(&app.key)).await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_running_share_queue_and_succeed() {
    let app = Arc::new(
        TestApp::with_config(|c| {
            c.sharing.tenant_running_requests = 1;
            c.sharing.tenant_queued_requests = 4;
        })
        .await,
    );
    let (held, release) = held_request(&app.key);
    let running = tokio::spawn({
        let app = app.clone();
        async move { app.send(held).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued: Vec<_> = (0..4)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.send(quick_request(&app.key)).await.0 })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    release.send(()).unwrap();
    assert_eq!(running.await.unwrap().0, StatusCode::OK);
    for request in queued {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
}
