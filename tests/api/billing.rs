//! The billing run, invoices and payments as a customer lives them: a
//! subscription's periods end, drafts appear, late usage still counts,
//! finalization numbers them and lets wallets pay, payments settle them.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use billgraph::billing::run::{RunSummary, run};

use crate::support::{TestApp, ago};

const INVOICES: &str = "query($id: UUID!, $children: Boolean) { customer(id: $id) {
    invoices(includeChildren: $children, first: 50) { totalCount edges { node {
        id number status paymentStatus currency periodStart periodEnd subtotal creditsApplied total amountPaid amountDue
        customer { id } subscription { id }
        lineItems { description quantity unitAmount amount periodStart periodEnd customer { id } meter { id } price { id } }
    } } }
} }";
const FINALIZE: &str = "mutation($id: UUID!) { finalizeInvoice(id: $id) {
    id number status paymentStatus subtotal creditsApplied total amountPaid amountDue issuedAt dueAt finalizedAt
    lineItems { description quantity amount }
} }";
const PAY: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
    payment { id amount method idempotencyKey } invoice { paymentStatus amountPaid amountDue payments { id } }
} }";

async fn id_of(app: &TestApp, query: &str, variables: Value, field: &str) -> String {
    app.ok(query, variables).await[field]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A daily plan: 10.00 in advance, 5.00 in arrears, 0.50 per call.
async fn daily_plan(app: &TestApp) -> String {
    let meter = id_of(
        app,
        "mutation { createMeter(input: { name: \"Calls\", eventName: \"api_call\", aggregation: COUNT }) { id } }",
        json!({}),
        "createMeter",
    )
    .await;
    let input = json!({ "name": "Daily", "prices": [
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "10", "invoiceCadence": "ADVANCE" },
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "5", "invoiceCadence": "ARREAR" },
        { "currency": "USD", "billingPeriod": "DAILY", "type": "USAGE", "meterId": meter,
          "billingModel": "PER_UNIT", "unitAmount": "0.5" }
    ] });
    id_of(
        app,
        "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
        json!({ "input": input }),
        "createPlan",
    )
    .await
}

async fn subscribe(app: &TestApp, customer: &str, plan: &str, start: DateTime<Utc>, payer: &str) -> String {
    id_of(
        app,
        "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
        json!({ "input": { "customerId": customer, "planId": plan, "startAt": start.to_rfc3339(), "payer": payer } }),
        "createSubscription",
    )
    .await
}

async fn calls(app: &TestApp, customer: &str, prefix: &str, at: DateTime<Utc>, n: usize) {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({ "eventId": format!("{prefix}-{i}"), "eventName": "api_call", "externalCustomerId": customer,
                    "timestamp": at.to_rfc3339() })
        })
        .collect();
    app.ok(
        "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted } }",
        json!({ "events": events }),
    )
    .await;
}

async fn bill(app: &TestApp) -> RunSummary {
    run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap()
}

async fn invoices(app: &TestApp, customer: &str, children: bool) -> Vec<Value> {
    let data = app.ok(INVOICES, json!({ "id": customer, "children": children })).await;
    let mut list: Vec<Value> = data["customer"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    // Oldest first reads like the subscription's history.
    list.reverse();
    list
}

fn line_amounts(invoice: &Value) -> Vec<(String, String)> {
    invoice["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["description"].as_str().unwrap().to_string(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_is_billed_pays_with_credits_and_settles_the_rest() {
    let app = TestApp::new().await;
    let plan = daily_plan(&app).await;
    let customer = app.create_customer("acme", None).await;
    let start = ago(Duration::days(2) + Duration::hours(1));
    let subscription = subscribe(&app, &customer, &plan, start, "SELF").await;
    calls(&app, "acme", "day1", start + Duration::hours(3), 4).await;
    calls(&app, "acme", "day2", start + Duration::days(1) + Duration::hours(3), 2).await;

    // Three boundaries have passed: the start and two period ends.
    let summary = bill(&app).await;
    assert_eq!((summary.boundaries, summary.invoices_created), (3, 3));
    assert_eq!(bill(&app).await.invoices_created, 0, "a second run bills nothing again");
    let drafts = invoices(&app, &customer, false).await;
    assert_eq!(drafts.len(), 3);
    for draft in &drafts {
        assert_eq!(
            (draft["status"].as_str(), draft["number"].as_str()),
            (Some("DRAFT"), None)
        );
        assert_eq!(draft["subscription"]["id"], subscription.as_str());
    }
    assert_eq!(line_amounts(&drafts[0]), vec![pair("Daily", "10.00")]);
    assert_eq!(
        line_amounts(&drafts[1]),
        vec![pair("Daily", "10.00"), pair("Daily", "5.00"), pair("Calls", "2.00")]
    );
    assert_eq!(drafts[1]["subtotal"], "17.00");
    let day1 = &drafts[1]["lineItems"];
    // The advance fee is for the next day, the rest for the day that ended.
    assert_eq!(day1[0]["periodStart"], day1[1]["periodEnd"]);
    assert_eq!(day1[2]["quantity"], "4");

    // A late event for day 2 still counts: drafts are recomputed when finalized.
    calls(&app, "acme", "late", start + Duration::days(1) + Duration::hours(5), 1).await;
    let wallet = id_of(
        &app,
        "mutation($c: UUID!) { createWallet(input: { customerId: $c, currency: \"USD\", name: \"Prepaid\" }) { id } }",
        json!({ "c": customer }),
        "createWallet",
    )
    .await;
    app.ok(
        "mutation($w: UUID!) { topUpWallet(walletId: $w, input: { credits: \"12\", idempotencyKey: \"t1\" }) { id } }",
        json!({ "w": wallet }),
    )
    .await;

    let first = app.ok(FINALIZE, json!({ "id": drafts[0]["id"] })).await["finalizeInvoice"].clone();
    assert_eq!(first["number"], "INV-000001");
    // The wallet pays the whole 10.00 opening invoice.
    assert_eq!(
        (
            first["creditsApplied"].as_str(),
            first["total"].as_str(),
            first["paymentStatus"].as_str()
        ),
        (Some("10.00"), Some("0.00"), Some("PAID"))
    );
    let day2 = app.ok(FINALIZE, json!({ "id": drafts[2]["id"] })).await["finalizeInvoice"].clone();
    assert_eq!(day2["number"], "INV-000002");
    assert_eq!(
        day2["lineItems"][2],
        json!({ "description": "Calls", "quantity": "3", "amount": "1.50" })
    );
    // 16.50 due, 2.00 of credits left: the wallet pays what it can.
    assert_eq!(
        (
            day2["subtotal"].as_str(),
            day2["creditsApplied"].as_str(),
            day2["total"].as_str()
        ),
        (Some("16.50"), Some("2.00"), Some("14.50"))
    );
    assert_eq!(day2["paymentStatus"], "PENDING");
    assert!(day2["dueAt"].as_str() > day2["issuedAt"].as_str());
    let balance = app
        .ok(
            "query($w: UUID!) { wallet(id: $w) { creditBalance balance } }",
            json!({ "w": wallet }),
        )
        .await;
    assert_eq!(
        balance["wallet"]["creditBalance"]
            .as_str()
            .map(|c| c.parse::<f64>().unwrap()),
        Some(0.0)
    );

    // Payments settle the rest; the same key never pays twice.
    let pay = |amount: &str, key: &str| json!({ "input": { "invoiceId": day2["id"], "amount": amount, "method": "BANK_TRANSFER", "idempotencyKey": key } });
    let partial = app.ok(PAY, pay("10", "p1")).await["recordPayment"].clone();
    assert_eq!(
        (
            partial["invoice"]["paymentStatus"].as_str(),
            partial["invoice"]["amountDue"].as_str()
        ),
        (Some("PARTIALLY_PAID"), Some("4.50"))
    );
    let replay = app.ok(PAY, pay("10", "p1")).await["recordPayment"].clone();
    assert_eq!(replay["payment"]["id"], partial["payment"]["id"]);
    assert_eq!(replay["invoice"]["amountDue"], "4.50");
    app.gql(PAY, pay("4.51", "p2"))
        .await
        .assert_error("VALIDATION", Some("input.amount"));
    app.gql(PAY, pay("1", "p1")).await.assert_error("CONFLICT", None);
    let paid = app.ok(PAY, pay("4.50", "p3")).await["recordPayment"].clone();
    assert_eq!(
        (
            paid["invoice"]["paymentStatus"].as_str(),
            paid["invoice"]["amountDue"].as_str()
        ),
        (Some("PAID"), Some("0.00"))
    );
    assert_eq!(paid["invoice"]["payments"].as_array().unwrap().len(), 2);
    app.gql(PAY, pay("1", "p4")).await.assert_error("CONFLICT", None);

    // A draft cannot be paid; what is owed shows on the customer.
    let draft_pay =
        json!({ "input": { "invoiceId": drafts[1]["id"], "amount": "1", "method": "CARD", "idempotencyKey": "p5" } });
    app.gql(PAY, draft_pay).await.assert_error("CONFLICT", None);
    app.ok(FINALIZE, json!({ "id": drafts[1]["id"] })).await;
    let owed = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { balanceDue { currency amount } } }",
            json!({ "id": customer }),
        )
        .await;
    assert_eq!(
        owed["customer"]["balanceDue"],
        json!([{ "currency": "USD", "amount": "17.00" }])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_finalize_by_themselves_after_the_grace_period() {
    let app = TestApp::with_config(|c| c.billing.invoice_grace = StdDuration::ZERO).await;
    let plan = daily_plan(&app).await;
    let customer = app.create_customer("acme", None).await;
    subscribe(&app, &customer, &plan, ago(Duration::hours(30)), "SELF").await;
    let summary = bill(&app).await;
    assert_eq!((summary.invoices_created, summary.invoices_finalized), (2, 2));
    let numbers: Vec<Value> = invoices(&app, &customer, false)
        .await
        .iter()
        .map(|i| i["number"].clone())
        .collect();
    assert_eq!(numbers, vec![json!("INV-000001"), json!("INV-000002")]);
    // Billing up to a moment in the future is refused.
    let err = run(
        &app.state.pool,
        &app.state.config.billing,
        &app.state.links,
        Utc::now() + Duration::hours(1),
    )
    .await;
    assert!(err.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_billing_runs_never_invoice_a_period_twice() {
    let app = TestApp::new().await;
    let plan = daily_plan(&app).await;
    let start = ago(Duration::days(3) + Duration::hours(1));
    for i in 0..30 {
        let customer = app.create_customer(&format!("c{i}"), None).await;
        subscribe(&app, &customer, &plan, start, "SELF").await;
    }
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (pool, settings, links) = (
                app.state.pool.clone(),
                app.state.config.billing,
                app.state.links.clone(),
            );
            tokio::spawn(async move { run(&pool, &settings, &links, Utc::now()).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for r in runs {
        created += r.await.unwrap().invoices_created;
    }
    // Four boundaries each (the start and three day ends), billed once.
    assert_eq!(created, 30 * 4);
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.url).await.unwrap();
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        invoices: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        distinct_periods: i64,
    }
    let counts: Counts = diesel::sql_query(
        "SELECT count(*) AS invoices, count(DISTINCT (subscription_id, period_end)) AS distinct_periods FROM invoices",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!((counts.invoices, counts.distinct_periods), (120, 120));
}

#[tokio::test(flavor = "multi_thread")]
async fn invoice_numbers_stay_gapless_under_concurrent_finalization() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let invoice = app
            .ok(
                "mutation($c: UUID!, $d: String!) { createOneOffInvoice(customerId: $c, currency: \"JPY\",
                    lines: [{ description: $d, unitAmount: \"1500\", quantity: \"2\" }]) { id status subtotal } }",
                json!({ "c": customer, "d": format!("Setup {i}") }),
            )
            .await["createOneOffInvoice"]
            .clone();
        assert_eq!(
            (invoice["status"].as_str(), invoice["subtotal"].as_str()),
            (Some("DRAFT"), Some("3000"))
        );
        ids.push(invoice["id"].as_str().unwrap().to_string());
    }
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let app = app.clone();
            tokio::spawn(async move {
                app.ok(FINALIZE, json!({ "id": id })).await["finalizeInvoice"]["number"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_paid_charges_land_on_the_paying_ancestors_invoice() {
    let app = TestApp::new().await;
    let plan = daily_plan(&app).await;
    let company = app.create_customer("company", None).await;
    let department = app.create_customer("department", Some(&company)).await;
    let team = app.create_customer("team", Some(&department)).await;
    let start = ago(Duration::hours(30));
    subscribe(&app, &company, &plan, start, "SELF").await;
    let team_subscription = subscribe(&app, &team, &plan, start, "PARENT").await;
    calls(&app, "team", "t", start + Duration::hours(2), 2).await;
    bill(&app).await;

    assert!(invoices(&app, &team, false).await.is_empty());
    assert!(invoices(&app, &department, false).await.is_empty());
    let company_invoices = invoices(&app, &company, false).await;
    assert_eq!(company_invoices.len(), 4);
    let team_invoices: Vec<&Value> = company_invoices
        .iter()
        .filter(|i| i["subscription"]["id"] == team_subscription.as_str())
        .collect();
    assert_eq!(team_invoices.len(), 2);
    for invoice in &team_invoices {
        assert_eq!(invoice["customer"]["id"], company.as_str());
        for line in invoice["lineItems"].as_array().unwrap() {
            assert_eq!(line["customer"]["id"], team.as_str(), "each line names whom it is for");
        }
    }
    assert_eq!(team_invoices[1]["subtotal"], "16.00");
    // From the top, the whole subtree's invoices.
    assert_eq!(invoices(&app, &company, true).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn voiding_returns_wallet_credits_and_refuses_paid_invoices() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let wallet = id_of(
        &app,
        "mutation($c: UUID!) { createWallet(input: { customerId: $c, currency: \"EUR\", name: \"Credits\", conversionRate: \"0.5\" }) { id } }",
        json!({ "c": customer }),
        "createWallet",
    )
    .await;
    app.ok(
        "mutation($w: UUID!) { topUpWallet(walletId: $w, input: { credits: \"10\", idempotencyKey: \"k\" }) { id } }",
        json!({ "w": wallet }),
    )
    .await;
    let one_off = "mutation($c: UUID!) { createOneOffInvoice(customerId: $c, currency: \"EUR\",
        lines: [{ description: \"Consulting\", unitAmount: \"3.00\" }]) { id } }";
    let first = id_of(&app, one_off, json!({ "c": customer }), "createOneOffInvoice").await;
    let finalized = app.ok(FINALIZE, json!({ "id": first })).await["finalizeInvoice"].clone();
    assert_eq!(
        (finalized["creditsApplied"].as_str(), finalized["total"].as_str()),
        (Some("3.00"), Some("0.00"))
    );
    let credits = "query($w: UUID!) { wallet(id: $w) { creditBalance } }";
    let left = app.ok(credits, json!({ "w": wallet })).await["wallet"]["creditBalance"].clone();
    assert_eq!(left.as_str().unwrap().parse::<f64>().unwrap(), 4.0);

    let voided = app
        .ok(
            "mutation($id: UUID!) { voidInvoice(id: $id) { status paymentStatus amountDue voidedAt } }",
            json!({ "id": first }),
        )
        .await["voidInvoice"]
        .clone();
    assert_eq!(
        (voided["status"].as_str(), voided["paymentStatus"].as_str()),
        (Some("VOIDED"), Some("VOID"))
    );
    let restored = app.ok(credits, json!({ "w": wallet })).await["wallet"]["creditBalance"].clone();
    assert_eq!(restored.as_str().unwrap().parse::<f64>().unwrap(), 10.0);
    app.gql(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": first }),
    )
    .await
    .assert_error("CONFLICT", None);

    // An invoice with a payment cannot be voided.
    let second = id_of(
        &app,
        "mutation($c: UUID!) { createOneOffInvoice(customerId: $c, currency: \"EUR\",
            lines: [{ description: \"Audit\", unitAmount: \"20\" }]) { id } }",
        json!({ "c": customer }),
        "createOneOffInvoice",
    )
    .await;
    app.ok(FINALIZE, json!({ "id": second })).await;
    app.ok(
        PAY,
        json!({ "input": { "invoiceId": second, "amount": "1", "method": "CARD", "idempotencyKey": "v" } }),
    )
    .await;
    app.gql(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": second }),
    )
    .await
    .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_invoices_and_payments_are_refused_and_tenants_stay_apart() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let one_off = "mutation($c: UUID!, $cur: String!, $lines: [OneOffLineInput!]!) {
        createOneOffInvoice(customerId: $c, currency: $cur, lines: $lines) { id } }";
    let cases = [
        (
            json!("XXX"),
            json!([{ "description": "a", "unitAmount": "1" }]),
            "currency",
        ),
        (json!("USD"), json!([]), "lines"),
        (
            json!("USD"),
            json!([{ "description": " ", "unitAmount": "1" }]),
            "lines[0].description",
        ),
        (
            json!("USD"),
            json!([{ "description": "a", "unitAmount": "1000000000000000000" }]),
            "lines[0].unitAmount",
        ),
        (
            json!("USD"),
            json!([{ "description": "a", "unitAmount": "1", "quantity": "-1" }]),
            "lines[0].quantity",
        ),
    ];
    for (currency, lines, field) in cases {
        app.gql(one_off, json!({ "c": customer, "cur": currency, "lines": lines }))
            .await
            .assert_error("VALIDATION", Some(field));
    }
    assert_eq!(invoices(&app, &customer, false).await.len(), 0, "nothing half-written");

    let invoice = id_of(
        &app,
        one_off,
        json!({ "c": customer, "cur": "USD", "lines": [{ "description": "a", "unitAmount": "5" }] }),
        "createOneOffInvoice",
    )
    .await;
    app.ok(FINALIZE, json!({ "id": invoice })).await;
    let pay = |amount: &str, key: &str| json!({ "input": { "invoiceId": invoice, "amount": amount, "method": "OTHER", "idempotencyKey": key } });
    app.gql(PAY, pay("0", "a"))
        .await
        .assert_error("VALIDATION", Some("input.amount"));
    app.gql(PAY, pay("1.001", "a"))
        .await
        .assert_error("VALIDATION", Some("input.amount"));
    app.gql(PAY, pay("1", " "))
        .await
        .assert_error("VALIDATION", Some("input.idempotencyKey"));
    app.gql(FINALIZE, json!({ "id": invoice }))
        .await
        .assert_error("CONFLICT", None);

    let other = app.create_key("globex").await;
    for query in [
        "query($id: UUID!) { invoice(id: $id) { id } }",
        "mutation($id: UUID!) { finalizeInvoice(id: $id) { id } }",
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
    ] {
        app.gql_as(Some(&other), query, json!({ "id": invoice }))
            .await
            .assert_error("NOT_FOUND", None);
    }
    app.gql_as(Some(&other), PAY, pay("1", "theirs"))
        .await
        .assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        one_off,
        json!({ "c": customer, "cur": "USD", "lines": [{ "description": "a", "unitAmount": "5" }] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    let mine = app
        .ok(
            "query($id: UUID!) { invoice(id: $id) { amountPaid payments { id } } }",
            json!({ "id": invoice }),
        )
        .await;
    assert_eq!(mine["invoice"]["payments"], json!([]));
}

const DASHBOARD: &str = "query($first: Int!) { customers(first: $first, filter: { rootsOnly: true }) { edges { node {
    id name
    subscriptions(first: 3) { edges { node { status plan { name } upcomingInvoice { subtotal } } } }
    invoices(first: 3, includeChildren: true) { totalCount edges { node { number status total amountDue lineItems { amount } } } }
    wallets { name creditBalance balance }
    balanceDue(includeChildren: true) { currency amount }
    children(first: 5) { edges { node { id balanceDue { amount } } } }
} } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_billing_dashboard_page_costs_a_constant_number_of_statements() {
    let app = TestApp::with_config(|c| c.billing.invoice_grace = StdDuration::ZERO).await;
    let plan = daily_plan(&app).await;
    let start = ago(Duration::hours(30));
    for i in 0..25 {
        let root = app.create_customer(&format!("root-{i}"), None).await;
        let child = app.create_customer(&format!("child-{i}"), Some(&root)).await;
        subscribe(&app, &root, &plan, start, "SELF").await;
        subscribe(&app, &child, &plan, start, "PARENT").await;
        app.ok(
            "mutation($c: UUID!) { createWallet(input: { customerId: $c, currency: \"USD\", name: \"W\" }) { id } }",
            json!({ "c": root }),
        )
        .await;
    }
    bill(&app).await;
    let statements = async |first: usize| {
        let before = app.statements();
        let data = app.ok(DASHBOARD, json!({ "first": first })).await;
        (app.statements() - before, data)
    };
    let (small, _) = statements(3).await;
    let (large, data) = statements(25).await;
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 3, {large} for 25"
    );
    // 14, plus the payers' discounts and tax rates of the upcoming invoices,
    // plus the meters whose usage is read, plus BEGIN and COMMIT around the
    // usage statement (see `db::generic_plan`).
    assert!(large <= 19, "{large} statements");
    for edge in data["customers"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        // Two boundaries for each of two subscriptions, all paid by the root.
        assert_eq!(node["invoices"]["totalCount"], 4);
        assert_eq!(node["balanceDue"][0]["amount"], "50.00");
        assert_eq!(node["children"]["edges"][0]["node"]["balanceDue"], json!([]));
        assert_eq!(node["wallets"][0]["name"], "W");
    }
}

const LINES: &str = "lineItems { id description quantity unitAmount amount periodStart periodEnd prorationFraction discountAmount taxAmount total customer { id } meter { id } price { id } }";

/// An invoice page that shows its lines reads them in the page's own
/// statement; they are the lines the invoice shows when asked alone.
#[tokio::test(flavor = "multi_thread")]
async fn lines_shown_under_an_invoice_page_come_with_the_page_and_match_the_invoice_alone() {
    let app = TestApp::with_config(|c| c.billing.invoice_grace = StdDuration::ZERO).await;
    let plan = daily_plan(&app).await;
    let start = ago(Duration::hours(30));
    let mut roots = Vec::new();
    for i in 0..3 {
        let root = app.create_customer(&format!("root-{i}"), None).await;
        let child = app.create_customer(&format!("child-{i}"), Some(&root)).await;
        subscribe(&app, &root, &plan, start, "SELF").await;
        subscribe(&app, &child, &plan, start, "PARENT").await;
        roots.push(root);
    }
    bill(&app).await;
    let page = |lines: &str| {
        format!(
            "{{ customers(first: 10, filter: {{ rootsOnly: true }}) {{ edges {{ node {{
                invoices(first: 5, includeChildren: true) {{ edges {{ node {{ id {lines} }} }} }}
            }} }} }} }}"
        )
    };
    let before = app.statements();
    app.ok(&page(""), json!({})).await;
    let without_lines = app.statements() - before;
    let before = app.statements();
    app.ok(&page("lineItems { id description quantity amount }"), json!({}))
        .await;
    let with_lines = app.statements() - before;
    assert_eq!(with_lines, without_lines, "the lines cost a statement of their own");

    // Every column of a line (and its relations, loaded as usual).
    let data = app.ok(&page(LINES), json!({})).await;

    let mut invoices = 0;
    for customer in data["customers"]["edges"].as_array().unwrap() {
        for invoice in customer["node"]["invoices"]["edges"].as_array().unwrap() {
            let invoice = &invoice["node"];
            let alone = app
                .ok(
                    &format!("query($id: UUID!) {{ invoice(id: $id) {{ {LINES} }} }}"),
                    json!({ "id": invoice["id"] }),
                )
                .await;
            assert_eq!(invoice["lineItems"], alone["invoice"]["lineItems"]);
            assert!(!invoice["lineItems"].as_array().unwrap().is_empty());
            invoices += 1;
        }
    }
    // Two boundaries for each of two subscriptions per root.
    assert_eq!(invoices, 4 * roots.len());

    // The same page through `nodes`: the same invoices and lines.
    let nodes = app
        .ok(
            &format!(
                "{{ customers(first: 10, filter: {{ rootsOnly: true }}) {{ nodes {{
                    invoices(first: 5, includeChildren: true) {{ nodes {{ id {LINES} }} }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    for (customer, by_edges) in nodes["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(data["customers"]["edges"].as_array().unwrap())
    {
        let edges: Vec<&Value> = by_edges["node"]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .collect();
        let nodes: Vec<&Value> = customer["invoices"]["nodes"].as_array().unwrap().iter().collect();
        assert_eq!(edges, nodes);
    }
}

const SUBTREE_PAGE: &str = "query($id: UUID!, $children: Boolean!, $status: InvoiceStatus, $after: String) {
    customer(id: $id) {
        invoices(includeChildren: $children, first: 2, status: $status, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { node { id status customer { id } } }
        }
    }
}";

/// Every page of one customer's (or subtree's) invoices of a status, by cursor.
async fn invoice_ids_by_page(app: &TestApp, customer: &str, children: bool, status: Option<&str>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({ "id": customer, "children": children, "status": status, "after": after });
        let page = app.ok(SUBTREE_PAGE, vars).await["customer"]["invoices"].clone();
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() <= 2);
        ids.extend(edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_string()));
        let total = page["totalCount"].as_u64().unwrap() as usize;
        assert_eq!(
            page["pageInfo"]["hasNextPage"],
            ids.len() < total,
            "after {ids:?} of {total}"
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            assert_eq!(ids.len(), total);
            return ids;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subtree_invoice_pages_agree_with_the_plain_answer_for_every_status_and_cursor() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    let a = app.create_customer("a", Some(&root)).await;
    let b = app.create_customer("b", Some(&root)).await;
    let a1 = app.create_customer("a1", Some(&a)).await;
    let outsider = app.create_customer("outsider", None).await;
    let owners = [&root, &a, &b, &a1, &outsider, &a1, &b];
    let one_off = "mutation($c: UUID!) { createOneOffInvoice(customerId: $c, currency: \"USD\",
        lines: [{ description: \"Work\", unitAmount: \"5\" }]) { id } }";
    // Interleaved across the subtree, so that every page mixes customers.
    let mut made: Vec<(String, String, &str)> = Vec::new();
    for i in 0..21 {
        let owner = owners[i % owners.len()];
        let id = id_of(&app, one_off, json!({ "c": owner }), "createOneOffInvoice").await;
        let status = match i % 3 {
            0 => "DRAFT",
            1 => "FINALIZED",
            _ => "VOIDED",
        };
        if status != "DRAFT" {
            app.ok(FINALIZE, json!({ "id": id })).await;
        }
        if status == "VOIDED" {
            app.ok(
                "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        }
        made.push((id, owner.clone(), status));
    }
    let subtrees = [
        (&root, true, vec![&root, &a, &b, &a1]),
        (&a, true, vec![&a, &a1]),
        (&a1, true, vec![&a1]),
        (&root, false, vec![&root]),
        (&b, false, vec![&b]),
    ];
    for (customer, children, members) in &subtrees {
        for status in [None, Some("DRAFT"), Some("FINALIZED"), Some("VOIDED")] {
            let mut expected: Vec<String> = made
                .iter()
                .filter(|(_, owner, s)| members.contains(&owner) && status.is_none_or(|wanted| wanted == *s))
                .map(|(id, _, _)| id.clone())
                .collect();
            // Newest first: ids are time-ordered, and their text sorts like their bytes.
            expected.sort_by(|x, y| y.cmp(x));
            let got = invoice_ids_by_page(&app, customer, *children, status).await;
            assert_eq!(
                got, expected,
                "customer {customer}, children {children}, status {status:?}"
            );
        }
    }

    // The same pages asked together share one statement and still agree.
    let together = "query($r: UUID!, $a: UUID!, $b: UUID!) {
        r: customer(id: $r) { invoices(includeChildren: true, first: 3, status: FINALIZED) { edges { node { id } } } }
        a: customer(id: $a) { invoices(includeChildren: true, first: 3) { edges { node { id } } } }
        b: customer(id: $b) { invoices(first: 3, status: VOIDED) { edges { node { id } } } }
    }";
    let data = app.ok(together, json!({ "r": root, "a": a, "b": b })).await;
    let firsts = |alias: &str| -> Vec<String> {
        data[alias]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first_three = |mut ids: Vec<String>| {
        ids.truncate(3);
        ids
    };
    assert_eq!(
        firsts("r"),
        first_three(invoice_ids_by_page(&app, &root, true, Some("FINALIZED")).await)
    );
    assert_eq!(
        firsts("a"),
        first_three(invoice_ids_by_page(&app, &a, true, None).await)
    );
    assert_eq!(
        firsts("b"),
        first_three(invoice_ids_by_page(&app, &b, false, Some("VOIDED")).await)
    );
}

/// A draft can be voided before it is issued: it takes no number (so the
/// numbers stay gapless), can no longer be finalized, and its subscription
/// boundary is not invoiced again.
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_can_be_voided_before_it_is_issued() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let one_off = "mutation($c: UUID!) { createOneOffInvoice(customerId: $c, currency: \"USD\",
        lines: [{ description: \"Setup\", unitAmount: \"20\" }]) { id } }";
    let draft = id_of(&app, one_off, json!({ "c": customer }), "createOneOffInvoice").await;
    let voided = app
        .ok(
            "mutation($id: UUID!) { voidInvoice(id: $id) { status number paymentStatus amountDue } }",
            json!({ "id": draft }),
        )
        .await["voidInvoice"]
        .clone();
    assert_eq!(
        voided,
        json!({ "status": "VOIDED", "number": null, "paymentStatus": "VOID", "amountDue": "0.00" })
    );
    app.gql(FINALIZE, json!({ "id": draft }))
        .await
        .assert_error("CONFLICT", None);
    // The next invoice issued takes the first number.
    let next = id_of(&app, one_off, json!({ "c": customer }), "createOneOffInvoice").await;
    let issued = app.ok(FINALIZE, json!({ "id": next })).await["finalizeInvoice"].clone();
    assert_eq!(issued["number"], "INV-000001");

    let plan = daily_plan(&app).await;
    let sub_customer = app.create_customer("beta", None).await;
    let start = ago(Duration::hours(2));
    subscribe(&app, &sub_customer, &plan, start, "SELF").await;
    bill(&app).await;
    let opening = invoices(&app, &sub_customer, false).await;
    assert_eq!(opening.len(), 1);
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": opening[0]["id"] }),
    )
    .await;
    bill(&app).await;
    assert_eq!(
        invoices(&app, &sub_customer, false).await.len(),
        1,
        "the boundary is billed once"
    );
}
