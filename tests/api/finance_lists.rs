//! The lists a finance team works from: the tenant's invoices through any
//! mix of filters, page after page, overdue by the request's clock and
//! never another tenant's; a subscription's invoices; and closing wallets
//! without losing a credit by accident.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use billgraph::billing::run::run;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{TestApp, ago};

const LIST: &str = "query($filter: InvoiceFilterInput, $first: Int, $after: String) {
    invoices(filter: $filter, first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id status paymentStatus overdue total amountDue issuedAt createdAt customer { id } } }
    }
}";
const ONE_OFF: &str = "mutation($c: UUID!, $cur: String!, $amount: Decimal!) {
    createOneOffInvoice(customerId: $c, currency: $cur, lines: [{ description: \"Service\", unitAmount: $amount }]) { id }
}";
const FINALIZE: &str = "mutation($id: UUID!) { finalizeInvoice(id: $id) { id total amountDue creditsApplied } }";
const VOID: &str = "mutation($id: UUID!) { voidInvoice(id: $id) { id status } }";
const PAY: &str = "mutation($id: UUID!, $amount: Decimal!, $key: String!) {
    recordPayment(input: { invoiceId: $id, amount: $amount, method: BANK_TRANSFER, idempotencyKey: $key }) {
        invoice { paymentStatus amountDue }
    }
}";
const WALLET: &str = "query($id: UUID!) { wallet(id: $id) {
    status closedAt creditBalance balance
    transactions(first: 100) { edges { node { kind reason credits amount balanceAfter } } }
} }";
const CLOSE: &str = "mutation($id: UUID!, $forfeit: Boolean!) { closeWallet(id: $id, forfeitCredits: $forfeit) {
    id status closedAt creditBalance balance
} }";

async fn one_off(app: &TestApp, customer: &str, currency: &str, amount: &str) -> String {
    let vars = json!({ "c": customer, "cur": currency, "amount": amount });
    app.ok(ONE_OFF, vars).await["createOneOffInvoice"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn finalize(app: &TestApp, id: &str) -> Value {
    app.ok(FINALIZE, json!({ "id": id })).await["finalizeInvoice"].clone()
}

async fn pay(app: &TestApp, id: &str, amount: &str, key: &str) {
    app.ok(PAY, json!({ "id": id, "amount": amount, "key": key })).await;
}

async fn void(app: &TestApp, id: &str) {
    app.ok(VOID, json!({ "id": id })).await;
}

/// One page of the tenant's list: its ids, the page info and the total.
async fn page(app: &TestApp, filter: Value, first: i64, after: Option<&str>) -> (Vec<String>, Value, i64) {
    let data = app
        .ok(LIST, json!({ "filter": filter, "first": first, "after": after }))
        .await;
    let list = &data["invoices"];
    let ids = list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    (ids, list["pageInfo"].clone(), list["totalCount"].as_i64().unwrap())
}

/// The whole list through a filter in one page, checked against its total.
async fn listed(app: &TestApp, filter: Value) -> Vec<String> {
    let (ids, info, total) = page(app, filter.clone(), 100, None).await;
    assert_eq!(total, ids.len() as i64, "totalCount of {filter}");
    assert_eq!(info["hasNextPage"], false);
    ids
}

fn ids(of: &[&String]) -> Vec<String> {
    of.iter().map(|s| s.to_string()).collect()
}

/// Eight invoices of two customers, one in each state a list tells apart,
/// dated in this order (a draft by its creation, the others by their issue).
struct Ledger {
    a: String,
    b: String,
    a_draft: String,
    a_voided: String,
    a_overdue: String,
    a_overdue_partly_paid: String,
    a_paid: String,
    b_pending: String,
    b_partly_paid: String,
    b_voided: String,
}

impl Ledger {
    /// Newest first: the order of the tenant's list.
    fn newest_first(&self) -> Vec<String> {
        ids(&[
            &self.b_voided,
            &self.b_partly_paid,
            &self.b_pending,
            &self.a_paid,
            &self.a_overdue_partly_paid,
            &self.a_overdue,
            &self.a_voided,
            &self.a_draft,
        ])
    }
}

/// Invoices finalized by `due_now` fall due at once (net terms of 0 days),
/// so every later request sees them overdue; `app`'s fall due in 30 days.
async fn seed(app: &TestApp) -> Ledger {
    let due_now = app.reconfigured(|c| c.billing.net_terms_days = 0);
    let a = app.create_customer("a", None).await;
    let b = app.create_customer("b", None).await;
    let a_draft = one_off(app, &a, "USD", "10").await;
    let a_voided = one_off(app, &a, "USD", "11").await;
    finalize(app, &a_voided).await;
    void(app, &a_voided).await;
    let a_overdue = one_off(app, &a, "USD", "20").await;
    finalize(&due_now, &a_overdue).await;
    let a_overdue_partly_paid = one_off(app, &a, "USD", "30").await;
    finalize(&due_now, &a_overdue_partly_paid).await;
    pay(app, &a_overdue_partly_paid, "5", "p1").await;
    let a_paid = one_off(app, &a, "USD", "40").await;
    finalize(app, &a_paid).await;
    pay(app, &a_paid, "40", "p2").await;
    let b_pending = one_off(app, &b, "EUR", "50").await;
    finalize(app, &b_pending).await;
    let b_partly_paid = one_off(app, &b, "EUR", "60").await;
    finalize(app, &b_partly_paid).await;
    pay(app, &b_partly_paid, "0.01", "p3").await;
    let b_voided = one_off(app, &b, "JPY", "700").await;
    finalize(app, &b_voided).await;
    void(app, &b_voided).await;
    Ledger {
        a,
        b,
        a_draft,
        a_voided,
        a_overdue,
        a_overdue_partly_paid,
        a_paid,
        b_pending,
        b_partly_paid,
        b_voided,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_alone_and_combined_lists_exactly_its_invoices_newest_first() {
    let app = TestApp::new().await;
    let l = seed(&app).await;
    let all = listed(&app, json!(null)).await;
    assert_eq!(all, l.newest_first());
    assert_eq!(listed(&app, json!({})).await, all);

    // Each state as the list shows it.
    let data = app.ok(LIST, json!({ "first": 100 })).await;
    let shown: Vec<(String, String, bool, String)> = data["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["status"].as_str().unwrap().to_string(),
                n["paymentStatus"].as_str().unwrap().to_string(),
                n["overdue"].as_bool().unwrap(),
                n["amountDue"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let state = |s: &str, p: &str, overdue: bool, due: &str| (s.to_string(), p.to_string(), overdue, due.to_string());
    assert_eq!(
        shown,
        vec![
            state("VOIDED", "VOID", false, "0"),
            // 60.00 - 0.01 paid
            state("FINALIZED", "PARTIALLY_PAID", false, "59.99"),
            state("FINALIZED", "PENDING", false, "50.00"),
            state("FINALIZED", "PAID", false, "0.00"),
            // 30.00 - 5.00 paid, due at its issue
            state("FINALIZED", "PARTIALLY_PAID", true, "25.00"),
            state("FINALIZED", "PENDING", true, "20.00"),
            state("VOIDED", "VOID", false, "0.00"),
            state("DRAFT", "PENDING", false, "10.00"),
        ]
    );

    // One filter at a time.
    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({ "status": "DRAFT" }), ids(&[&l.a_draft])),
        (
            json!({ "status": "FINALIZED" }),
            ids(&[
                &l.b_partly_paid,
                &l.b_pending,
                &l.a_paid,
                &l.a_overdue_partly_paid,
                &l.a_overdue,
            ]),
        ),
        (json!({ "status": "VOIDED" }), ids(&[&l.b_voided, &l.a_voided])),
        (
            json!({ "paymentStatus": "PENDING" }),
            ids(&[&l.b_pending, &l.a_overdue, &l.a_draft]),
        ),
        (
            json!({ "paymentStatus": "PARTIALLY_PAID" }),
            ids(&[&l.b_partly_paid, &l.a_overdue_partly_paid]),
        ),
        (json!({ "paymentStatus": "PAID" }), ids(&[&l.a_paid])),
        (json!({ "paymentStatus": "VOID" }), ids(&[&l.b_voided, &l.a_voided])),
        (
            json!({ "customerId": l.a }),
            ids(&[
                &l.a_paid,
                &l.a_overdue_partly_paid,
                &l.a_overdue,
                &l.a_voided,
                &l.a_draft,
            ]),
        ),
        (
            json!({ "customerId": l.b }),
            ids(&[&l.b_voided, &l.b_partly_paid, &l.b_pending]),
        ),
        (
            json!({ "overdue": true }),
            ids(&[&l.a_overdue_partly_paid, &l.a_overdue]),
        ),
        (
            json!({ "overdue": false }),
            ids(&[
                &l.b_voided,
                &l.b_partly_paid,
                &l.b_pending,
                &l.a_paid,
                &l.a_voided,
                &l.a_draft,
            ]),
        ),
        // Combined: all must hold.
        (
            json!({ "customerId": l.b, "paymentStatus": "PARTIALLY_PAID" }),
            ids(&[&l.b_partly_paid]),
        ),
        (json!({ "customerId": l.a, "status": "VOIDED" }), ids(&[&l.a_voided])),
        (json!({ "customerId": l.b, "overdue": true }), vec![]),
        (
            json!({ "customerId": l.a, "status": "FINALIZED", "overdue": false }),
            ids(&[&l.a_paid]),
        ),
        (
            json!({ "paymentStatus": "PARTIALLY_PAID", "overdue": true }),
            ids(&[&l.a_overdue_partly_paid]),
        ),
        (
            json!({ "paymentStatus": "PARTIALLY_PAID", "overdue": false }),
            ids(&[&l.b_partly_paid]),
        ),
        (
            json!({ "status": "FINALIZED", "paymentStatus": "PENDING", "overdue": false }),
            ids(&[&l.b_pending]),
        ),
        // No invoice can be in these states.
        (json!({ "status": "DRAFT", "paymentStatus": "PAID" }), vec![]),
        (json!({ "status": "VOIDED", "overdue": true }), vec![]),
        (json!({ "paymentStatus": "PAID", "overdue": true }), vec![]),
    ];
    for (filter, want) in cases {
        assert_eq!(listed(&app, filter.clone()).await, want, "{filter}");
    }

    // Dates: from is inclusive, to exclusive; a draft is dated by its creation.
    let node = |i: usize| data["invoices"]["edges"][i]["node"].clone();
    let date = |n: Value| n["issuedAt"].as_str().or(n["createdAt"].as_str()).unwrap().to_string();
    let (b_pending_at, a_overdue_at, a_voided_at) = (date(node(2)), date(node(5)), date(node(6)));
    assert_eq!(node(7)["issuedAt"], Value::Null, "a draft");
    let dated: Vec<(Value, Vec<String>)> = vec![
        (
            json!({ "from": a_overdue_at, "to": b_pending_at }),
            ids(&[&l.a_paid, &l.a_overdue_partly_paid, &l.a_overdue]),
        ),
        (
            json!({ "from": b_pending_at }),
            ids(&[&l.b_voided, &l.b_partly_paid, &l.b_pending]),
        ),
        (json!({ "to": a_voided_at }), ids(&[&l.a_draft])),
        (json!({ "from": a_voided_at, "to": a_overdue_at }), ids(&[&l.a_voided])),
        (
            json!({ "from": a_voided_at, "to": b_pending_at, "customerId": l.a, "overdue": true }),
            ids(&[&l.a_overdue_partly_paid, &l.a_overdue]),
        ),
        (
            json!({ "to": b_pending_at, "paymentStatus": "VOID" }),
            ids(&[&l.a_voided]),
        ),
    ];
    for (filter, want) in dated {
        assert_eq!(listed(&app, filter.clone()).await, want, "{filter}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn overdue_follows_payments_and_the_request_clock() {
    let app = TestApp::new().await;
    let due_now = app.reconfigured(|c| c.billing.net_terms_days = 0);
    let customer = app.create_customer("late", None).await;
    let late = one_off(&app, &customer, "KWD", "1.234").await;
    let finalized = finalize(&due_now, &late).await;
    // Due at its issue: not overdue in the answer that issued it (the
    // request's clock started before), overdue in every later request.
    assert_eq!(finalized["amountDue"], "1.234");
    assert_eq!(listed(&app, json!({ "overdue": true })).await, vec![late.clone()]);
    // 1.234 - 1.000 = 0.234 still due: still overdue.
    pay(&app, &late, "1", "k1").await;
    assert_eq!(listed(&app, json!({ "overdue": true })).await, vec![late.clone()]);
    pay(&app, &late, "0.234", "k2").await;
    assert!(listed(&app, json!({ "overdue": true })).await.is_empty());
    assert_eq!(listed(&app, json!({ "overdue": false })).await, vec![late.clone()]);

    // Net terms of 30 days: owed but not late.
    let owed = one_off(&app, &customer, "KWD", "2").await;
    finalize(&app, &owed).await;
    assert!(listed(&app, json!({ "overdue": true })).await.is_empty());
    assert_eq!(listed(&app, json!({ "overdue": false })).await, vec![owed, late]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let app = TestApp::new().await;
    let customers = [
        app.create_customer("p1", None).await,
        app.create_customer("p2", None).await,
    ];
    let mut drafts = Vec::new();
    for i in 0..23 {
        let id = one_off(&app, &customers[i % 2], "USD", &format!("{}.50", i + 1)).await;
        match i % 3 {
            0 => drafts.push(id),
            1 => {
                finalize(&app, &id).await;
            }
            _ => {
                finalize(&app, &id).await;
                pay(&app, &id, &format!("{}.50", i + 1), &format!("pay-{i}")).await;
            }
        }
    }
    for filter in [
        json!(null),
        json!({ "customerId": customers[0] }),
        json!({ "status": "FINALIZED" }),
        json!({ "paymentStatus": "PENDING", "customerId": customers[1] }),
        json!({ "overdue": false }),
    ] {
        let whole = listed(&app, filter.clone()).await;
        let mut walked = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (ids, info, total) = page(&app, filter.clone(), 4, after.as_deref()).await;
            assert_eq!(total, whole.len() as i64, "{filter}");
            assert_eq!(info["hasPreviousPage"], after.is_some());
            walked.extend(ids);
            if info["hasNextPage"] == false {
                break;
            }
            after = Some(info["endCursor"].as_str().unwrap().to_string());
        }
        assert_eq!(walked, whole, "{filter}");
    }
    let (_, info, _) = page(&app, json!(null), 0, None).await;
    assert_eq!(info["hasNextPage"], true);

    // A draft finalized while a client pages moves to its issue date, the
    // front of the list: the pages after the cursor neither lose a place
    // nor repeat one.
    let (first, info, _) = page(&app, json!(null), 5, None).await;
    let oldest_draft = &drafts[0];
    finalize(&app, oldest_draft).await;
    let mut rest = Vec::new();
    let mut after = info["endCursor"].as_str().map(str::to_string);
    while let Some(cursor) = after {
        let (ids, info, _) = page(&app, json!(null), 5, Some(&cursor)).await;
        rest.extend(ids);
        after = info["endCursor"]
            .as_str()
            .filter(|_| info["hasNextPage"] == true)
            .map(str::to_string);
    }
    assert_eq!(first.len() + rest.len(), 22, "all but the one that moved ahead");
    assert!(!rest.contains(oldest_draft) && !first.contains(oldest_draft));
    let mut seen = first.clone();
    seen.extend(rest);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 22, "no invoice twice");
    assert_eq!(listed(&app, json!(null)).await[0], *oldest_draft);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_invoices_never_appear() {
    let app = TestApp::new().await;
    let other_key = app.create_key("globex").await;
    let ours = app.create_customer("ours", None).await;
    let theirs = app.create_customer_as(&other_key, "theirs", None).await;
    let our_invoice = one_off(&app, &ours, "USD", "1").await;
    let their_invoice = app
        .gql_as(
            Some(&other_key),
            ONE_OFF,
            json!({ "c": theirs, "cur": "USD", "amount": "2" }),
        )
        .await
        .data()["createOneOffInvoice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed(&app, json!(null)).await, vec![our_invoice.clone()]);
    assert!(listed(&app, json!({ "customerId": theirs })).await.is_empty());
    let theirs_listed = app.gql_as(Some(&other_key), LIST, json!({ "first": 10 })).await.data();
    assert_eq!(theirs_listed["invoices"]["totalCount"], 1);
    assert_eq!(
        theirs_listed["invoices"]["edges"][0]["node"]["id"],
        their_invoice.as_str()
    );
    // Their cursor places our page nowhere in their list.
    let cursor = theirs_listed["invoices"]["edges"][0]["cursor"].as_str().unwrap();
    let (after_theirs, _, _) = page(&app, json!(null), 10, Some(cursor)).await;
    assert!(!after_theirs.contains(&their_invoice));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_filters_and_cursors_are_refused_with_the_field_named() {
    let app = TestApp::new().await;
    let at = "2026-03-01T00:00:00Z";
    for filter in [
        json!({ "from": at, "to": at }),
        json!({ "from": "2026-03-02T00:00:00Z", "to": at }),
    ] {
        app.gql(LIST, json!({ "filter": filter }))
            .await
            .assert_error("VALIDATION", Some("filter.to"));
    }
    app.gql(LIST, json!({ "first": 101 }))
        .await
        .assert_error("VALIDATION", Some("first"));
    app.gql(LIST, json!({ "after": "not-a-cursor" }))
        .await
        .assert_error("VALIDATION", Some("after"));
    // A customer list's cursor (an id) is not a position in the dated list.
    let customer = app.create_customer("c", None).await;
    one_off(&app, &customer, "USD", "1").await;
    let by_customer = app
        .ok(
            "query($c: UUID!) { customer(id: $c) { invoices(first: 1) { edges { cursor } } } }",
            json!({ "c": customer }),
        )
        .await;
    let id_cursor = by_customer["customer"]["invoices"]["edges"][0]["cursor"].clone();
    app.gql(LIST, json!({ "after": id_cursor }))
        .await
        .assert_error("VALIDATION", Some("after"));
    app.gql(LIST, json!({ "filter": { "status": "PAID" } }))
        .await
        .assert_error("VALIDATION", None);
}

/// A daily plan of 3.00 in advance.
async fn daily_plan(app: &TestApp) -> String {
    let input = json!({ "name": "Daily", "prices": [
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "3", "invoiceCadence": "ADVANCE" }
    ] });
    app.ok(
        "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn subscribe(app: &TestApp, customer: &str, plan: &str, start: DateTime<Utc>) -> String {
    app.ok(
        "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
        json!({ "input": { "customerId": customer, "planId": plan, "startAt": start.to_rfc3339() } }),
    )
    .await["createSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const SUBSCRIPTION_INVOICES: &str = "query($id: UUID!, $status: InvoiceStatus, $first: Int, $after: String) {
    subscription(id: $id) {
        invoices(status: $status, first: $first, after: $after) {
            totalCount pageInfo { hasNextPage endCursor }
            edges { node { id status periodEnd subscription { id } lineItems { amount } } }
        }
    }
}";

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_lists_its_own_invoices_newest_first() {
    let app = TestApp::new().await;
    let plan = daily_plan(&app).await;
    let customer = app.create_customer("sub", None).await;
    let start = ago(Duration::days(4) + Duration::hours(1));
    let first = subscribe(&app, &customer, &plan, start).await;
    let second = subscribe(&app, &customer, &plan, start + Duration::hours(12)).await;
    // The start and four day ends for the first, the start and three for the second.
    let summary = run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.invoices_created, 9);

    let list = async |status: Option<&str>, first_n: i64, after: Option<String>| {
        app.ok(
            SUBSCRIPTION_INVOICES,
            json!({ "id": first, "status": status, "first": first_n, "after": after }),
        )
        .await["subscription"]["invoices"]
            .clone()
    };
    let all = list(None, 10, None).await;
    assert_eq!(all["totalCount"], 5);
    let nodes: Vec<Value> = all["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(nodes.len(), 5);
    let period_ends: Vec<&str> = nodes.iter().map(|n| n["periodEnd"].as_str().unwrap()).collect();
    let mut newest_first = period_ends.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(period_ends, newest_first, "newest first");
    for node in &nodes {
        assert_eq!(node["subscription"]["id"], first.as_str());
        // Every period bills the 3.00 fee in advance.
        assert_eq!(node["lineItems"][0]["amount"], "3.00");
    }

    // Pages of two, then a status.
    let page1 = list(None, 2, None).await;
    let page2 = list(None, 2, page1["pageInfo"]["endCursor"].as_str().map(str::to_string)).await;
    let page3 = list(None, 2, page2["pageInfo"]["endCursor"].as_str().map(str::to_string)).await;
    let paged: Vec<Value> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()))
        .collect();
    let whole: Vec<Value> = nodes.iter().map(|n| n["id"].clone()).collect();
    assert_eq!(paged, whole);
    assert_eq!(page3["pageInfo"]["hasNextPage"], false);

    let newest = whole[0].as_str().unwrap().to_string();
    finalize(&app, &newest).await;
    let finalized = list(Some("FINALIZED"), 10, None).await;
    assert_eq!(finalized["totalCount"], 1);
    assert_eq!(finalized["edges"][0]["node"]["id"], newest.as_str());
    let drafts = list(Some("DRAFT"), 10, None).await;
    assert_eq!(drafts["totalCount"], 4);
    assert_eq!(list(Some("VOIDED"), 10, None).await["totalCount"], 0);

    // The other subscription's invoices are its own.
    let other = app
        .ok(SUBSCRIPTION_INVOICES, json!({ "id": second, "first": 10 }))
        .await;
    assert_eq!(other["subscription"]["invoices"]["totalCount"], 4);
    for edge in other["subscription"]["invoices"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["subscription"]["id"], second.as_str());
    }
}

async fn create_wallet(app: &TestApp, customer: &str, currency: &str, rate: &str) -> String {
    app.ok(
        "mutation($c: UUID!, $cur: String!, $rate: Decimal!) {
            createWallet(input: { customerId: $c, currency: $cur, name: \"Prepaid\", conversionRate: $rate }) { id }
        }",
        json!({ "c": customer, "cur": currency, "rate": rate }),
    )
    .await["createWallet"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn top_up(app: &TestApp, wallet: &str, credits: &str, key: &str, expires_at: Option<DateTime<Utc>>) {
    app.ok(
        "mutation($w: UUID!, $input: TopUpWalletInput!) { topUpWallet(walletId: $w, input: $input) { id } }",
        json!({ "w": wallet, "input": { "credits": credits, "idempotencyKey": key,
                "expiresAt": expires_at.map(|e| e.to_rfc3339()) } }),
    )
    .await;
}

fn debit_query(wallet: &str, credits: &str, key: &str) -> (&'static str, Value) {
    (
        "mutation($w: UUID!, $input: DebitWalletInput!) { debitWallet(walletId: $w, input: $input) { id } }",
        json!({ "w": wallet, "input": { "credits": credits, "idempotencyKey": key } }),
    )
}

/// The ledger's entries, oldest first: (kind, reason, credits, amount, balance after).
async fn entries(app: &TestApp, wallet: &str) -> Vec<[String; 5]> {
    let data = app.ok(WALLET, json!({ "id": wallet })).await;
    let mut list: Vec<[String; 5]> = data["wallet"]["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            ["kind", "reason", "credits", "amount", "balanceAfter"].map(|f| n[f].as_str().unwrap().to_string())
        })
        .collect();
    list.reverse();
    list
}

fn entry(kind: &str, reason: &str, credits: &str, amount: &str, after: &str) -> [String; 5] {
    [kind, reason, credits, amount, after].map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wallet_with_credits_closes_only_when_they_are_forfeited_and_then_takes_nothing() {
    let app = TestApp::new().await;
    let customer = app.create_customer("holder", None).await;
    // 100 credits buy 1 USD.
    let wallet = create_wallet(&app, &customer, "USD", "0.01").await;
    top_up(&app, &wallet, "2000", "t1", None).await;
    let (debit, vars) = debit_query(&wallet, "750.5", "d1");
    app.ok(debit, vars).await;

    // 2000 - 750.5 = 1249.5 credits, worth 12.495 USD, shown as 12.50.
    let refused = app.gql(CLOSE, json!({ "id": wallet, "forfeit": false })).await;
    refused.assert_error("CONFLICT", None);
    assert!(
        refused.message().contains("1249.5 spendable credits"),
        "{}",
        refused.message()
    );
    let still = app.ok(WALLET, json!({ "id": wallet })).await["wallet"].clone();
    assert_eq!(
        (still["status"].as_str(), still["balance"].as_str()),
        (Some("ACTIVE"), Some("12.50"))
    );

    let closed = app.ok(CLOSE, json!({ "id": wallet, "forfeit": true })).await["closeWallet"].clone();
    assert_eq!(closed["status"], "CLOSED");
    assert!(closed["closedAt"].is_string());
    assert_eq!(
        (closed["creditBalance"].as_str(), closed["balance"].as_str()),
        (Some("0"), Some("0.00"))
    );
    assert_eq!(
        entries(&app, &wallet).await,
        vec![
            entry("CREDIT", "TOP_UP", "2000", "20.00", "2000"),
            // 750.5 credits x 0.01 = 7.505, rounded half away from zero.
            entry("DEBIT", "MANUAL", "750.5", "7.51", "1249.5"),
            entry("DEBIT", "WALLET_CLOSED", "1249.5", "12.50", "0"),
        ]
    );

    // Closed: no second close, no top-up, no debit; the ledger stays as it is.
    app.gql(CLOSE, json!({ "id": wallet, "forfeit": true }))
        .await
        .assert_error("CONFLICT", None);
    let top_up_again = app
        .gql(
            "mutation($w: UUID!) { topUpWallet(walletId: $w, input: { credits: \"1\", idempotencyKey: \"t2\" }) { id } }",
            json!({ "w": wallet }),
        )
        .await;
    top_up_again.assert_error("CONFLICT", None);
    let (debit, vars) = debit_query(&wallet, "1", "d2");
    app.gql(debit, vars).await.assert_error("CONFLICT", None);
    assert_eq!(entries(&app, &wallet).await.len(), 3);

    // Another tenant cannot close it (nor see it).
    let other = app.create_key("other").await;
    app.gql_as(Some(&other), CLOSE, json!({ "id": wallet, "forfeit": true }))
        .await
        .assert_error("NOT_FOUND", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_wallet_or_one_whose_credits_expired_closes_without_forfeiting() {
    let app = TestApp::new().await;
    let customer = app.create_customer("holder", None).await;
    let empty = create_wallet(&app, &customer, "JPY", "1").await;
    let closed = app.ok(CLOSE, json!({ "id": empty, "forfeit": false })).await["closeWallet"].clone();
    assert_eq!(
        (closed["status"].as_str(), closed["balance"].as_str()),
        (Some("CLOSED"), Some("0"))
    );
    assert!(entries(&app, &empty).await.is_empty());

    let expiring = create_wallet(&app, &customer, "JPY", "1").await;
    top_up(
        &app,
        &expiring,
        "500",
        "t1",
        Some(Utc::now() + Duration::milliseconds(300)),
    )
    .await;
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    app.ok(CLOSE, json!({ "id": expiring, "forfeit": false })).await;
    assert_eq!(
        entries(&app, &expiring).await,
        vec![
            entry("CREDIT", "TOP_UP", "500", "500", "500"),
            entry("DEBIT", "EXPIRY", "500", "500", "0"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_wallet_pays_no_invoice_and_an_invoice_it_paid_cannot_be_voided() {
    let app = TestApp::new().await;
    let customer = app.create_customer("payer", None).await;
    let closing = create_wallet(&app, &customer, "EUR", "1").await;
    top_up(&app, &closing, "8", "t1", None).await;
    // It pays 8.00 of a 10.00 invoice while it is open.
    let paid_by_it = one_off(&app, &customer, "EUR", "10").await;
    let first = finalize(&app, &paid_by_it).await;
    assert_eq!(
        (first["creditsApplied"].as_str(), first["amountDue"].as_str()),
        (Some("8.00"), Some("2.00"))
    );
    app.ok(CLOSE, json!({ "id": closing, "forfeit": false })).await;

    // Closed and empty, it pays nothing; an open wallet in the currency still pays.
    let open = create_wallet(&app, &customer, "EUR", "1").await;
    top_up(&app, &open, "3", "t2", None).await;
    let later = one_off(&app, &customer, "EUR", "5").await;
    let second = finalize(&app, &later).await;
    // 5.00 - 3.00 from the open wallet = 2.00 due.
    assert_eq!(
        (second["creditsApplied"].as_str(), second["amountDue"].as_str()),
        (Some("3.00"), Some("2.00"))
    );
    assert_eq!(
        entries(&app, &closing).await.len(),
        2,
        "top-up and the first invoice's payment only"
    );

    // Voiding would hand 8 credits back to a wallet that holds nothing: refused.
    let refused = app.gql(VOID, json!({ "id": paid_by_it })).await;
    refused.assert_error("CONFLICT", None);
    assert!(refused.message().contains("closed"), "{}", refused.message());
    let invoice = app
        .ok(
            "query($id: UUID!) { invoice(id: $id) { status } }",
            json!({ "id": paid_by_it }),
        )
        .await;
    assert_eq!(invoice["invoice"]["status"], "FINALIZED");
    let wallet = app.ok(WALLET, json!({ "id": closing })).await["wallet"].clone();
    assert_eq!(wallet["creditBalance"], "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_closes_and_debits_settle_every_credit_once() {
    let app = Arc::new(TestApp::new().await);
    let customer = app.create_customer("racer", None).await;
    let wallet = create_wallet(&app, &customer, "USD", "1").await;
    top_up(&app, &wallet, "100", "t1", None).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (app, wallet) = (app.clone(), wallet.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    app.gql(CLOSE, json!({ "id": wallet, "forfeit": true })).await.body
                } else {
                    let (debit, vars) = debit_query(&wallet, "7", &format!("d{i}"));
                    app.gql(debit, vars).await.body
                }
            })
        })
        .collect();
    let mut closes = 0;
    for task in tasks {
        let body = task.await.unwrap();
        if body["data"]["closeWallet"]["status"] == "CLOSED" {
            closes += 1;
        }
    }
    assert_eq!(closes, 1, "exactly one close succeeds");
    let ledger = entries(&app, &wallet).await;
    let debits = ledger.iter().filter(|e| e[1] == "MANUAL").count();
    let closing = ledger.iter().filter(|e| e[1] == "WALLET_CLOSED").collect::<Vec<_>>();
    assert_eq!(closing.len(), 1);
    // What the debits before the close took plus what it wrote off is the top-up.
    let forfeited: i64 = closing[0][2].parse().unwrap();
    assert_eq!(7 * debits as i64 + forfeited, 100);
    assert_eq!(ledger.last().unwrap()[4], "0");
}

/// A credit note settles what is due as a payment does: an invoice fully
/// credited is listed PAID, one credited in part keeps its status, and
/// neither counts as open once nothing is due.
#[tokio::test(flavor = "multi_thread")]
async fn credit_notes_settle_invoices_in_the_lists() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (whole, part) = (
        one_off(&app, &customer, "USD", "10").await,
        one_off(&app, &customer, "USD", "10").await,
    );
    finalize(&app, &whole).await;
    finalize(&app, &part).await;
    let credit = "mutation($id: UUID!, $amount: Decimal!) {
        createCreditNote(invoiceId: $id, input: { amount: $amount, reason: OTHER }) { number } }";
    // 10.00 of 10.00 due: nothing left, PAID. 4.00 of 10.00: 6.00 still due.
    app.ok(credit, json!({ "id": whole, "amount": "10" })).await;
    app.ok(credit, json!({ "id": part, "amount": "4" })).await;
    assert_eq!(
        listed(&app, json!({ "paymentStatus": "PAID" })).await,
        vec![whole.clone()]
    );
    assert_eq!(
        listed(&app, json!({ "paymentStatus": "PENDING" })).await,
        vec![part.clone()]
    );
    let due = app
        .ok(
            "query($id: UUID!) { invoice(id: $id) { paymentStatus amountDue overdue } }",
            json!({ "id": part }),
        )
        .await["invoice"]
        .clone();
    assert_eq!(
        due,
        json!({ "paymentStatus": "PENDING", "amountDue": "6.00", "overdue": false })
    );
}
