//! Subscriptions through the API: lifecycle and refusals, periods, trials,
//! pauses that stop usage from billing, the upcoming-invoice preview to the
//! cent, payer PARENT routing, and tenant isolation.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::{TestApp, ago};

const CREATE_PLAN: &str = "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }";
const SUBSCRIBE: &str = "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) {
    id status payer currency billingPeriod startAt billingAnchor trialEnd endsAt currentPeriod { start end }
} }";
const INGEST: &str = "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted } }";
const PREVIEW: &str = "query($id: UUID!) { subscription(id: $id) { status upcomingInvoice {
    currency periodStart periodEnd subtotal customer { id }
    lineItems { description quantity unitAmount amount meter { name } price { type } customer { id }
                tiers { tier quantity unitAmount amount } }
} } }";

async fn meter(app: &TestApp, name: &str, aggregation: &str, property: Option<&str>) -> String {
    let input = json!({ "name": name, "eventName": "api_call", "aggregation": aggregation, "property": property });
    app.ok(
        "mutation($input: CreateMeterInput!) { createMeter(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await["createMeter"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// 49.00 USD a month, 0.50 per call, and tokens free up to 1000 then 0.002 each.
async fn team_plan(app: &TestApp) -> String {
    let calls = meter(app, "Calls", "COUNT", None).await;
    let tokens = meter(app, "Tokens", "SUM", Some("tokens")).await;
    let input = json!({ "name": "Team", "prices": [
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "49" },
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": calls,
          "billingModel": "PER_UNIT", "unitAmount": "0.5" },
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": tokens,
          "billingModel": "TIERED", "tierMode": "GRADUATED", "tiers": [
            { "upTo": "1000", "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.002" } ] }
    ] });
    app.ok(CREATE_PLAN, json!({ "input": input })).await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn subscribe(app: &TestApp, input: Value) -> Value {
    app.ok(SUBSCRIBE, json!({ "input": input })).await["createSubscription"].clone()
}

/// `d` before now, to the millisecond (the database keeps microseconds).
fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339()
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().to_utc()
}

async fn send_calls(app: &TestApp, customer: &str, prefix: &str, when: DateTime<Utc>, tokens: &[i64]) {
    let events: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({ "eventId": format!("{prefix}-{i}"), "eventName": "api_call", "externalCustomerId": customer,
                    "timestamp": at(when), "properties": { "tokens": t } })
        })
        .collect();
    let accepted = app.ok(INGEST, json!({ "events": events })).await["ingestEvents"]["accepted"].clone();
    assert_eq!(accepted, tokens.len());
}

async fn preview(app: &TestApp, id: &str) -> Value {
    app.ok(PREVIEW, json!({ "id": id })).await["subscription"].clone()
}

fn amounts(invoice: &Value) -> Vec<(String, String, String)> {
    invoice["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["description"].as_str().unwrap().to_string(),
                l["quantity"].as_str().unwrap().to_string(),
                l["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn line(description: &str, quantity: &str, amount: &str) -> (String, String, String) {
    (description.into(), quantity.into(), amount.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_prices_the_period_so_far_to_the_cent() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("acme-1", None).await;
    let start = ago(Duration::days(2));
    let sub = subscribe(
        &app,
        json!({ "customerId": customer, "planId": plan, "startAt": at(start) }),
    )
    .await;
    assert_eq!(
        (sub["status"].as_str(), sub["payer"].as_str(), sub["currency"].as_str()),
        (Some("ACTIVE"), Some("SELF"), Some("USD"))
    );
    assert_eq!(time(&sub["currentPeriod"]["start"]), start);
    let id = sub["id"].as_str().unwrap();

    // Nothing used yet: the fee and two zero usage lines.
    let empty = preview(&app, id).await["upcomingInvoice"].clone();
    assert_eq!(
        amounts(&empty),
        vec![
            line("Team", "1", "49.00"),
            line("Calls", "0", "0.00"),
            line("Tokens", "0", "0.00")
        ]
    );

    // Three calls with 1501 tokens; one before the start does not count,
    // nor does another customer's.
    send_calls(&app, "acme-1", "in", Utc::now() - Duration::hours(1), &[500, 1000, 1]).await;
    send_calls(&app, "acme-1", "before", start - Duration::hours(1), &[99_999]).await;
    send_calls(
        &app,
        "someone-else",
        "other",
        Utc::now() - Duration::hours(1),
        &[99_999],
    )
    .await;
    let invoice = preview(&app, id).await["upcomingInvoice"].clone();
    assert_eq!(
        amounts(&invoice),
        vec![
            line("Team", "1", "49.00"),
            line("Calls", "3", "1.50"),
            // 501 tokens above the free thousand at 0.002 = 1.002
            line("Tokens", "1501", "1.00")
        ]
    );
    assert_eq!(invoice["subtotal"], "51.50");
    assert_eq!(invoice["currency"], "USD");
    assert_eq!(invoice["customer"]["id"], customer.as_str());
    assert_eq!(invoice["lineItems"][1]["unitAmount"], "0.5");
    assert_eq!(
        invoice["lineItems"][2]["tiers"],
        json!([
            { "tier": 0, "quantity": "1000", "unitAmount": "0", "amount": "0" },
            { "tier": 1, "quantity": "501", "unitAmount": "0.002", "amount": "1.002" }
        ])
    );
    assert_eq!(time(&invoice["periodStart"]), start);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_in_a_pause_does_not_bill_and_a_cancelled_subscription_cannot_resume() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("acme-1", None).await;
    let sub = subscribe(
        &app,
        json!({ "customerId": customer, "planId": plan, "startAt": at(Utc::now() - Duration::days(1)) }),
    )
    .await;
    let id = sub["id"].as_str().unwrap();
    send_calls(&app, "acme-1", "before-pause", Utc::now() - Duration::hours(1), &[1]).await;

    let paused = app
        .ok(
            "mutation($id: UUID!) { pauseSubscription(id: $id) { status pausedAt } }",
            json!({ "id": id }),
        )
        .await["pauseSubscription"]
        .clone();
    assert_eq!(paused["status"], "PAUSED");
    let paused_at = time(&paused["pausedAt"]);
    app.gql(
        "mutation($id: UUID!) { pauseSubscription(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_error("CONFLICT", None);

    send_calls(
        &app,
        "acme-1",
        "in-pause",
        paused_at + Duration::milliseconds(1),
        &[1, 1],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let resumed = app
        .ok(
            "mutation($id: UUID!) { resumeSubscription(id: $id) { status pausedAt pauses { start end } } }",
            json!({ "id": id }),
        )
        .await["resumeSubscription"]
        .clone();
    assert_eq!(
        (resumed["status"].as_str(), &resumed["pausedAt"]),
        (Some("ACTIVE"), &Value::Null)
    );
    assert_eq!(time(&resumed["pauses"][0]["start"]), paused_at);
    let resumed_at = time(&resumed["pauses"][0]["end"]);
    send_calls(
        &app,
        "acme-1",
        "after-resume",
        resumed_at + Duration::milliseconds(1),
        &[1],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;

    let invoice = preview(&app, id).await["upcomingInvoice"].clone();
    // One call before the pause, one after it; the two in it are free.
    assert_eq!(invoice["lineItems"][1]["quantity"], "2");
    assert_eq!(invoice["subtotal"], "50.00");

    app.gql(
        "mutation($id: UUID!) { resumeSubscription(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_error("CONFLICT", None);

    let cancelled = app
        .ok(
            "mutation($id: UUID!) { cancelSubscription(id: $id) { status endsAt cancelledAt } }",
            json!({ "id": id }),
        )
        .await["cancelSubscription"]
        .clone();
    assert_eq!(cancelled["status"], "CANCELLED");
    for mutation in ["resumeSubscription", "pauseSubscription", "cancelSubscription"] {
        let gql = app
            .gql(
                &format!("mutation($id: UUID!) {{ {mutation}(id: $id) {{ id }} }}"),
                json!({ "id": id }),
            )
            .await;
        gql.assert_error("CONFLICT", None);
        assert!(gql.message().contains("cancelled"), "{}", gql.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_at_period_end_keeps_the_subscription_until_then() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("acme-1", None).await;
    let sub = subscribe(&app, json!({ "customerId": customer, "planId": plan })).await;
    let id = sub["id"].as_str().unwrap();
    let scheduled = app
        .ok(
            "mutation($id: UUID!) { cancelSubscription(id: $id, atPeriodEnd: true) { status endsAt currentPeriod { end } } }",
            json!({ "id": id }),
        )
        .await["cancelSubscription"]
        .clone();
    assert_eq!(scheduled["status"], "ACTIVE");
    assert_eq!(scheduled["endsAt"], scheduled["currentPeriod"]["end"]);
    // Set once; it can be brought forward to now, not set again.
    app.gql(
        "mutation($id: UUID!) { cancelSubscription(id: $id, atPeriodEnd: true) { id } }",
        json!({ "id": id }),
    )
    .await
    .assert_error("CONFLICT", None);
    // A customer with a subscription that has not ended cannot be archived.
    app.gql(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": customer }),
    )
    .await
    .assert_error("CONFLICT", None);
    let now = app
        .ok(
            "mutation($id: UUID!) { cancelSubscription(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(now["cancelSubscription"]["status"], "CANCELLED");
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": customer }),
    )
    .await;
    // And an archived customer takes no new subscription.
    app.gql(
        SUBSCRIBE,
        json!({ "input": { "customerId": customer, "planId": plan } }),
    )
    .await
    .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_subscriptions_are_refused_with_the_field_named() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let root = app.create_customer("root", None).await;
    let mixed = app
        .ok(
            CREATE_PLAN,
            json!({ "input": { "name": "Mixed", "prices": [
                { "currency": "USD", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "1" },
                { "currency": "EUR", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "1" } ] } }),
        )
        .await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        (
            json!({ "customerId": root, "planId": mixed }),
            "VALIDATION",
            Some("input.planId"),
        ),
        (
            json!({ "customerId": root, "planId": plan, "trialDays": -1 }),
            "VALIDATION",
            Some("input.trialDays"),
        ),
        (
            json!({ "customerId": root, "planId": plan, "trialDays": 731 }),
            "VALIDATION",
            Some("input.trialDays"),
        ),
        (
            json!({ "customerId": root, "planId": plan, "payer": "PARENT" }),
            "VALIDATION",
            Some("input.payer"),
        ),
        (
            json!({ "customerId": root, "planId": plan, "startAt": "2026-01-01T00:00:00Z",
                    "billingAnchor": "2026-03-01T00:00:00Z" }),
            "VALIDATION",
            Some("input.billingAnchor"),
        ),
        (json!({ "customerId": root, "planId": root }), "NOT_FOUND", None),
        (json!({ "customerId": plan, "planId": plan }), "NOT_FOUND", None),
    ];
    for (input, code, field) in cases {
        app.gql(SUBSCRIBE, json!({ "input": input }))
            .await
            .assert_error(code, field);
    }
    let listed = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { subscriptions { totalCount } } }",
            json!({ "id": root }),
        )
        .await;
    assert_eq!(
        listed["customer"]["subscriptions"]["totalCount"], 0,
        "nothing half-written"
    );
}

/// The n-th monthly boundary anchored on 31 Jan 2026, computed without the
/// period code: the 31st, or the month's last day when it has fewer.
fn month_end_boundary(n: u32) -> DateTime<Utc> {
    let (year, month) = (2026 + (n / 12) as i32, n % 12 + 1);
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let last = NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .unwrap()
        .pred_opt()
        .unwrap()
        .day();
    Utc.with_ymd_and_hms(year, month, last.min(31), 0, 0, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn periods_anchored_on_the_31st_follow_month_ends_and_trials_bill_nothing() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("acme-1", None).await;
    let sub = subscribe(
        &app,
        json!({ "customerId": customer, "planId": plan, "startAt": "2026-01-31T00:00:00Z" }),
    )
    .await;
    let now = Utc::now();
    let n = (0..).find(|n| month_end_boundary(n + 1) > now).unwrap();
    let current = app
        .ok(
            "query($id: UUID!) { subscription(id: $id) { currentPeriod { start end } } }",
            json!({ "id": sub["id"] }),
        )
        .await["subscription"]["currentPeriod"]
        .clone();
    assert_eq!(
        (time(&current["start"]), time(&current["end"])),
        (month_end_boundary(n), month_end_boundary(n + 1))
    );

    let start = ago(Duration::days(3));
    let trial = subscribe(
        &app,
        json!({ "customerId": customer, "planId": plan, "startAt": at(start), "trialDays": 14 }),
    )
    .await;
    assert_eq!(trial["status"], "TRIALING");
    assert_eq!(time(&trial["trialEnd"]), start + Duration::days(14));
    assert_eq!(time(&trial["billingAnchor"]), start + Duration::days(14));
    assert_eq!(
        (
            time(&trial["currentPeriod"]["start"]),
            time(&trial["currentPeriod"]["end"])
        ),
        (start, start + Duration::days(14))
    );
    send_calls(&app, "acme-1", "in-trial", Utc::now() - Duration::hours(1), &[5000]).await;
    let invoice = preview(&app, trial["id"].as_str().unwrap()).await["upcomingInvoice"].clone();
    // A period spent wholly in the trial bills nothing, so its preview has
    // no lines, as its invoice would have none.
    assert_eq!(amounts(&invoice), vec![]);
    assert_eq!(invoice["subtotal"], "0.00");

    let statuses = "query($id: UUID!) { customer(id: $id) {
        all: subscriptions { totalCount }
        trialing: subscriptions(status: TRIALING) { totalCount edges { node { id } } }
        active: subscriptions(status: ACTIVE) { totalCount edges { node { id } } }
        paused: subscriptions(status: PAUSED) { totalCount }
        cancelled: subscriptions(status: CANCELLED) { totalCount }
    } }";
    let listed = app.ok(statuses, json!({ "id": customer })).await["customer"].clone();
    assert_eq!(listed["all"]["totalCount"], 2);
    assert_eq!(listed["trialing"]["edges"][0]["node"]["id"], trial["id"]);
    assert_eq!(listed["active"]["edges"][0]["node"]["id"], sub["id"]);
    assert_eq!(
        (&listed["paused"]["totalCount"], &listed["cancelled"]["totalCount"]),
        (&json!(0), &json!(0))
    );
}

const UPCOMING: &str = "query($id: UUID!, $children: Boolean!) { customer(id: $id) {
    upcomingCharges(includeChildren: $children) {
        totals { currency amount }
        invoices { subscription { id } customer { id } subtotal }
    }
} }";

async fn upcoming(app: &TestApp, customer: &str, children: bool) -> Value {
    app.ok(UPCOMING, json!({ "id": customer, "children": children })).await["customer"]["upcomingCharges"].clone()
}

fn subscription_ids(charges: &Value) -> Vec<String> {
    let mut ids: Vec<String> = charges["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subscription"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_paid_subscriptions_go_to_the_nearest_ancestor_that_pays_for_itself() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    // company -> department -> team
    let company = app.create_customer("company", None).await;
    let department = app.create_customer("department", Some(&company)).await;
    let team = app.create_customer("team", Some(&department)).await;
    let own = subscribe(&app, json!({ "customerId": company, "planId": plan })).await;
    let team_sub = subscribe(
        &app,
        json!({ "customerId": team, "planId": plan, "payer": "PARENT", "startAt": at(ago(Duration::days(1))) }),
    )
    .await;
    send_calls(&app, "team", "t", Utc::now() - Duration::minutes(5), &[1, 1]).await;

    let invoiced_to = "query($id: UUID!) { subscription(id: $id) { invoicedTo { id } } }";
    let payer = app.ok(invoiced_to, json!({ "id": team_sub["id"] })).await;
    assert_eq!(payer["subscription"]["invoicedTo"]["id"], company.as_str());

    // The department pays for nothing, so the team's charges climb to the company.
    let charges = upcoming(&app, &company, true).await;
    let mut expected = vec![
        own["id"].as_str().unwrap().to_string(),
        team_sub["id"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(subscription_ids(&charges), expected);
    assert_eq!(charges["totals"], json!([{ "currency": "USD", "amount": "99.00" }]));
    assert_eq!(
        subscription_ids(&upcoming(&app, &company, false).await),
        vec![own["id"].as_str().unwrap().to_string()]
    );
    assert!(subscription_ids(&upcoming(&app, &department, true).await).is_empty());
    assert!(subscription_ids(&upcoming(&app, &team, true).await).is_empty());

    // Once the department pays for itself, it pays for the team too.
    let dept_sub = subscribe(&app, json!({ "customerId": department, "planId": plan })).await;
    let mut expected = vec![
        dept_sub["id"].as_str().unwrap().to_string(),
        team_sub["id"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(subscription_ids(&upcoming(&app, &department, true).await), expected);
    assert_eq!(
        subscription_ids(&upcoming(&app, &company, true).await),
        vec![own["id"].as_str().unwrap().to_string()]
    );
    let payer = app.ok(invoiced_to, json!({ "id": team_sub["id"] })).await;
    assert_eq!(payer["subscription"]["invoicedTo"]["id"], department.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_cannot_see_or_change_subscriptions() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("acme-1", None).await;
    let sub = subscribe(&app, json!({ "customerId": customer, "planId": plan })).await;
    let other = app.create_key("globex").await;
    let theirs = app.create_customer_as(&other, "globex-1", None).await;

    let id = json!({ "id": sub["id"] });
    for query in [
        "query($id: UUID!) { subscription(id: $id) { id } }",
        "mutation($id: UUID!) { cancelSubscription(id: $id) { id } }",
        "mutation($id: UUID!) { pauseSubscription(id: $id) { id } }",
    ] {
        app.gql_as(Some(&other), query, id.clone())
            .await
            .assert_error("NOT_FOUND", None);
    }
    // Nor subscribe its customer to our plan, or our customer to anything.
    app.gql_as(
        Some(&other),
        SUBSCRIBE,
        json!({ "input": { "customerId": theirs, "planId": plan } }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        SUBSCRIBE,
        json!({ "input": { "customerId": customer, "planId": plan } }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    // Our subscription is untouched.
    assert_eq!(preview(&app, sub["id"].as_str().unwrap()).await["status"], "ACTIVE");
}

const PREVIEW_PAGE: &str = "query($first: Int!) { customers(first: $first) { edges { node {
    id
    subscriptions(first: 5) { totalCount edges { node {
        status currentPeriod { start end } plan { name }
        upcomingInvoice { subtotal lineItems { description quantity amount meter { name } customer { id } } }
    } } }
    upcomingCharges { totals { currency amount } }
} } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_subscriptions_with_previews_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let start = ago(Duration::days(2));
    for i in 0..50 {
        let external = format!("c-{i}");
        let customer = app.create_customer(&external, None).await;
        // Different anchors: every subscription has a period of its own.
        subscribe(
            &app,
            json!({ "customerId": customer, "planId": plan, "startAt": at(start - Duration::hours(i)) }),
        )
        .await;
        send_calls(&app, &external, &external, Utc::now() - Duration::minutes(5), &[i]).await;
    }
    let statements = async |first: usize| {
        let before = app.statements();
        let data = app.ok(PREVIEW_PAGE, json!({ "first": first })).await;
        (
            app.statements() - before,
            data["customers"]["edges"].as_array().unwrap().clone(),
        )
    };
    let (small, few) = statements(5).await;
    let (large, all) = statements(50).await;
    assert_eq!((few.len(), all.len()), (5, 50));
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 5, {large} for 50"
    );
    // 12, plus the payers' discounts and tax rates, plus the meters whose
    // usage is read, plus BEGIN and COMMIT around the usage statement (see
    // `db::generic_plan`).
    assert!(large <= 17, "{large} statements");
    for edge in &all {
        let sub = &edge["node"]["subscriptions"]["edges"][0]["node"];
        let invoice = &sub["upcomingInvoice"];
        assert_eq!(invoice["lineItems"][1]["quantity"], "1", "{invoice}");
        assert_eq!(invoice["subtotal"], "49.50");
        assert_eq!(edge["node"]["upcomingCharges"]["totals"][0]["amount"], "49.50");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_pages_of_a_status_follow_cursors() {
    let app = TestApp::new().await;
    let plan = team_plan(&app).await;
    let customer = app.create_customer("paged", None).await;
    let mut made: Vec<(String, &str)> = Vec::new();
    for i in 0..7 {
        let input = json!({ "customerId": customer, "planId": plan, "startAt": at(ago(Duration::days(3))) });
        let id = subscribe(&app, input).await["id"].as_str().unwrap().to_string();
        let status = match i % 3 {
            0 => "ACTIVE",
            1 => "CANCELLED",
            _ => "PAUSED",
        };
        let change = match status {
            "CANCELLED" => Some("mutation($id: UUID!) { cancelSubscription(id: $id) { id } }"),
            "PAUSED" => Some("mutation($id: UUID!) { pauseSubscription(id: $id) { id } }"),
            _ => None,
        };
        if let Some(mutation) = change {
            app.ok(mutation, json!({ "id": id })).await;
        }
        made.push((id, status));
    }
    let page = "query($id: UUID!, $status: SubscriptionStatus, $after: String) { customer(id: $id) {
        subscriptions(first: 2, status: $status, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { node { id status } }
        } } }";
    for status in [None, Some("ACTIVE"), Some("CANCELLED"), Some("PAUSED")] {
        let mut expected: Vec<String> = made
            .iter()
            .filter(|(_, s)| status.is_none_or(|wanted| wanted == *s))
            .map(|(id, _)| id.clone())
            .collect();
        expected.sort();
        let mut got = Vec::new();
        let mut after = Value::Null;
        loop {
            let vars = json!({ "id": customer, "status": status, "after": after });
            let connection = app.ok(page, vars).await["customer"]["subscriptions"].clone();
            assert_eq!(connection["totalCount"], expected.len());
            for edge in connection["edges"].as_array().unwrap() {
                if let Some(wanted) = status {
                    assert_eq!(edge["node"]["status"], wanted);
                }
                got.push(edge["node"]["id"].as_str().unwrap().to_string());
            }
            if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(got, expected, "status {status:?}");
    }
}
