//! The outbox as a client reads it: every change writes its event exactly
//! once, in the change's transaction, carrying the object as the API shows
//! it; webhookEvents filters and pages them per tenant; old events expire.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Map, Value, json};

use billgraph::billing::run::run;
use billgraph::outbox::retention::delete_expired;

use crate::support::TestApp;

const EVENTS: &str = "query($filter: WebhookEventFilterInput, $first: Int, $after: String) {
    webhookEvents(filter: $filter, first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id type objectType objectId occurredAt data } }
    }
}";

async fn page(app: &TestApp, filter: Value, first: i64, after: Option<&str>) -> Value {
    app.ok(EVENTS, json!({ "filter": filter, "first": first, "after": after }))
        .await["webhookEvents"]
        .clone()
}

/// Every event `filter` matches, newest first.
async fn events(app: &TestApp, filter: Value) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = page(app, filter.clone(), 100, after.as_deref()).await;
        all.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return all;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
}

/// The one event of `event_type` about `object_id`; fails unless there is exactly one.
async fn only_event(app: &TestApp, event_type: &str, object_id: &str) -> Value {
    let found = events(app, json!({ "types": [event_type], "objectId": object_id })).await;
    assert_eq!(found.len(), 1, "{event_type} events about {object_id}: {found:#?}");
    let event = found[0].clone();
    assert_eq!(event["type"], event_type);
    assert_eq!(event["objectId"], object_id);
    assert_eq!(event["objectType"], event_type.split('.').next().unwrap());
    event
}

async fn count_of(app: &TestApp, event_type: &str) -> usize {
    events(app, json!({ "types": [event_type] })).await.len()
}

/// The API's answer with each `{ x: { id } }` relation written as `xId`,
/// as event payloads carry them.
fn with_relation_ids(value: &Value, relations: &[&str]) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                if relations.contains(&key.as_str()) {
                    out.insert(format!("{key}Id"), v.get("id").cloned().unwrap_or(Value::Null));
                } else {
                    out.insert(key.clone(), with_relation_ids(v, relations));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| with_relation_ids(v, relations)).collect()),
        other => other.clone(),
    }
}

async fn id_of(app: &TestApp, query: &str, variables: Value, field: &str) -> String {
    app.ok(query, variables).await[field]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const CUSTOMER: &str = "query($id: UUID!) { customer(id: $id) {
    id externalCustomerId name email address { line1 line2 city state postalCode country } metadata
    parentCustomerId status createdAt updatedAt archivedAt taxExempt taxId
} }";

const MAPPINGS: &str = "query($id: UUID!) { customer(id: $id) { integrations {
    id customerId provider providerName providerEntityId metadata createdAt updatedAt
} } }";

const SUBSCRIPTION: &str = "query($id: UUID!) { subscription(id: $id) {
    id customer { id } plan { id } quantities { priceId quantity }
    pendingChange { startsAt plan { id } quantities { priceId quantity } }
    payer status currency billingPeriod billingPeriodCount startAt billingAnchor trialEnd pausedAt endsAt
    cancelledAt createdAt currentPeriod { start end }
} }";

const INVOICE: &str = "query($id: UUID!) { invoice(id: $id) {
    id number customer { id } subscription { id } status paymentStatus overdue currency periodStart periodEnd
    lineItems { id description quantity unitAmount amount periodStart periodEnd prorationFraction discountAmount taxAmount }
    subtotal discountTotal taxTotal taxAdded creditBalanceApplied creditsApplied total creditBalanceGranted amountPaid creditNoteTotal
    amountCredited amountDue issuedAt dueAt finalizedAt voidedAt finalizeAfter createdAt
} }";

const PAYMENTS: &str = "query($id: UUID!) { invoice(id: $id) { payments {
    id invoiceId amount method reference idempotencyKey createdAt
} } }";

const CREDIT_NOTE: &str = "query($id: UUID!) { creditNote(id: $id) {
    id number invoice { id } customer { id } wallet { id } currency reason memo total amountCredited
    refundedAmount refundTo creditedToBalance lines { lineItem { id } amount }
    refunds { id amount method reference createdAt } createdAt
} }";

const WALLET: &str = "query($id: UUID!) { wallet(id: $id) {
    id customer { id } currency name conversionRate status creditBalance balance lowBalanceThreshold
    createdAt closedAt
} }";

async fn customer_view(app: &TestApp, id: &str) -> Value {
    app.ok(CUSTOMER, json!({ "id": id })).await["customer"].clone()
}

async fn invoice_view(app: &TestApp, id: &str) -> Value {
    let answer = app.ok(INVOICE, json!({ "id": id })).await["invoice"].clone();
    with_relation_ids(&answer, &["customer", "subscription"])
}

/// An invoice.finalized event's data without its hosted link, which must be
/// there (each link is made afresh, so it is compared by its form).
fn without_hosted_url(data: &Value) -> Value {
    let mut data = data.clone();
    let link = data
        .as_object_mut()
        .and_then(|o| o.remove("hostedUrl"))
        .expect("invoice.finalized carries hostedUrl");
    assert!(link.as_str().unwrap().contains("/hosted/invoices/"), "{link}");
    data
}

async fn subscription_view(app: &TestApp, id: &str) -> Value {
    let answer = app.ok(SUBSCRIPTION, json!({ "id": id })).await["subscription"].clone();
    with_relation_ids(&answer, &["customer", "plan"])
}

async fn top_up(app: &TestApp, wallet: &str, credits: &str, key: &str) {
    app.ok(
        "mutation($w: UUID!, $c: Decimal!, $k: String!) { topUpWallet(walletId: $w,
            input: { credits: $c, kind: PURCHASED, idempotencyKey: $k }) { id } }",
        json!({ "w": wallet, "c": credits, "k": key }),
    )
    .await;
}

async fn debit(app: &TestApp, wallet: &str, credits: &str, key: &str) {
    app.ok(
        "mutation($w: UUID!, $c: Decimal!, $k: String!) { debitWallet(walletId: $w,
            input: { credits: $c, reason: MANUAL, idempotencyKey: $k }) { id } }",
        json!({ "w": wallet, "c": credits, "k": key }),
    )
    .await;
}

/// Time passes: every finalized invoice's due date is a day gone.
async fn due_dates_pass(app: &TestApp) {
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    diesel::sql_query("UPDATE invoices SET due_at = now() - interval '1 day' WHERE status = 'FINALIZED'")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn wallet_view(app: &TestApp, id: &str) -> Value {
    with_relation_ids(&app.ok(WALLET, json!({ "id": id })).await["wallet"], &["customer"])
}

/// A monthly plan of 30.00 billed in advance, and a second one to move to.
async fn plans(app: &TestApp) -> (String, String, String) {
    let create = |name: &'static str, amount: &'static str| async move {
        let input = json!({ "name": name, "prices": [
            { "currency": "USD", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": amount,
              "invoiceCadence": "ADVANCE" }
        ] });
        app.ok(
            "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id prices { id } } }",
            json!({ "input": input }),
        )
        .await["createPlan"]
            .clone()
    };
    let basic = create("Basic", "30").await;
    let pro = create("Pro", "90").await;
    (
        basic["id"].as_str().unwrap().to_string(),
        basic["prices"][0]["id"].as_str().unwrap().to_string(),
        pro["id"].as_str().unwrap().to_string(),
    )
}

async fn one_off(app: &TestApp, customer: &str, amount: &str) -> String {
    id_of(
        app,
        "mutation($c: UUID!, $a: Decimal!) { createOneOffInvoice(customerId: $c, currency: \"USD\",
            lines: [{ description: \"Setup\", unitAmount: $a, quantity: 2 }]) { id } }",
        json!({ "c": customer, "a": amount }),
        "createOneOffInvoice",
    )
    .await
}

async fn finalize(app: &TestApp, invoice: &str) {
    app.ok(
        "mutation($id: UUID!) { finalizeInvoice(id: $id) { id } }",
        json!({ "id": invoice }),
    )
    .await;
}

async fn pay(app: &TestApp, invoice: &str, amount: &str, key: &str) -> String {
    app.ok(
        "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id } } }",
        json!({ "input": { "invoiceId": invoice, "amount": amount, "method": "BANK_TRANSFER",
                           "reference": "wire-1", "idempotencyKey": key } }),
    )
    .await["recordPayment"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_hierarchy_and_mapping_changes_each_write_one_event_showing_the_object() {
    let app = TestApp::new().await;
    let parent = app.create_customer("parent", None).await;
    let child = app.create_customer("child", None).await;
    only_event(&app, "customer.created", &child).await;

    app.ok(
        "mutation($id: UUID!, $p: UUID) { setCustomerParent(id: $id, parentCustomerId: $p) { id } }",
        json!({ "id": child, "p": parent }),
    )
    .await;
    let moved = only_event(&app, "customer.parent_changed", &child).await;
    assert_eq!(moved["data"]["parentCustomerId"], parent);
    assert_eq!(moved["data"], customer_view(&app, &child).await);
    // Setting the parent it already has changes nothing and says nothing.
    app.ok(
        "mutation($id: UUID!, $p: UUID) { setCustomerParent(id: $id, parentCustomerId: $p) { id } }",
        json!({ "id": child, "p": parent }),
    )
    .await;
    only_event(&app, "customer.parent_changed", &child).await;

    let mapping = id_of(
        &app,
        "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id,
            input: { provider: CUSTOM, providerName: \"erp\", providerEntityId: \"E-1\", metadata: { region: \"eu\" } }) { id } }",
        json!({ "id": child }),
        "upsertIntegrationMapping",
    )
    .await;
    let upserted = only_event(&app, "integration_mapping.upserted", &mapping).await;
    let shown = app.ok(MAPPINGS, json!({ "id": child })).await["customer"]["integrations"][0].clone();
    assert_eq!(upserted["data"], shown);
    assert_eq!(upserted["data"]["providerName"], "erp");
    assert_eq!(upserted["data"]["metadata"], json!({ "region": "eu" }));

    app.ok(
        "mutation($id: UUID!) { deleteIntegrationMapping(customerId: $id, provider: CUSTOM, providerName: \"erp\") }",
        json!({ "id": child }),
    )
    .await;
    let deleted = only_event(&app, "integration_mapping.deleted", &mapping).await;
    // The mapping as it was when it went away.
    assert_eq!(deleted["data"], shown);
    // Deleting it again is NOT_FOUND, and writes nothing.
    app.gql(
        "mutation($id: UUID!) { deleteIntegrationMapping(customerId: $id, provider: CUSTOM, providerName: \"erp\") }",
        json!({ "id": child }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    only_event(&app, "integration_mapping.deleted", &mapping).await;

    app.ok(
        "mutation($id: UUID!) { setCustomerParent(id: $id, parentCustomerId: null) { id } }",
        json!({ "id": child }),
    )
    .await;
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": child }),
    )
    .await;
    let archived = only_event(&app, "customer.archived", &child).await;
    assert_eq!(archived["data"]["status"], "ARCHIVED");
    assert_eq!(archived["data"], customer_view(&app, &child).await);
    let moves = events(&app, json!({ "types": ["customer.parent_changed"], "objectId": child })).await;
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[0]["data"]["parentCustomerId"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_lifecycle_changes_each_write_one_event_showing_the_subscription() {
    let app = TestApp::new().await;
    let customer = app.create_customer("subscriber", None).await;
    let (basic, basic_price, pro) = plans(&app).await;
    let start = (Utc::now() - Duration::days(3)).to_rfc3339();
    let sub = id_of(
        &app,
        "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
        json!({ "input": { "customerId": customer, "planId": basic, "startAt": start } }),
        "createSubscription",
    )
    .await;
    let created = only_event(&app, "subscription.created", &sub).await;
    assert_eq!(created["data"], subscription_view(&app, &sub).await);
    assert_eq!(created["data"]["planId"], basic);

    app.ok(
        "mutation($id: UUID!) { pauseSubscription(id: $id) { id } }",
        json!({ "id": sub }),
    )
    .await;
    let paused = only_event(&app, "subscription.paused", &sub).await;
    assert_eq!(paused["data"]["status"], "PAUSED");
    assert_eq!(paused["data"], subscription_view(&app, &sub).await);

    app.ok(
        "mutation($id: UUID!) { resumeSubscription(id: $id) { id } }",
        json!({ "id": sub }),
    )
    .await;
    let resumed = only_event(&app, "subscription.resumed", &sub).await;
    assert_eq!(resumed["data"]["status"], "ACTIVE");
    assert_eq!(resumed["data"], subscription_view(&app, &sub).await);

    // A quantity change now, a plan change at period end, then dropping
    // the pending change: three subscription.changed events.
    app.ok(
        "mutation($id: UUID!, $p: UUID!) { setSubscriptionQuantity(id: $id, priceId: $p, quantity: 3) { id } }",
        json!({ "id": sub, "p": basic_price }),
    )
    .await;
    let changed = events(&app, json!({ "types": ["subscription.changed"], "objectId": sub })).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0]["data"]["quantities"],
        json!([{ "priceId": basic_price, "quantity": "3" }])
    );
    assert_eq!(changed[0]["data"], subscription_view(&app, &sub).await);

    app.ok(
        "mutation($id: UUID!, $p: UUID!) { changeSubscriptionPlan(id: $id, planId: $p, effective: PERIOD_END) { id } }",
        json!({ "id": sub, "p": pro }),
    )
    .await;
    let changed = events(&app, json!({ "types": ["subscription.changed"], "objectId": sub })).await;
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0]["data"]["pendingChange"]["planId"], pro);
    assert_eq!(changed[0]["data"], subscription_view(&app, &sub).await);

    app.ok(
        "mutation($id: UUID!) { cancelPendingChange(id: $id) { id } }",
        json!({ "id": sub }),
    )
    .await;
    let changed = events(&app, json!({ "types": ["subscription.changed"], "objectId": sub })).await;
    assert_eq!(changed.len(), 3);
    assert_eq!(changed[0]["data"]["pendingChange"], Value::Null);
    assert_eq!(changed[0]["data"], subscription_view(&app, &sub).await);

    app.ok(
        "mutation($id: UUID!) { cancelSubscription(id: $id, atPeriodEnd: true) { id } }",
        json!({ "id": sub }),
    )
    .await;
    let cancelled = only_event(&app, "subscription.cancelled", &sub).await;
    assert!(cancelled["data"]["cancelledAt"].is_string());
    assert_eq!(cancelled["data"], subscription_view(&app, &sub).await);

    // Newest first, one event per change.
    let all: Vec<String> = events(&app, json!({ "objectId": sub }))
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        all,
        [
            "subscription.cancelled",
            "subscription.changed",
            "subscription.changed",
            "subscription.changed",
            "subscription.resumed",
            "subscription.paused",
            "subscription.created"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invoices_payments_and_credit_notes_write_their_events_and_paid_once_settled() {
    let app = TestApp::new().await;
    let customer = app.create_customer("payer", None).await;

    // 2 x 12.50 = 25.00, paid in two parts: paid only when settled.
    let invoice = one_off(&app, &customer, "12.50").await;
    let created = only_event(&app, "invoice.created", &invoice).await;
    assert_eq!(created["data"]["status"], "DRAFT");
    assert_eq!(created["data"]["total"], "25.00");
    assert_eq!(created["data"], invoice_view(&app, &invoice).await);
    finalize(&app, &invoice).await;
    let finalized = only_event(&app, "invoice.finalized", &invoice).await;
    assert_eq!(finalized["data"]["number"], "INV-000001");
    assert_eq!(
        without_hosted_url(&finalized["data"]),
        invoice_view(&app, &invoice).await
    );

    let first = pay(&app, &invoice, "10", "pay-1").await;
    let recorded = only_event(&app, "payment.recorded", &first).await;
    let payments = app.ok(PAYMENTS, json!({ "id": invoice })).await["invoice"]["payments"].clone();
    assert_eq!(recorded["data"], payments[0]);
    assert_eq!(recorded["data"]["amount"], "10.00");
    assert_eq!(count_of(&app, "invoice.paid").await, 0);
    // The same key again is the same payment: no second event.
    pay(&app, &invoice, "10", "pay-1").await;
    assert_eq!(count_of(&app, "payment.recorded").await, 1);
    let second = pay(&app, &invoice, "15", "pay-2").await;
    only_event(&app, "payment.recorded", &second).await;
    let paid = only_event(&app, "invoice.paid", &invoice).await;
    assert_eq!(paid["data"]["paymentStatus"], "PAID");
    assert_eq!(paid["data"]["amountDue"], "0.00");
    assert_eq!(paid["data"], invoice_view(&app, &invoice).await);

    // A credit note of a line of the paid invoice, refunded by bank transfer:
    // its lines and refunds travel with it.
    let line = paid["data"]["lineItems"][0]["id"].as_str().unwrap().to_string();
    let refund_note = id_of(
        &app,
        "mutation($id: UUID!, $line: UUID!) { createCreditNote(invoiceId: $id, input: {
            lines: [{ lineItemId: $line, amount: \"5\" }], reason: PRODUCT_UNSATISFACTORY,
            refundTo: RECORD_REFUND, refundMethod: BANK_TRANSFER, refundReference: \"r-1\" }) { id } }",
        json!({ "id": invoice, "line": line }),
        "createCreditNote",
    )
    .await;
    let note_event = only_event(&app, "credit_note.created", &refund_note).await;
    let shown = app.ok(CREDIT_NOTE, json!({ "id": refund_note })).await["creditNote"].clone();
    assert_eq!(
        note_event["data"],
        with_relation_ids(&shown, &["invoice", "customer", "wallet", "lineItem"])
    );
    assert_eq!(
        note_event["data"]["lines"],
        json!([{ "lineItemId": line, "amount": "5.00" }])
    );
    assert_eq!(note_event["data"]["refunds"][0]["reference"], "r-1");
    assert_eq!(note_event["data"]["refundedAmount"], "5.00");
    // It was paid already: no second invoice.paid.
    only_event(&app, "invoice.paid", &invoice).await;

    // A credit note that cancels what is due settles the invoice too.
    let credited = one_off(&app, &customer, "5").await;
    finalize(&app, &credited).await;
    let note = id_of(
        &app,
        "mutation($id: UUID!) { createCreditNote(invoiceId: $id, input: { amount: \"10\", reason: DUPLICATE,
            memo: \"charged twice\" }) { id } }",
        json!({ "id": credited }),
        "createCreditNote",
    )
    .await;
    let note_event = only_event(&app, "credit_note.created", &note).await;
    let shown = app.ok(CREDIT_NOTE, json!({ "id": note })).await["creditNote"].clone();
    assert_eq!(
        note_event["data"],
        with_relation_ids(&shown, &["invoice", "customer", "wallet", "lineItem"])
    );
    assert_eq!(note_event["data"]["amountCredited"], "10.00");
    let paid = only_event(&app, "invoice.paid", &credited).await;
    assert_eq!(paid["data"]["amountCredited"], "10.00");
    assert_eq!(paid["data"], invoice_view(&app, &credited).await);

    // A zero total is settled as it is finalized.
    let nothing = one_off(&app, &customer, "0").await;
    finalize(&app, &nothing).await;
    let paid = only_event(&app, "invoice.paid", &nothing).await;
    assert_eq!(paid["data"]["total"], "0.00");

    // A negative invoice leaves 20.00 on the credit balance, which pays the next one.
    let negative = one_off(&app, &customer, "-10").await;
    finalize(&app, &negative).await;
    assert_eq!(
        only_event(&app, "invoice.paid", &negative).await["data"]["creditBalanceGranted"],
        "20.00"
    );
    let from_balance = one_off(&app, &customer, "5").await;
    finalize(&app, &from_balance).await;
    let paid = only_event(&app, "invoice.paid", &from_balance).await;
    assert_eq!(paid["data"]["creditBalanceApplied"], "10.00");
    assert_eq!(paid["data"], invoice_view(&app, &from_balance).await);

    // Voiding.
    let voided = one_off(&app, &customer, "3").await;
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": voided }),
    )
    .await;
    let event = only_event(&app, "invoice.voided", &voided).await;
    assert_eq!(event["data"]["status"], "VOIDED");
    assert_eq!(event["data"], invoice_view(&app, &voided).await);
    assert_eq!(count_of(&app, "invoice.paid").await, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn wallet_changes_write_their_events_and_low_balance_once_per_crossing() {
    let app = TestApp::new().await;
    let customer = app.create_customer("holder", None).await;
    let wallet = id_of(
        &app,
        "mutation($c: UUID!) { createWallet(input: { customerId: $c, currency: \"USD\", name: \"Prepaid\",
            lowBalanceThreshold: \"50\" }) { id } }",
        json!({ "c": customer }),
        "createWallet",
    )
    .await;
    top_up(&app, &wallet, "100", "t1").await;
    let topped = only_event(&app, "wallet.topped_up", &wallet).await;
    assert_eq!(topped["data"]["creditBalance"], "100");
    assert_eq!(topped["data"], wallet_view(&app, &wallet).await);

    debit(&app, &wallet, "40", "d1").await; // 60: above the threshold
    let debited = only_event(&app, "wallet.debited", &wallet).await;
    assert_eq!(debited["data"], wallet_view(&app, &wallet).await);
    assert_eq!(count_of(&app, "wallet.low_balance").await, 0);
    debit(&app, &wallet, "20", "d2").await; // 40: crosses 50
    let low = only_event(&app, "wallet.low_balance", &wallet).await;
    assert_eq!(low["data"]["creditBalance"], "40");
    assert_eq!(low["data"]["lowBalanceThreshold"], "50");
    assert_eq!(low["data"], wallet_view(&app, &wallet).await);
    debit(&app, &wallet, "10", "d3").await; // 30: still below, no second alert
    debit(&app, &wallet, "10", "d3").await; // a replay writes nothing
    assert_eq!(count_of(&app, "wallet.low_balance").await, 1);
    assert_eq!(count_of(&app, "wallet.debited").await, 3);

    // Back above, then below again: a second crossing, a second alert.
    top_up(&app, &wallet, "50", "t2").await; // 80
    debit(&app, &wallet, "45", "d4").await; // 35
    assert_eq!(count_of(&app, "wallet.low_balance").await, 2);
    assert_eq!(count_of(&app, "wallet.topped_up").await, 2);

    // Paying an invoice at finalization debits the wallet and settles the invoice.
    let invoice = one_off(&app, &customer, "10").await;
    finalize(&app, &invoice).await;
    assert_eq!(count_of(&app, "wallet.debited").await, 5);
    let paid = only_event(&app, "invoice.paid", &invoice).await;
    assert_eq!(paid["data"]["creditsApplied"], "20.00");
    assert_eq!(wallet_view(&app, &wallet).await["creditBalance"], "15");

    // The threshold can be changed and cleared.
    let cleared = app
        .ok(
            "mutation($id: UUID!) { setWalletLowBalanceThreshold(id: $id, credits: null) { lowBalanceThreshold } }",
            json!({ "id": wallet }),
        )
        .await;
    assert_eq!(
        cleared["setWalletLowBalanceThreshold"]["lowBalanceThreshold"],
        Value::Null
    );
    app.gql(
        "mutation($id: UUID!) { setWalletLowBalanceThreshold(id: $id, credits: \"-1\") { id } }",
        json!({ "id": wallet }),
    )
    .await
    .assert_error("VALIDATION", Some("credits"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_billing_run_writes_one_event_per_invoice_it_creates_finalizes_or_finds_overdue() {
    // Drafts finalize at once.
    let app = TestApp::with_config(|c| c.billing.invoice_grace = StdDuration::ZERO).await;
    let (basic, _, _) = plans(&app).await;
    let start = (Utc::now() - Duration::days(2)).to_rfc3339();
    let mut subscriptions = Vec::new();
    for i in 0..7 {
        let customer = app.create_customer(&format!("batch-{i}"), None).await;
        subscriptions.push(
            id_of(
                &app,
                "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
                json!({ "input": { "customerId": customer, "planId": basic, "startAt": start } }),
                "createSubscription",
            )
            .await,
        );
    }
    let summary = run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.invoices_created, 7);
    assert_eq!(summary.invoices_finalized, 7);
    assert_eq!(summary.invoices_overdue, 0);

    let created = events(&app, json!({ "types": ["invoice.created"] })).await;
    let finalized = events(&app, json!({ "types": ["invoice.finalized"] })).await;
    assert_eq!(created.len(), 7);
    assert_eq!(finalized.len(), 7);
    let mut invoice_ids: Vec<String> = created
        .iter()
        .map(|e| e["objectId"].as_str().unwrap().to_string())
        .collect();
    invoice_ids.sort();
    invoice_ids.dedup();
    assert_eq!(invoice_ids.len(), 7, "one invoice.created per invoice");
    for event in &created {
        assert_eq!(event["data"]["status"], "DRAFT");
        assert_eq!(event["data"]["total"], "30.00");
        assert!(subscriptions.contains(&event["data"]["subscriptionId"].as_str().unwrap().to_string()));
        assert_eq!(event["data"]["lineItems"].as_array().unwrap().len(), 1);
    }
    for event in &finalized {
        let id = event["objectId"].as_str().unwrap();
        assert!(invoice_ids.contains(&id.to_string()));
        assert_eq!(event["data"]["status"], "FINALIZED");
        assert_eq!(without_hosted_url(&event["data"]), invoice_view(&app, id).await);
    }

    // Their due dates pass: the next run finds them overdue, and announces each once.
    due_dates_pass(&app).await;
    let summary = run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.invoices_overdue, 7);
    let overdue = events(&app, json!({ "types": ["invoice.overdue"] })).await;
    assert_eq!(overdue.len(), 7);
    for event in &overdue {
        assert_eq!(event["data"]["overdue"], true);
        assert_eq!(
            event["data"],
            invoice_view(&app, event["objectId"].as_str().unwrap()).await
        );
    }
    let summary = run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.invoices_overdue, 0);
    assert_eq!(count_of(&app, "invoice.overdue").await, 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_invoices_are_never_announced_overdue() {
    let app = TestApp::new().await;
    let customer = app.create_customer("prompt", None).await;
    let paid = one_off(&app, &customer, "4").await;
    let unpaid = one_off(&app, &customer, "4").await;
    finalize(&app, &paid).await;
    finalize(&app, &unpaid).await;
    pay(&app, &paid, "8", "p").await;
    due_dates_pass(&app).await;
    run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    let overdue = events(&app, json!({ "types": ["invoice.overdue"] })).await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["objectId"], unpaid);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_rolled_back_after_its_event_was_written_leaves_neither() {
    let app = TestApp::new().await;
    let customer = app.create_customer("steady", None).await;
    let name = customer_view(&app, &customer).await["name"].clone();
    // A check the database makes at commit, after the event row was
    // written: the update's transaction fails as a whole.
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    for statement in [
        "CREATE FUNCTION refuse_update_events() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
        "CREATE CONSTRAINT TRIGGER refuse_update_events AFTER INSERT ON outbox_events
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
         WHEN (NEW.event_type = 'customer.updated') EXECUTE FUNCTION refuse_update_events()",
    ] {
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }
    let answer = app
        .gql(
            "mutation($id: UUID!) { updateCustomer(id: $id, input: { name: \"Renamed\" }) { id } }",
            json!({ "id": customer }),
        )
        .await;
    answer.assert_error("INTERNAL", None);
    assert_eq!(customer_view(&app, &customer).await["name"], name);
    assert_eq!(count_of(&app, "customer.updated").await, 0);

    // Without the check, the same change commits with its one event.
    diesel::sql_query("DROP TRIGGER refuse_update_events ON outbox_events")
        .execute(&mut conn)
        .await
        .unwrap();
    app.ok(
        "mutation($id: UUID!) { updateCustomer(id: $id, input: { name: \"Renamed\" }) { id } }",
        json!({ "id": customer }),
    )
    .await;
    let updated = only_event(&app, "customer.updated", &customer).await;
    assert_eq!(updated["data"]["name"], "Renamed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_change_writes_no_event() {
    let app = TestApp::new().await;
    let customer = app.create_customer("refused", None).await;
    let wallet = id_of(
        &app,
        "mutation($c: UUID!) { createWallet(input: { customerId: $c, currency: \"USD\", name: \"W\" }) { id } }",
        json!({ "c": customer }),
        "createWallet",
    )
    .await;
    app.gql(
        "mutation($w: UUID!) { debitWallet(walletId: $w, input: { credits: \"5\", reason: MANUAL,
            idempotencyKey: \"x\" }) { id } }",
        json!({ "w": wallet }),
    )
    .await
    .assert_error("INSUFFICIENT_FUNDS", None);
    assert_eq!(count_of(&app, "wallet.debited").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_events_filter_page_newest_first_and_stay_within_the_tenant() {
    let app = TestApp::new().await;
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(app.create_customer(&format!("c-{i}"), None).await);
    }
    for id in &customers[..2] {
        app.ok(
            "mutation($id: UUID!) { updateCustomer(id: $id, input: { email: \"a@example.com\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    }

    // Pages of 3 walk all 7 events, newest first, with the total on each.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = page(&app, json!({}), 3, after.as_deref()).await;
        assert_eq!(page["totalCount"], 7);
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() <= 3);
        seen.extend(edges.iter().map(|e| e["node"].clone()));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 7);
    let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    assert_eq!(seen[0]["type"], "customer.updated");
    assert_eq!(seen[0]["objectId"], customers[1]);
    let occurred: Vec<&str> = seen.iter().map(|e| e["occurredAt"].as_str().unwrap()).collect();
    assert!(occurred.windows(2).all(|w| w[0] >= w[1]), "{occurred:?}");

    // By type (pages of the type index), by object, by object type.
    let updated = page(&app, json!({ "types": ["customer.updated"] }), 1, None).await;
    assert_eq!(updated["totalCount"], 2);
    assert_eq!(updated["edges"][0]["node"]["objectId"], customers[1]);
    let cursor = updated["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let next = page(&app, json!({ "types": ["customer.updated"] }), 1, Some(&cursor)).await;
    assert_eq!(next["edges"][0]["node"]["objectId"], customers[0]);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);
    let both = page(
        &app,
        json!({ "types": ["customer.updated", "customer.created"] }),
        100,
        None,
    )
    .await;
    assert_eq!(both["totalCount"], 7);
    assert_eq!(both["edges"].as_array().unwrap().len(), 7);
    let of_one = events(&app, json!({ "objectId": customers[0] })).await;
    let types: Vec<&str> = of_one.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["customer.updated", "customer.created"]);
    let of_one_created = page(
        &app,
        json!({ "objectId": customers[0], "types": ["customer.created"] }),
        10,
        None,
    )
    .await;
    assert_eq!(of_one_created["totalCount"], 1);
    assert_eq!(
        page(&app, json!({ "objectType": "customer" }), 10, None).await["totalCount"],
        7
    );
    let none = page(&app, json!({ "objectType": "wallet" }), 10, None).await;
    assert_eq!(none["totalCount"], 0);
    assert_eq!(none["edges"], json!([]));
    let none = page(
        &app,
        json!({ "objectType": "invoice", "types": ["customer.created"] }),
        10,
        None,
    )
    .await;
    assert_eq!(none["totalCount"], 0);

    // One event by id.
    let one = app
        .ok(
            "query($id: UUID!) { webhookEvent(id: $id) { id type objectId data } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert_eq!(one["webhookEvent"]["type"], "customer.updated");
    assert_eq!(one["webhookEvent"]["data"]["email"], "a@example.com");

    // Unknown names are refused, naming the field.
    app.gql(
        EVENTS,
        json!({ "filter": { "types": ["customer.created", "customer.deleted"] } }),
    )
    .await
    .assert_error("VALIDATION", Some("filter.types"));
    app.gql(EVENTS, json!({ "filter": { "objectType": "plan" } }))
        .await
        .assert_error("VALIDATION", Some("filter.objectType"));

    // Another tenant sees none of them.
    let other = app.create_key("globex").await;
    let theirs = app
        .gql_as(Some(&other), EVENTS, json!({ "filter": {}, "first": 100 }))
        .await
        .data();
    assert_eq!(theirs["webhookEvents"]["totalCount"], 0);
    let theirs = app
        .gql_as(
            Some(&other),
            EVENTS,
            json!({ "filter": { "objectId": customers[0] }, "first": 100 }),
        )
        .await
        .data();
    assert_eq!(theirs["webhookEvents"]["edges"], json!([]));
    app.gql_as(
        Some(&other),
        "query($id: UUID!) { webhookEvent(id: $id) { id } }",
        json!({ "id": ids[0] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    // And its own events are its own.
    app.create_customer_as(&other, "theirs", None).await;
    let theirs = app
        .gql_as(Some(&other), EVENTS, json!({ "filter": {}, "first": 100 }))
        .await
        .data();
    assert_eq!(theirs["webhookEvents"]["totalCount"], 1);
    assert_eq!(page(&app, json!({}), 100, None).await["totalCount"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_deletes_only_events_older_than_the_setting() {
    let app = TestApp::new().await;
    let keep = app.create_customer("recent", None).await;
    let aged = app.create_customer("aged", None).await;
    let older = app.create_customer("older", None).await;
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    for (id, days) in [(&aged, 40), (&older, 70)] {
        diesel::sql_query(format!(
            "UPDATE outbox_events SET occurred_at = now() - interval '{days} days' WHERE object_id = '{id}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // Kept 60 days: only the 70-day-old event goes.
    assert_eq!(delete_expired(&app.state.pool, 60, Utc::now()).await.unwrap(), 1);
    let left: Vec<String> = events(&app, json!({}))
        .await
        .iter()
        .map(|e| e["objectId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, [aged.clone(), keep.clone()]);
    // Kept 30 days (also what any shorter setting means): the 40-day-old one goes too.
    assert_eq!(delete_expired(&app.state.pool, 1, Utc::now()).await.unwrap(), 1);
    let left = events(&app, json!({})).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["objectId"], keep);
    assert_eq!(delete_expired(&app.state.pool, 30, Utc::now()).await.unwrap(), 0);
}

/// Statements one billing run makes for `subscriptions` new subscriptions
/// (each billed, finalized and announced).
async fn statements_of_a_run(subscriptions: usize) -> u64 {
    let app = TestApp::with_config(|c| c.billing.invoice_grace = StdDuration::ZERO).await;
    let (basic, _, _) = plans(&app).await;
    let start = (Utc::now() - Duration::days(2)).to_rfc3339();
    for i in 0..subscriptions {
        let customer = app.create_customer(&format!("s-{i}"), None).await;
        app.ok(
            "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
            json!({ "input": { "customerId": customer, "planId": basic, "startAt": start } }),
        )
        .await;
    }
    let before = app.statements();
    let summary = run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    let statements = app.statements() - before;
    assert_eq!(summary.invoices_finalized, subscriptions);
    assert_eq!(count_of(&app, "invoice.created").await, subscriptions);
    assert_eq!(count_of(&app, "invoice.finalized").await, subscriptions);
    statements
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_events_cost_the_same_statements_whatever_the_number_of_invoices() {
    let few = statements_of_a_run(2).await;
    let many = statements_of_a_run(12).await;
    assert_eq!(
        few, many,
        "a run's statements grew with its invoices: {few} for 2, {many} for 12"
    );
}

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_shape_walks_an_index_whatever_the_number_of_events() {
    use billgraph::db::outbox::{EventFilter, page_statement};

    let app = TestApp::new().await;
    let customer = app.create_customer("busy", None).await;
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    // 60,000 events of the tenant, across types and objects.
    diesel::sql_query(
        "INSERT INTO outbox_events (tenant_id, id, event_type, object_type, object_id, occurred_at, data)
         SELECT o.tenant_id, gen_random_uuid(),
                (ARRAY['invoice.created','invoice.paid','wallet.debited','customer.updated'])[1 + i % 4],
                'invoice', gen_random_uuid(), now(), '{}'::jsonb
         FROM outbox_events o, generate_series(1, 60000) AS i",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE outbox_events")
        .execute(&mut conn)
        .await
        .unwrap();
    let tenant: Vec<PlanLine> = diesel::sql_query(format!(
        "SELECT tenant_id::text AS \"QUERY PLAN\" FROM outbox_events WHERE object_id = '{customer}'"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let tenant = &tenant[0].line;

    let types = Some(vec!["invoice.paid".to_string(), "wallet.debited".to_string()]);
    let object_id = Some(customer.parse().unwrap());
    let shapes = [
        (EventFilter::default(), "outbox_events_pkey"),
        (
            EventFilter {
                types: types.clone(),
                object_id: None,
            },
            "outbox_events_type",
        ),
        (EventFilter { types: None, object_id }, "outbox_events_object"),
        (EventFilter { types, object_id }, "outbox_events_object"),
    ];
    for (i, (filter, index)) in shapes.iter().enumerate() {
        for after in [false, true] {
            let sql = page_statement(filter, after);
            let name = format!("page_{i}_{after}");
            diesel::sql_query(format!("PREPARE {name} AS {sql}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let mut args = vec![format!("'{tenant}'"), "20".to_string()];
            if let Some(id) = filter.object_id {
                args.push(format!("'{id}'"));
            }
            if let Some(types) = &filter.types {
                args.push(format!("ARRAY['{}']", types.join("','")));
            }
            if after {
                args.push("'ffffffff-ffff-7fff-bfff-ffffffffffff'".to_string());
            }
            let plan: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN EXECUTE {name}({})", args.join(", ")))
                .load(&mut conn)
                .await
                .unwrap();
            let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
            let text = plan.join("\n");
            assert!(
                text.contains(index),
                "shape {i} (after: {after}) does not use {index}:\n{text}"
            );
            assert!(
                !text.contains("Seq Scan"),
                "shape {i} (after: {after}) scans the table:\n{text}"
            );
            assert!(
                !text.contains("Bitmap"),
                "shape {i} (after: {after}) reads every match:\n{text}"
            );
        }
    }
}
