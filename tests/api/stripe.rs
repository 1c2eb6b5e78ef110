//! Stripe as the payment provider, against localstripe: connecting, customer
//! sync through the mapping and the outbox, saving a card, automatic
//! collection with retries, signed webhooks handled once, and refunds.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use billgraph::providers::stripe::signature;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::stripe_support::{KEY, LocalStripe, count, serve, tenant_id, wait_for_count};
use crate::support::TestApp;

const WEBHOOK_SECRET: &str = "whsec_billgraph_test";

const CONNECT: &str =
    "mutation($input: ConnectStripeInput!) { connectStripe(input: $input) { apiBase connectedAt keyHint } }";
const CONNECTION: &str = "{ stripeConnection { apiBase keyHint } }";
const SETUP: &str = "mutation($c: UUID!) { createPaymentSetupSession(customerId: $c) {
    clientSecret setupIntentId providerCustomerId } }";
const CUSTOMER: &str = "query($id: UUID!) { customer(id: $id) {
    collectionMethod paymentMethods { brand last4 expMonth expYear }
    integrations { provider providerEntityId } } }";
const CREATE_CUSTOMER: &str =
    "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id collectionMethod } }";
const UPDATE_CUSTOMER: &str =
    "mutation($id: UUID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id } }";
const ONE_OFF: &str = "mutation($c: UUID!, $cur: String!, $amount: Decimal!) {
    createOneOffInvoice(customerId: $c, currency: $cur, lines: [{ description: \"Service\", unitAmount: $amount }]) { id } }";
const FINALIZE: &str = "mutation($id: UUID!) { finalizeInvoice(id: $id) { amountDue } }";
const INVOICE: &str = "query($id: UUID!) { invoice(id: $id) {
    status paymentStatus amountDue amountPaid
    payments { amount method reference }
    paymentAttempts { attempt status error nextRetryAt paymentIntentId } } }";

const PAYMENTS_OF_INVOICE: &str = "SELECT count(*) AS n FROM payments WHERE invoice_id::text = $1";
const FAILED_EVENTS: &str =
    "SELECT count(*) AS n FROM outbox_events WHERE event_type = 'invoice.payment_failed' AND object_id::text = $1";
const STRIPE_EVENTS: &str = "SELECT count(*) AS n FROM provider_events WHERE event_type = $1";

/// Links the customer to a Stripe customer now; returns the Stripe id.
async fn sync_customer(app: &TestApp, id: &str) -> String {
    app.ok(
        "mutation($c: UUID!) { syncCustomerToProvider(customerId: $c) }",
        json!({ "c": id }),
    )
    .await["syncCustomerToProvider"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn connect(app: &TestApp, stripe: &LocalStripe) -> Value {
    app.ok(
        CONNECT,
        json!({ "input": { "secretKey": KEY, "webhookSecret": WEBHOOK_SECRET, "apiBase": stripe.base } }),
    )
    .await["connectStripe"]
        .clone()
}

/// A customer collected automatically, with a card saved through a setup
/// session; returns its id.
async fn paying_customer(app: &TestApp, stripe: &LocalStripe, external_id: &str, card: &str) -> String {
    let customer = app
        .ok(
            CREATE_CUSTOMER,
            json!({ "input": { "externalCustomerId": external_id, "name": "Payer", "email": "payer@example.com",
                               "collectionMethod": "CHARGE_AUTOMATICALLY" } }),
        )
        .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = app.ok(SETUP, json!({ "c": customer })).await["createPaymentSetupSession"].clone();
    stripe.save_card(&session, card).await;
    customer
}

async fn finalized_invoice(app: &TestApp, customer: &str, currency: &str, amount: &str) -> String {
    let id = app
        .ok(ONE_OFF, json!({ "c": customer, "cur": currency, "amount": amount }))
        .await["createOneOffInvoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(FINALIZE, json!({ "id": id })).await;
    id
}

async fn invoice(app: &TestApp, id: &str) -> Value {
    app.ok(INVOICE, json!({ "id": id })).await["invoice"].clone()
}

async fn run_worker(app: &TestApp, at: chrono::DateTime<Utc>) -> usize {
    let state = &app.state;
    billgraph::providers::worker::run_due(&state.pool, &state.secrets, &state.config.providers, at)
        .await
        .unwrap()
}

/// POSTs a Stripe event to the tenant's webhook URL, in-process.
async fn post_event(app: &TestApp, tenant: &str, body: &str, header: &str) -> (StatusCode, Value) {
    let request = Request::post(format!("/v1/webhooks/stripe/{tenant}"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes) = app.send(request).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn signed(body: &str) -> String {
    signature::sign(body.as_bytes(), WEBHOOK_SECRET, Utc::now().timestamp())
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_checks_the_key_and_never_shows_the_secrets() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;

    // localstripe refuses keys that are not secret keys, as Stripe refuses unknown ones.
    let refused = app
        .gql(
            CONNECT,
            json!({ "input": { "secretKey": "pk_test_nope", "webhookSecret": WEBHOOK_SECRET, "apiBase": stripe.base } }),
        )
        .await;
    refused.assert_error("VALIDATION", Some("input.secretKey"));
    app.gql(
        CONNECT,
        json!({ "input": { "secretKey": KEY, "webhookSecret": WEBHOOK_SECRET, "apiBase": "ftp://example.com" } }),
    )
    .await
    .assert_error("VALIDATION", Some("input.apiBase"));
    assert_eq!(app.ok(CONNECTION, json!({})).await["stripeConnection"], Value::Null);

    let connected = connect(&app, &stripe).await;
    assert_eq!(connected["apiBase"], json!(stripe.base));
    assert_eq!(connected["keyHint"], "sk_test_…4242");
    let shown = app.ok(CONNECTION, json!({})).await.to_string();
    assert!(!shown.contains(KEY) && !shown.contains(WEBHOOK_SECRET), "{shown}");
    assert!(!connected.to_string().contains(KEY));

    // Sealed at rest: the stored bytes do not contain the key.
    let plain = count(
        &app,
        "SELECT count(*) AS n FROM provider_connections
         WHERE position(convert_to($1, 'UTF8') IN secret_key_sealed) > 0
            OR position(convert_to($1, 'UTF8') IN webhook_secret_sealed) > 0",
        KEY,
    )
    .await;
    assert_eq!(plain, 0);

    // Another tenant sees no connection and cannot use this one.
    let other = app.create_key("globex").await;
    let theirs = app.gql_as(Some(&other), CONNECTION, json!({})).await.data();
    assert_eq!(theirs["stripeConnection"], Value::Null);
    let customer = app.create_customer_as(&other, "g-1", None).await;
    app.gql_as(Some(&other), SETUP, json!({ "c": customer }))
        .await
        .assert_error("CONFLICT", None);

    assert_eq!(
        app.ok("mutation { disconnectStripe }", json!({})).await["disconnectStripe"],
        true
    );
    assert_eq!(app.ok(CONNECTION, json!({})).await["stripeConnection"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_are_created_through_the_mapping_and_kept_current_through_the_outbox() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let customer = app
        .ok(
            CREATE_CUSTOMER,
            json!({ "input": { "externalCustomerId": "c-1", "name": "Ada", "email": "ada@example.com",
                               "address": { "line1": "1 Main St", "city": "Paris", "country": "FR" },
                               "metadata": { "plan": "gold" } } }),
        )
        .await["createCustomer"]
        .clone();
    assert_eq!(customer["collectionMethod"], "SEND_INVOICE");
    let id = customer["id"].as_str().unwrap();

    let stripe_id = sync_customer(&app, id).await;
    assert!(stripe_id.starts_with("cus_"), "{stripe_id}");
    let mapped = app.ok(CUSTOMER, json!({ "id": id })).await["customer"]["integrations"].clone();
    assert_eq!(mapped, json!([{ "provider": "STRIPE", "providerEntityId": stripe_id }]));
    let there = stripe.get(&format!("/v1/customers/{stripe_id}")).await;
    assert_eq!(there["name"], "Ada");
    assert_eq!(there["email"], "ada@example.com");
    assert_eq!(there["address"]["city"], "Paris");
    assert_eq!(there["metadata"]["plan"], "gold");
    assert_eq!(there["metadata"]["billgraph_customer_id"], json!(id));

    // A setup session reuses the mapped Stripe customer.
    let session = app.ok(SETUP, json!({ "c": id })).await["createPaymentSetupSession"].clone();
    assert_eq!(session["providerCustomerId"], json!(stripe_id));

    // Two changes queue one sync, which sends the state current when it runs.
    app.ok(UPDATE_CUSTOMER, json!({ "id": id, "input": { "name": "Ada L." } }))
        .await;
    app.ok(
        UPDATE_CUSTOMER,
        json!({ "id": id, "input": { "email": "ada@lovelace.example", "metadata": { "plan": null, "tier": "2" } } }),
    )
    .await;
    let unchanged = stripe.get(&format!("/v1/customers/{stripe_id}")).await;
    assert_eq!(unchanged["name"], "Ada", "nothing is sent before the worker runs");
    assert_eq!(run_worker(&app, Utc::now()).await, 1);
    let there = stripe.get(&format!("/v1/customers/{stripe_id}")).await;
    assert_eq!(there["name"], "Ada L.");
    assert_eq!(there["email"], "ada@lovelace.example");
    assert_eq!(there["metadata"]["tier"], "2");
    assert_eq!(
        there["metadata"]["plan"], "",
        "a removed key is blanked, which Stripe deletes"
    );
    assert_eq!(run_worker(&app, Utc::now()).await, 0, "the sync is done");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_waits_out_an_outage_and_is_never_lost() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let id = app.create_customer("c-out", None).await;
    let stripe_id = sync_customer(&app, &id).await;
    let first_base = stripe.base.clone();
    drop(stripe);
    app.ok(
        UPDATE_CUSTOMER,
        json!({ "id": id, "input": { "name": "After the outage" } }),
    )
    .await;
    let now = Utc::now();
    assert_eq!(run_worker(&app, now).await, 1);
    let postponed = count(
        &app,
        "SELECT count(*) AS n FROM provider_tasks WHERE done_at IS NULL AND last_error IS NOT NULL AND object_id::text = $1",
        &id,
    )
    .await;
    assert_eq!(postponed, 1, "the failed sync stays queued with its error");
    assert_eq!(run_worker(&app, now).await, 0, "and waits for its backoff");

    // Stripe is back (a new server on another port; the connection follows it).
    let stripe = LocalStripe::start().await;
    connect(&app, &stripe).await;
    let created = stripe.post("/v1/customers", &[("name", "old")]).await;
    let new_id = created["id"].as_str().unwrap();
    let mapping = "mutation($c: UUID!, $e: String!) { upsertIntegrationMapping(customerId: $c,
        input: { provider: STRIPE, providerEntityId: $e }) { id } }";
    app.ok(mapping, json!({ "c": id, "e": new_id })).await;
    assert_ne!(first_base, stripe.base);
    assert_ne!(stripe_id, new_id);
    assert!(run_worker(&app, now + Duration::hours(2)).await >= 1);
    let there = stripe.get(&format!("/v1/customers/{new_id}")).await;
    assert_eq!(there["name"], "After the outage");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_saved_through_a_setup_session_is_shown() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let id = app.create_customer("c-card", None).await;
    let none = app.ok(CUSTOMER, json!({ "id": id })).await["customer"]["paymentMethods"].clone();
    assert_eq!(none, json!([]));
    let session = app.ok(SETUP, json!({ "c": id })).await["createPaymentSetupSession"].clone();
    assert!(session["setupIntentId"].as_str().unwrap().starts_with("seti_"));
    assert!(session["clientSecret"].as_str().unwrap().contains("_secret_"));
    stripe.save_card(&session, "4242424242424242").await;
    let shown = app.ok(CUSTOMER, json!({ "id": id })).await["customer"]["paymentMethods"].clone();
    assert_eq!(
        shown,
        json!([{ "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034 }])
    );
    // Another tenant cannot open a session for this customer.
    let other = app.create_key("globex").await;
    app.gql_as(Some(&other), SETUP, json!({ "c": id }))
        .await
        .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn finalized_invoices_are_charged_automatically_and_paid_once() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let tenant = tenant_id(&app, "acme").await;
    let url = serve(&app).await;
    stripe
        .send_webhooks_to(&format!("{url}/v1/webhooks/stripe/{tenant}"), WEBHOOK_SECRET)
        .await;
    let customer = paying_customer(&app, &stripe, "c-pay", "4242424242424242").await;

    let usd = finalized_invoice(&app, &customer, "USD", "12.34").await;
    let yen = finalized_invoice(&app, &customer, "JPY", "1234").await;
    let manual = app.create_customer("c-manual", None).await;
    let by_hand = finalized_invoice(&app, &manual, "USD", "5.00").await;
    assert_eq!(
        run_worker(&app, Utc::now()).await,
        2,
        "only the automatic payer's invoices are charged"
    );

    // Stripe was asked for the amounts in minor units.
    let intents = stripe.get("/v1/payment_intents").await;
    let mut asked: Vec<(i64, String)> = intents["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["amount"].as_i64().unwrap(),
                i["currency"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    asked.sort();
    assert_eq!(asked, [(1234, "jpy".to_string()), (1234, "usd".to_string())]);

    // Stripe's webhooks report the same successes: still one payment each.
    wait_for_count(&app, STRIPE_EVENTS, "payment_intent.succeeded", 2).await;
    for (id, amount) in [(&usd, "12.34"), (&yen, "1234")] {
        let paid = invoice(&app, id).await;
        assert_eq!(paid["paymentStatus"], "PAID", "{paid}");
        assert_eq!(paid["amountDue"], if amount == "1234" { "0" } else { "0.00" });
        assert_eq!(paid["payments"].as_array().unwrap().len(), 1, "{paid}");
        assert_eq!(paid["payments"][0]["amount"], amount);
        assert_eq!(paid["payments"][0]["method"], "CARD");
        let intent = paid["paymentAttempts"][0]["paymentIntentId"].as_str().unwrap();
        assert_eq!(paid["payments"][0]["reference"], intent);
        assert_eq!(paid["paymentAttempts"][0]["status"], "SUCCEEDED");
        assert_eq!(count(&app, PAYMENTS_OF_INVOICE, id).await, 1);
    }
    assert_eq!(invoice(&app, &by_hand).await["paymentStatus"], "PENDING");
    assert_eq!(run_worker(&app, Utc::now()).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_is_retried_on_schedule_then_left_open() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let customer = paying_customer(&app, &stripe, "c-declined", "4000000000000341").await;
    let id = finalized_invoice(&app, &customer, "USD", "20.00").await;

    let start = Utc::now();
    assert_eq!(run_worker(&app, start).await, 1);
    let first = invoice(&app, &id).await;
    assert_eq!(first["status"], "FINALIZED");
    assert_eq!(first["paymentStatus"], "PENDING");
    assert_eq!(first["paymentAttempts"][0]["status"], "FAILED", "{first}");
    assert!(
        first["paymentAttempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
    assert_eq!(count(&app, FAILED_EVENTS, &id).await, 1);

    // Nothing runs before the first retry day; then attempts 2, 3 and 4
    // run 1, 3 and 5 days after the first failure.
    assert_eq!(run_worker(&app, start + Duration::hours(23)).await, 0);
    for (attempt, day) in [(2, 1), (3, 3), (4, 5)] {
        assert_eq!(
            run_worker(&app, start + Duration::days(day) + Duration::minutes(1)).await,
            1
        );
        let now = invoice(&app, &id).await;
        let attempts = now["paymentAttempts"].as_array().unwrap();
        assert_eq!(attempts.len(), attempt, "{now}");
        assert_eq!(attempts[attempt - 1]["status"], "FAILED");
        assert_eq!(count(&app, FAILED_EVENTS, &id).await, attempt as i64);
    }
    let last = invoice(&app, &id).await;
    assert_eq!(last["paymentAttempts"][3]["nextRetryAt"], Value::Null);
    assert_eq!(
        run_worker(&app, start + Duration::days(30)).await,
        0,
        "the schedule is spent"
    );
    assert_eq!(last["status"], "FINALIZED");
    assert_eq!(last["amountDue"], "20.00");
}

/// A payment_intent event as Stripe sends it, for an attempt of `invoice`.
fn intent_event(event_id: &str, kind: &str, intent: &str, tenant: &str, invoice: &str, amount: i64) -> String {
    json!({
        "id": event_id, "object": "event", "type": kind,
        "data": { "object": {
            "id": intent, "object": "payment_intent", "amount": amount, "currency": "usd",
            "status": if kind.ends_with("succeeded") { "succeeded" } else { "requires_payment_method" },
            "last_payment_error": if kind.ends_with("failed") { json!({ "message": "Your card was declined." }) } else { Value::Null },
            "metadata": { "billgraph_invoice_id": invoice, "billgraph_tenant_id": tenant, "billgraph_attempt": "1" }
        } }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_and_reordered_webhooks_pay_once_and_forgeries_are_refused() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let tenant = tenant_id(&app, "acme").await.to_string();
    let customer = app
        .ok(
            CREATE_CUSTOMER,
            json!({ "input": { "externalCustomerId": "c-hooks", "name": "Hooks", "collectionMethod": "CHARGE_AUTOMATICALLY" } }),
        )
        .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = finalized_invoice(&app, &customer, "USD", "7.50").await;
    // The attempt the worker would have opened before asking Stripe.
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.url)
        .await
        .unwrap();
    billgraph::db::providers::ensure_attempt(&mut conn, tenant.parse().unwrap(), id.parse().unwrap(), 1, Utc::now())
        .await
        .unwrap();

    let success = intent_event("evt_1", "payment_intent.succeeded", "pi_hook", &tenant, &id, 750);
    let (status, body) = post_event(&app, &tenant, &success, &signed(&success)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["handled"], true);
    let (status, body) = post_event(&app, &tenant, &success, &signed(&success)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["handled"], false, "the same event is handled once");
    // The same success under another event id (Stripe resends; the worker reported it too).
    let again = intent_event("evt_2", "payment_intent.succeeded", "pi_hook", &tenant, &id, 750);
    assert_eq!(
        post_event(&app, &tenant, &again, &signed(&again)).await.0,
        StatusCode::OK
    );
    // An older failure arriving after the success changes nothing.
    let stale = intent_event("evt_0", "payment_intent.payment_failed", "pi_hook", &tenant, &id, 750);
    assert_eq!(
        post_event(&app, &tenant, &stale, &signed(&stale)).await.0,
        StatusCode::OK
    );

    let paid = invoice(&app, &id).await;
    assert_eq!(paid["paymentStatus"], "PAID", "{paid}");
    assert_eq!(
        paid["payments"],
        json!([{ "amount": "7.50", "method": "CARD", "reference": "pi_hook" }])
    );
    assert_eq!(paid["paymentAttempts"][0]["status"], "SUCCEEDED");
    assert_eq!(count(&app, FAILED_EVENTS, &id).await, 0);
    assert_eq!(run_worker(&app, Utc::now() + Duration::days(10)).await, 1);
    assert_eq!(
        count(&app, PAYMENTS_OF_INVOICE, &id).await,
        1,
        "the queued charge sees nothing due"
    );

    // Forged, stale, unsigned: refused alike, and nothing recorded.
    let other = app.create_customer("c-forged", None).await;
    let target = finalized_invoice(&app, &other, "USD", "3.00").await;
    let forged = intent_event("evt_f", "payment_intent.succeeded", "pi_forged", &tenant, &target, 300);
    let wrong_secret = signature::sign(forged.as_bytes(), "whsec_guess", Utc::now().timestamp());
    let stale_time = signature::sign(forged.as_bytes(), WEBHOOK_SECRET, Utc::now().timestamp() - 301);
    let tampered = signed(&forged.replace("300", "30000"));
    let refusals = [
        post_event(&app, &tenant, &forged, &wrong_secret).await,
        post_event(&app, &tenant, &forged, &stale_time).await,
        post_event(&app, &tenant, &forged, "").await,
        post_event(&app, &tenant, &forged, &tampered).await,
    ];
    for (status, body) in &refusals {
        assert_eq!(*status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, &refusals[0].1, "every refusal reads the same");
    }
    // Another tenant's URL, even with this tenant's secret: it has no connection.
    let globex = tenant_id(&app, "globex").await.to_string();
    let (status, body) = post_event(&app, &globex, &forged, &signed(&forged)).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &refusals[0].1));
    assert_eq!(
        post_event(&app, "not-a-tenant", &forged, &signed(&forged)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An event naming another tenant's invoice through this tenant's URL is ignored.
    let (status, body) = post_event(
        &app,
        &tenant,
        &forged.replace(&tenant, &globex),
        &signed(&forged.replace(&tenant, &globex)),
    )
    .await;
    assert_eq!((status, body["handled"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(count(&app, PAYMENTS_OF_INVOICE, &target).await, 0);
    drop(stripe);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_refund_through_a_credit_note_is_sent_to_stripe() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let customer = paying_customer(&app, &stripe, "c-refund", "4242424242424242").await;
    let id = finalized_invoice(&app, &customer, "USD", "30.00").await;
    run_worker(&app, Utc::now()).await;
    let paid = invoice(&app, &id).await;
    assert_eq!(paid["paymentStatus"], "PAID", "{paid}");
    let intent = paid["payments"][0]["reference"].as_str().unwrap().to_string();

    let credit = "mutation($invoice: UUID!, $input: CreateCreditNoteInput!) {
        createCreditNote(invoiceId: $invoice, input: $input) { id refunds { id amount providerRefundId providerStatus } } }";
    let note = app
        .ok(
            credit,
            json!({ "invoice": id, "input": { "amount": "12.50", "reason": "OTHER", "refundTo": "RECORD_REFUND",
                                               "refundMethod": "CARD" } }),
        )
        .await["createCreditNote"]
        .clone();
    assert_eq!(note["refunds"][0]["providerRefundId"], Value::Null);
    assert_eq!(run_worker(&app, Utc::now()).await, 1);
    assert_eq!(run_worker(&app, Utc::now()).await, 0, "sent once");

    let refunds = stripe.get(&format!("/v1/refunds?payment_intent={intent}")).await;
    let sent = refunds["data"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{refunds}");
    assert_eq!(sent[0]["amount"], 1250);
    let shown = app
        .ok(
            "query($id: UUID!) { invoice(id: $id) { creditNotes { refunds { amount providerRefundId providerStatus } } } }",
            json!({ "id": id }),
        )
        .await["invoice"]["creditNotes"][0]["refunds"][0]
        .clone();
    assert_eq!(
        shown,
        json!({ "amount": "12.50", "providerRefundId": sent[0]["id"], "providerStatus": "succeeded" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_that_needs_authentication_leaves_the_attempt_waiting_for_the_customer() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let customer = app
        .ok(
            CREATE_CUSTOMER,
            json!({ "input": { "externalCustomerId": "c-3ds", "name": "3DS", "collectionMethod": "CHARGE_AUTOMATICALLY" } }),
        )
        .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = app.ok(SETUP, json!({ "c": customer })).await["createPaymentSetupSession"].clone();
    // Saved earlier, on-session: Stripe asks for authentication again off-session.
    let card = stripe
        .post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4000002500003155"),
                ("card[exp_month]", "1"),
                ("card[exp_year]", "2033"),
                ("card[cvc]", "123"),
            ],
        )
        .await;
    let pm = card["id"].as_str().unwrap();
    let stripe_customer = session["providerCustomerId"].as_str().unwrap();
    stripe
        .post(
            &format!("/v1/payment_methods/{pm}/attach"),
            &[("customer", stripe_customer)],
        )
        .await;
    let id = finalized_invoice(&app, &customer, "EUR", "9.99").await;
    assert_eq!(run_worker(&app, Utc::now()).await, 1);
    let waiting = invoice(&app, &id).await;
    assert_eq!(waiting["paymentAttempts"][0]["status"], "REQUIRES_ACTION", "{waiting}");
    assert_eq!(waiting["paymentStatus"], "PENDING");
    assert_eq!(count(&app, FAILED_EVENTS, &id).await, 0);
    assert_eq!(
        run_worker(&app, Utc::now() + Duration::days(10)).await,
        0,
        "no retry: the customer must act"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_running_at_once_charge_an_invoice_once() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::new().await;
    connect(&app, &stripe).await;
    let customer = paying_customer(&app, &stripe, "c-twice", "4242424242424242").await;
    let ids = [
        finalized_invoice(&app, &customer, "USD", "1.00").await,
        finalized_invoice(&app, &customer, "USD", "2.00").await,
        finalized_invoice(&app, &customer, "USD", "3.00").await,
    ];
    let now = Utc::now();
    let runs = futures_util::future::join_all((0..4).map(|_| run_worker(&app, now))).await;
    assert_eq!(runs.iter().sum::<usize>(), 3, "each task ran once: {runs:?}");
    let intents = stripe.get("/v1/payment_intents").await;
    assert_eq!(intents["data"].as_array().unwrap().len(), 3, "{intents}");
    for id in &ids {
        assert_eq!(count(&app, PAYMENTS_OF_INVOICE, id).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_billing_run_queues_charges_for_subscriptions_collected_automatically() {
    let stripe = LocalStripe::start().await;
    let app = TestApp::with_config(|c| c.billing.invoice_grace = std::time::Duration::ZERO).await;
    connect(&app, &stripe).await;
    let plan = app
        .ok(
            "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
            json!({ "input": { "name": "Daily", "prices": [
                { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "10.25", "invoiceCadence": "ADVANCE" }
            ] } }),
        )
        .await["createPlan"]["id"]
        .clone();
    // Both customers are sent their invoices; one subscription is charged instead.
    let mut subscribers = Vec::new();
    for (external_id, method) in [
        ("c-sub-auto", json!("CHARGE_AUTOMATICALLY")),
        ("c-sub-manual", Value::Null),
    ] {
        let customer = app.create_customer(external_id, None).await;
        let session = app.ok(SETUP, json!({ "c": customer })).await["createPaymentSetupSession"].clone();
        stripe.save_card(&session, "4242424242424242").await;
        let subscription = app
            .ok(
                "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id collectionMethod } }",
                json!({ "input": { "customerId": customer, "planId": plan, "collectionMethod": method } }),
            )
            .await["createSubscription"]
            .clone();
        assert_eq!(subscription["collectionMethod"], method);
        subscribers.push(customer);
    }
    let summary =
        billgraph::billing::run::run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
            .await
            .unwrap();
    assert_eq!(summary.invoices_finalized, 2, "{summary:?}");
    assert_eq!(run_worker(&app, Utc::now()).await, 1, "one charge queued by the batch");
    let statuses =
        "query($id: UUID!) { customer(id: $id) { invoices(first: 5) { edges { node { total paymentStatus } } } } }";
    let mut seen = Vec::new();
    for customer in &subscribers {
        let data = app.ok(statuses, json!({ "id": customer })).await;
        seen.push(data["customer"]["invoices"]["edges"][0]["node"].clone());
    }
    assert_eq!(
        seen,
        [
            json!({ "total": "10.25", "paymentStatus": "PAID" }),
            json!({ "total": "10.25", "paymentStatus": "PENDING" })
        ]
    );
}
