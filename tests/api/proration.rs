//! Proration and the edges of a period: fixed fees bill the share of their
//! period that was billable (a short first period, a trial or a pause inside
//! it, a cancellation), a fee billed ahead is settled at the period's end,
//! and what a period bills does not depend on when the billing run happens.
//! Every amount is computed by hand in the comments.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use billgraph::billing::run::run;

use crate::support::TestApp;

const INVOICES: &str = "query($id: UUID!) { customer(id: $id) {
    invoices(first: 50) { edges { node {
        id subtotal periodStart periodEnd
        lineItems { description amount prorationFraction periodStart periodEnd }
    } } }
} }";

/// A whole hour some days back, so every instant below is exact.
pub fn hours_ago(hours: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap() - Duration::hours(hours)
}

pub fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A plan of one price per entry: (type-specific fields) in `currency`.
pub async fn plan(app: &TestApp, name: &str, period: &str, currency: &str, prices: &[Value]) -> String {
    let prices: Vec<Value> = prices
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p["currency"] = json!(currency);
            p["billingPeriod"] = json!(period);
            p["type"] = json!("FIXED");
            p
        })
        .collect();
    app.ok(
        "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
        json!({ "input": { "name": name, "prices": prices } }),
    )
    .await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn subscribe(app: &TestApp, customer: &str, plan: &str, extra: Value) -> String {
    let mut input = json!({ "customerId": customer, "planId": plan });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    app.ok(
        "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await["createSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn bill_until(app: &TestApp, until: DateTime<Utc>) {
    run(&app.state.pool, &app.state.config.billing, &app.state.links, until)
        .await
        .unwrap();
}

pub async fn change(app: &TestApp, mutation: &str, id: &str, when: DateTime<Utc>) {
    app.ok(
        &format!("mutation($id: UUID!, $at: DateTime!) {{ {mutation}(id: $id, at: $at) {{ id }} }}"),
        json!({ "id": id, "at": at(when) }),
    )
    .await;
}

pub async fn attempt(app: &TestApp, mutation: &str, id: &str, when: DateTime<Utc>) -> crate::support::Gql {
    let query = format!("mutation($id: UUID!, $at: DateTime!) {{ {mutation}(id: $id, at: $at) {{ id }} }}");
    app.gql(&query, json!({ "id": id, "at": at(when) })).await
}

/// The customer's invoices, oldest first, as their lines' amounts.
pub async fn billed(app: &TestApp, customer: &str) -> Vec<Vec<String>> {
    invoices(app, customer)
        .await
        .iter()
        .map(|i| {
            i["lineItems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["amount"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

pub async fn invoices(app: &TestApp, customer: &str) -> Vec<Value> {
    let data = app.ok(INVOICES, json!({ "id": customer })).await;
    let mut list: Vec<Value> = data["customer"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    list.reverse();
    list
}

pub fn amounts(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

/// Defect: a weekly fee billed in advance whose first week starts inside a
/// 2-day trial was never billed. Now it bills the 5 billable days of 7.
#[tokio::test(flavor = "multi_thread")]
async fn an_advance_fee_whose_period_starts_in_a_trial_is_billed() {
    let app = TestApp::new().await;
    let weekly = plan(
        &app,
        "Weekly",
        "WEEKLY",
        "USD",
        &[
            json!({ "amount": "7", "invoiceCadence": "ADVANCE" }),
            json!({ "amount": "1", "invoiceCadence": "ARREAR" }),
        ],
    )
    .await;
    let full = plan(
        &app,
        "Weekly in full",
        "WEEKLY",
        "USD",
        &[
            json!({ "amount": "7", "invoiceCadence": "ADVANCE", "proration": "FULL_PERIOD" }),
            json!({ "amount": "1", "invoiceCadence": "ARREAR", "proration": "FULL_PERIOD" }),
        ],
    )
    .await;
    let s = hours_ago(8 * 24 + 5);
    let (prorated, whole) = (
        app.create_customer("prorated", None).await,
        app.create_customer("whole", None).await,
    );
    for (customer, plan) in [(&prorated, &weekly), (&whole, &full)] {
        let extra = json!({ "startAt": at(s), "billingAnchor": at(s), "trialDays": 2 });
        subscribe(&app, customer, plan, extra).await;
    }
    bill_until(&app, s + Duration::days(8)).await;
    // Prorated: the first week bills 5 of 7 days: 7.00 x 5/7 = 5.00 ahead,
    // then at its end 1.00 x 5/7 = 0.714.. -> 0.71 behind, and the second
    // week's 7.00 ahead in full.
    assert_eq!(billed(&app, &prorated).await, amounts(&[&["5.00"], &["7.00", "0.71"]]));
    let lines = &invoices(&app, &prorated).await[0]["lineItems"][0];
    assert_eq!(lines["prorationFraction"], "0.714286");
    let start = DateTime::parse_from_rfc3339(lines["periodStart"].as_str().unwrap()).unwrap();
    assert_eq!(start, s + Duration::days(2), "the line covers the billable stretch");
    // FULL_PERIOD: any billable time bills the whole fee.
    assert_eq!(billed(&app, &whole).await, amounts(&[&["7.00"], &["7.00", "1.00"]]));
}

/// Defect: a daily 10.00 fee billed in advance, paused before a boundary
/// and resumed after it, never billed that day; and whether it billed
/// depended on when the run happened. Now the total follows the billable
/// hours whenever the run happens.
#[tokio::test(flavor = "multi_thread")]
async fn a_pause_across_a_boundary_bills_the_same_whenever_the_run_happens() {
    let app = TestApp::new().await;
    let daily = plan(
        &app,
        "Daily",
        "DAILY",
        "USD",
        &[json!({ "amount": "10", "invoiceCadence": "ADVANCE" })],
    )
    .await;
    let s = hours_ago(4 * 24);
    let (early, late) = (
        app.create_customer("run-early", None).await,
        app.create_customer("run-late", None).await,
    );
    let early_sub = subscribe(&app, &early, &daily, json!({ "startAt": at(s) })).await;
    // Paused 6 hours before the first boundary, resumed 6 hours after it.
    let (paused, resumed) = (s + Duration::hours(18), s + Duration::hours(30));

    // One run happens while the pause is open, across the boundary.
    change(&app, "pauseSubscription", &early_sub, paused).await;
    bill_until(&app, s + Duration::hours(25)).await;
    change(&app, "resumeSubscription", &early_sub, resumed).await;
    change(&app, "cancelSubscription", &early_sub, s + Duration::days(3)).await;
    // The other only after the resume.
    let late_sub = subscribe(&app, &late, &daily, json!({ "startAt": at(s) })).await;
    change(&app, "pauseSubscription", &late_sub, paused).await;
    change(&app, "resumeSubscription", &late_sub, resumed).await;
    change(&app, "cancelSubscription", &late_sub, s + Duration::days(3)).await;
    bill_until(&app, Utc::now()).await;

    // Day 1 bills its 18 hours before the pause: 10 x 18/24 = 7.50; day 2
    // its 18 hours after the resume: 7.50; day 3 in full: 10.00. Total
    // 25.00 = 10 x 60/72 x 3 either way.
    // Early run: the second day was paused at its start, so it bills at
    // its end, on the invoice that bills the third day ahead.
    assert_eq!(billed(&app, &early).await, amounts(&[&["7.50"], &["10.00", "7.50"]]));
    // Late run: the resume was known at the second day's start.
    assert_eq!(billed(&app, &late).await, amounts(&[&["7.50"], &["7.50"], &["10.00"]]));
}

/// The proration table, in a currency with cents, one without minor units
/// and one with three decimals: a weekly fee F billed ahead.
#[tokio::test(flavor = "multi_thread")]
async fn the_proration_table_in_usd_jpy_and_kwd() {
    let app = TestApp::new().await;
    // (currency, F, 4/7 F, 5/7 F, F - 3/7 F (credited), F - 5/7 F (credited)).
    // USD: 10 x 4/7 = 5.714.. -> 5.71; 10 x 5/7 = 7.142.. -> 7.14;
    //      10 x 3/7 = 4.285.. -> 4.29, so 4.29 - 10.00 = -5.71; 7.14 - 10.00 = -2.86.
    // JPY: 1000 x 4/7 = 571.4 -> 571; 714.2 -> 714; 428.5.. -> 429 (-571); -286.
    // KWD: 10 x 4/7 = 5.7142.. -> 5.714; 7.1428.. -> 7.143; 4.2857.. -> 4.286 (-5.714); -2.857.
    let table = [
        ("USD", "10", "10.00", "5.71", "7.14", "-5.71", "-2.86"),
        ("JPY", "1000", "1000", "571", "714", "-571", "-286"),
        ("KWD", "10", "10.000", "5.714", "7.143", "-5.714", "-2.857"),
    ];
    let s = hours_ago(20 * 24);
    for (currency, fee, full, four, five, credit_four, credit_two) in table {
        let weekly = plan(
            &app,
            &format!("Weekly {currency}"),
            "WEEKLY",
            currency,
            &[json!({ "amount": fee, "invoiceCadence": "ADVANCE" })],
        )
        .await;
        let customer = |name: &str| format!("{currency}-{name}");

        // A short first period: anchored 3 days before the start, the first
        // week has 4 of its 7 days. Cancelled at its end.
        let short = app.create_customer(&customer("short"), None).await;
        let sub = subscribe(
            &app,
            &short,
            &weekly,
            json!({ "startAt": at(s), "billingAnchor": at(s - Duration::days(3)) }),
        )
        .await;
        change(&app, "cancelSubscription", &sub, s + Duration::days(4)).await;

        // A 2-day trial ending inside the first week: 5 of 7 days.
        let trial = app.create_customer(&customer("trial"), None).await;
        let sub = subscribe(
            &app,
            &trial,
            &weekly,
            json!({ "startAt": at(s), "billingAnchor": at(s), "trialDays": 2 }),
        )
        .await;
        change(&app, "cancelSubscription", &sub, s + Duration::days(7)).await;

        // Billed a full week ahead, then cancelled after 3 days: the unused
        // 4 days are credited at the end.
        let cancelled = app.create_customer(&customer("cancelled"), None).await;
        let cancelled_sub = subscribe(&app, &cancelled, &weekly, json!({ "startAt": at(s) })).await;

        // Billed a week ahead, paused on day 5 over the boundary, resumed on
        // day 9, cancelled on day 14: 5 days of each week bill.
        let paused = app.create_customer(&customer("paused"), None).await;
        let paused_sub = subscribe(&app, &paused, &weekly, json!({ "startAt": at(s) })).await;

        bill_until(&app, s + Duration::hours(1)).await;
        change(&app, "cancelSubscription", &cancelled_sub, s + Duration::days(3)).await;
        change(&app, "pauseSubscription", &paused_sub, s + Duration::days(5)).await;
        bill_until(&app, s + Duration::days(7) + Duration::hours(1)).await;
        change(&app, "resumeSubscription", &paused_sub, s + Duration::days(9)).await;
        change(&app, "cancelSubscription", &paused_sub, s + Duration::days(14)).await;
        bill_until(&app, Utc::now()).await;

        assert_eq!(billed(&app, &short).await, amounts(&[&[four]]), "{currency} short");
        assert_eq!(billed(&app, &trial).await, amounts(&[&[five]]), "{currency} trial");
        assert_eq!(
            billed(&app, &cancelled).await,
            amounts(&[&[full], &[credit_four]]),
            "{currency} cancelled"
        );
        assert_eq!(
            billed(&app, &paused).await,
            amounts(&[&[full], &[credit_two], &[five]]),
            "{currency} paused"
        );
        let credit = &invoices(&app, &cancelled).await[1]["lineItems"][0];
        assert_eq!(credit["description"], format!("Weekly {currency} (adjustment)"));
        // 3 of 7 days: 0.428571.
        assert_eq!(credit["prorationFraction"], "0.428571");
    }
}

/// The preview shows what the period's invoices will add up to.
#[tokio::test(flavor = "multi_thread")]
async fn the_preview_and_the_invoices_agree() {
    let app = TestApp::new().await;
    let weekly = plan(
        &app,
        "Weekly",
        "WEEKLY",
        "USD",
        &[json!({ "amount": "10", "invoiceCadence": "ADVANCE" })],
    )
    .await;
    let s = hours_ago(24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(
        &app,
        &customer,
        &weekly,
        json!({ "startAt": at(s), "billingAnchor": at(s), "trialDays": 2 }),
    )
    .await;
    let preview = app
        .ok(
            "query($id: UUID!) { subscription(id: $id) { upcomingInvoice { subtotal lineItems { amount prorationFraction } } } }",
            json!({ "id": sub }),
        )
        .await["subscription"]["upcomingInvoice"]
        .clone();
    // 10 x 5/7 = 7.142.. -> 7.14, as the opening invoice bills it.
    assert_eq!(preview["subtotal"], "7.14");
    assert_eq!(preview["lineItems"][0]["prorationFraction"], "0.714286");
    bill_until(&app, Utc::now()).await;
    assert_eq!(billed(&app, &customer).await, amounts(&[&["7.14"]]));
}

/// Changes take effect at a chosen instant, never before the last invoiced
/// boundary, and pauses and resumes are not scheduled ahead.
#[tokio::test(flavor = "multi_thread")]
async fn changes_at_an_instant_are_checked() {
    let app = TestApp::new().await;
    let daily = plan(
        &app,
        "Daily",
        "DAILY",
        "USD",
        &[json!({ "amount": "10", "invoiceCadence": "ADVANCE" })],
    )
    .await;
    let s = hours_ago(3 * 24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &daily, json!({ "startAt": at(s) })).await;
    bill_until(&app, s + Duration::days(2) + Duration::hours(1)).await;
    let before = s + Duration::days(2) - Duration::hours(1);
    for mutation in ["pauseSubscription", "cancelSubscription"] {
        let answer = attempt(&app, mutation, &sub, before).await;
        answer.assert_error("VALIDATION", Some("at"));
        assert!(
            answer.message().contains("last invoiced boundary"),
            "{}",
            answer.message()
        );
    }
    let ahead = Utc::now() + Duration::hours(2);
    attempt(&app, "pauseSubscription", &sub, ahead)
        .await
        .assert_error("VALIDATION", Some("at"));
    let both = app
        .gql(
            "mutation($id: UUID!, $at: DateTime!) { cancelSubscription(id: $id, at: $at, atPeriodEnd: true) { id } }",
            json!({ "id": sub, "at": at(ahead) }),
        )
        .await;
    both.assert_error("VALIDATION", Some("at"));
    // A pause from the boundary on; the resume cannot precede it.
    change(&app, "pauseSubscription", &sub, s + Duration::days(2)).await;
    attempt(
        &app,
        "resumeSubscription",
        &sub,
        s + Duration::days(2) - Duration::seconds(1),
    )
    .await
    .assert_error("VALIDATION", Some("at"));
    // A cancellation can be scheduled, then brought forward, not pushed back.
    change(&app, "cancelSubscription", &sub, ahead).await;
    attempt(&app, "cancelSubscription", &sub, ahead + Duration::days(1))
        .await
        .assert_error("CONFLICT", None);
    change(&app, "cancelSubscription", &sub, ahead - Duration::minutes(30)).await;
}
