//! Changes to a running subscription: plan upgrades and downgrades and seat
//! changes mid-period (each phase billed by its share, fees billed ahead
//! settled at the period's end), changes scheduled for the period's end,
//! and their preview. Amounts computed by hand in the comments.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::proration::{amounts, at, bill_until, billed, change, hours_ago, invoices, plan, subscribe};
use crate::support::TestApp;

const CHANGE_PLAN: &str = "mutation($id: UUID!, $plan: UUID!, $at: DateTime, $effective: ChangeEffective = NOW) {
    changeSubscriptionPlan(id: $id, planId: $plan, at: $at, effective: $effective) {
        id plan { id } pendingChange { startsAt plan { id } } quantities { priceId quantity }
    } }";
const SET_QUANTITY: &str = "mutation($id: UUID!, $price: UUID!, $q: Decimal!, $at: DateTime) {
    setSubscriptionQuantity(id: $id, priceId: $price, quantity: $q, at: $at) { quantities { priceId quantity } } }";
const PREVIEW: &str = "query($id: UUID!, $plan: UUID, $at: DateTime, $effective: ChangeEffective = NOW) {
    previewSubscriptionChange(id: $id, planId: $plan, at: $at, effective: $effective) {
        effectiveAt periodStart periodEnd total lineItems { description amount prorationFraction }
    } }";

async fn change_plan(app: &TestApp, sub: &str, plan: &str, when: Option<chrono::DateTime<Utc>>) -> Value {
    app.ok(CHANGE_PLAN, json!({ "id": sub, "plan": plan, "at": when.map(at) }))
        .await["changeSubscriptionPlan"]
        .clone()
}

async fn set_quantity(app: &TestApp, sub: &str, price: &str, q: &str, when: chrono::DateTime<Utc>) {
    app.ok(
        SET_QUANTITY,
        json!({ "id": sub, "price": price, "q": q, "at": at(when) }),
    )
    .await;
}

async fn finalize(app: &TestApp, invoice: &str) -> Value {
    app.ok(
        "mutation($id: UUID!) { finalizeInvoice(id: $id) { subtotal total amountDue } }",
        json!({ "id": invoice }),
    )
    .await["finalizeInvoice"]
        .clone()
}

async fn credit_balance(app: &TestApp, customer: &str) -> Value {
    app.ok(
        "query($id: UUID!) { customer(id: $id) { creditBalance { currency amount } } }",
        json!({ "id": customer }),
    )
    .await["customer"]["creditBalance"]
        .clone()
}

/// Upgrades, downgrades and seat changes on the third day of a week, in
/// USD, JPY and KWD. Basic bills 10 a week ahead, Pro 25, Seats 10 a seat.
#[tokio::test(flavor = "multi_thread")]
async fn plan_and_seat_changes_mid_period_in_usd_jpy_and_kwd() {
    let app = TestApp::new().await;
    // (currency, basic, pro, seat,
    //  upgrade: basic credited, pro billed, subtotal,
    //  downgrade: pro credited, basic billed, subtotal,
    //  seats: the adjustment)
    // USD upgrade: Basic 10 x 3/7 = 4.285.. -> 4.29, less the 10.00 billed: -5.71;
    //   Pro 25 x 4/7 = 14.285.. -> 14.29; subtotal 8.58.
    // USD downgrade: Pro 25 x 3/7 = 10.714.. -> 10.71 - 25.00 = -14.29;
    //   Basic 10 x 4/7 = 5.714.. -> 5.71; subtotal -8.58, kept as credit.
    // USD seats: 1 seat for 2 days 10 x 2/7 = 2.857.. -> 2.86, 3 seats for 3
    //   days 90/7 = 12.857.. -> 12.86, 2 seats for 2 days 40/7 = 5.714.. ->
    //   5.71: 21.43, less the 10.00 billed ahead: 11.43.
    // JPY (1000, 2500, 1000): 428.57 -> 429, -571; 1428.57 -> 1429; 858.
    //   1071.43 -> 1071, -1429; 571.43 -> 571; -858. 286 + 1286 + 571 = 2143 - 1000 = 1143.
    // KWD (10, 25, 10): 4.286, -5.714; 14.286; 8.572. 10.714, -14.286;
    //   5.714; -8.572. 2.857 + 12.857 + 5.714 = 21.428 - 10.000 = 11.428.
    let table = [
        (
            "USD", "10", "25", "10", "-5.71", "14.29", "8.58", "-14.29", "5.71", "-8.58", "11.43",
        ),
        (
            "JPY", "1000", "2500", "1000", "-571", "1429", "858", "-1429", "571", "-858", "1143",
        ),
        (
            "KWD", "10", "25", "10", "-5.714", "14.286", "8.572", "-14.286", "5.714", "-8.572", "11.428",
        ),
    ];
    let s = hours_ago(10 * 24);
    for (cur, basic_fee, pro_fee, seat_fee, up_credit, up_bill, up_total, down_credit, down_bill, down_total, seats) in
        table
    {
        let fee = |amount: &str| json!({ "amount": amount, "invoiceCadence": "ADVANCE" });
        let basic = plan(&app, &format!("Basic {cur}"), "WEEKLY", cur, &[fee(basic_fee)]).await;
        let pro = plan(&app, &format!("Pro {cur}"), "WEEKLY", cur, &[fee(pro_fee)]).await;
        let seat_plan = app
            .ok(
                "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id prices { id } } }",
                json!({ "input": { "name": format!("Seats {cur}"), "prices": [
                    { "currency": cur, "billingPeriod": "WEEKLY", "type": "FIXED", "amount": seat_fee }
                ] } }),
            )
            .await["createPlan"]
            .clone();
        let seat_price = seat_plan["prices"][0]["id"].as_str().unwrap().to_string();
        let customer = |name: &str| format!("{cur}-{name}");
        let up = app.create_customer(&customer("up"), None).await;
        let down = app.create_customer(&customer("down"), None).await;
        let team = app.create_customer(&customer("team"), None).await;
        let up_sub = subscribe(&app, &up, &basic, json!({ "startAt": at(s) })).await;
        let down_sub = subscribe(&app, &down, &pro, json!({ "startAt": at(s) })).await;
        let seat_sub = subscribe(
            &app,
            &team,
            seat_plan["id"].as_str().unwrap(),
            json!({ "startAt": at(s) }),
        )
        .await;
        bill_until(&app, s + Duration::hours(1)).await;

        // The preview says what the upgrade will bill, writing nothing.
        let preview = app
            .ok(
                PREVIEW,
                json!({ "id": up_sub, "plan": pro, "at": at(s + Duration::days(3)) }),
            )
            .await["previewSubscriptionChange"]
            .clone();
        let lines: Vec<&str> = preview["lineItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"].as_str().unwrap())
            .collect();
        assert_eq!(lines, vec![up_credit, up_bill], "{cur} preview");
        assert_eq!(preview["total"], up_total, "{cur} preview");

        let changed = change_plan(&app, &up_sub, &pro, Some(s + Duration::days(3))).await;
        assert_eq!(changed["plan"]["id"], json!(pro));
        change_plan(&app, &down_sub, &basic, Some(s + Duration::days(3))).await;
        set_quantity(&app, &seat_sub, &seat_price, "3", s + Duration::days(2)).await;
        set_quantity(&app, &seat_sub, &seat_price, "2", s + Duration::days(5)).await;
        for sub in [&up_sub, &down_sub, &seat_sub] {
            change(&app, "cancelSubscription", sub, s + Duration::days(7)).await;
        }
        bill_until(&app, Utc::now()).await;

        let opening = |fee: &str| match cur {
            "USD" => format!("{fee}.00"),
            "KWD" => format!("{fee}.000"),
            _ => fee.to_string(),
        };
        assert_eq!(
            billed(&app, &up).await,
            amounts(&[&[&opening(basic_fee)], &[up_credit, up_bill]]),
            "{cur} upgrade"
        );
        assert_eq!(
            billed(&app, &down).await,
            amounts(&[&[&opening(pro_fee)], &[down_credit, down_bill]]),
            "{cur} downgrade"
        );
        assert_eq!(
            billed(&app, &team).await,
            amounts(&[&[&opening(seat_fee)], &[seats]]),
            "{cur} seats"
        );
        let upgrade = &invoices(&app, &up).await[1];
        assert_eq!(upgrade["subtotal"], up_total);
        assert_eq!(
            upgrade["lineItems"][0]["description"],
            format!("Basic {cur} (adjustment)")
        );
        assert_eq!(upgrade["lineItems"][1]["description"], format!("Pro {cur}"));
        // 4 of 7 days on Pro.
        assert_eq!(upgrade["lineItems"][1]["prorationFraction"], "0.571429");

        // The downgrade's negative invoice becomes the customer's credit.
        let downgrade = invoices(&app, &down).await[1]["id"].as_str().unwrap().to_string();
        let finalized = finalize(&app, &downgrade).await;
        assert_eq!(finalized["subtotal"], down_total);
        let kept = down_total.trim_start_matches('-');
        assert_eq!(
            credit_balance(&app, &down).await,
            json!([{ "currency": cur, "amount": kept }]),
            "{cur} credit"
        );
    }
}

/// A change at the period's end is pending until then, can be cancelled,
/// and its preview bills the next period on the new terms.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_at_period_end_is_pending_until_then() {
    let app = TestApp::new().await;
    let fee = |amount: &str| json!({ "amount": amount, "invoiceCadence": "ADVANCE" });
    let basic = plan(&app, "Basic", "WEEKLY", "USD", &[fee("10")]).await;
    let pro = plan(&app, "Pro", "WEEKLY", "USD", &[fee("25")]).await;
    let s = hours_ago(10 * 24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &basic, json!({ "startAt": at(s) })).await;
    bill_until(&app, Utc::now()).await;
    let period_end = s + Duration::days(14);

    // The next week on Pro instead of Basic: 25.00 billed, 10.00 not.
    let preview = app
        .ok(PREVIEW, json!({ "id": sub, "plan": pro, "effective": "PERIOD_END" }))
        .await["previewSubscriptionChange"]
        .clone();
    assert_eq!(preview["total"], "15.00");
    let vars = json!({ "id": sub, "plan": pro, "effective": "PERIOD_END" });
    let scheduled = app.ok(CHANGE_PLAN, vars.clone()).await["changeSubscriptionPlan"].clone();
    assert_eq!(
        scheduled["plan"]["id"],
        json!(basic),
        "still on Basic until the period ends"
    );
    assert_eq!(scheduled["pendingChange"]["plan"]["id"], json!(pro));
    let starts =
        chrono::DateTime::parse_from_rfc3339(scheduled["pendingChange"]["startsAt"].as_str().unwrap()).unwrap();
    assert_eq!(starts, period_end);
    // A change now must wait for the pending one to be cancelled.
    let now_change = app.gql(CHANGE_PLAN, json!({ "id": sub, "plan": pro })).await;
    now_change.assert_error("CONFLICT", None);
    assert!(
        now_change.message().contains("cancelPendingChange"),
        "{}",
        now_change.message()
    );
    let cancelled = app
        .ok(
            "mutation($id: UUID!) { cancelPendingChange(id: $id) { pendingChange { startsAt } plan { id } } }",
            json!({ "id": sub }),
        )
        .await["cancelPendingChange"]
        .clone();
    assert_eq!(cancelled["pendingChange"], Value::Null);
    assert_eq!(cancelled["plan"]["id"], json!(basic));
    app.gql(
        "mutation($id: UUID!) { cancelPendingChange(id: $id) { id } }",
        json!({ "id": sub }),
    )
    .await
    .assert_error("CONFLICT", None);
    // Nothing was billed by any of it: the opening week and the current one.
    assert_eq!(billed(&app, &customer).await, amounts(&[&["10.00"], &["10.00"]]));
}

/// Bad changes are refused with the field named, and write nothing.
#[tokio::test(flavor = "multi_thread")]
async fn bad_changes_are_refused() {
    let app = TestApp::new().await;
    let fee = |amount: &str| json!({ "amount": amount, "invoiceCadence": "ADVANCE" });
    let basic = plan(&app, "Basic", "WEEKLY", "USD", &[fee("10")]).await;
    let euro = plan(&app, "Euro", "WEEKLY", "EUR", &[fee("10")]).await;
    let s = hours_ago(3 * 24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &basic, json!({ "startAt": at(s) })).await;
    bill_until(&app, Utc::now()).await;

    let refused = |plan: &str, when: Option<chrono::DateTime<Utc>>| {
        let vars = json!({ "id": sub, "plan": plan, "at": when.map(at) });
        async { app.gql(CHANGE_PLAN, vars).await }
    };
    refused(&euro, None).await.assert_error("VALIDATION", Some("planId"));
    refused(&basic, None).await.assert_error("CONFLICT", None);
    // Before the last invoiced boundary (the start).
    refused(&euro, Some(s - Duration::hours(1)))
        .await
        .assert_error("VALIDATION", Some("at"));
    let usage_price = app
        .gql(
            SET_QUANTITY,
            json!({ "id": sub, "price": uuid::Uuid::now_v7(), "q": "2" }),
        )
        .await;
    usage_price.assert_error("NOT_FOUND", None);
    let key = app.create_key("other-tenant").await;
    let foreign = app
        .gql_as(Some(&key), CHANGE_PLAN, json!({ "id": sub, "plan": basic }))
        .await;
    foreign.assert_error("NOT_FOUND", None);
    let state = app
        .ok(
            "query($id: UUID!) { subscription(id: $id) { plan { id } pendingChange { startsAt } } }",
            json!({ "id": sub }),
        )
        .await["subscription"]
        .clone();
    assert_eq!(state, json!({ "plan": { "id": basic }, "pendingChange": null }));
}

/// A customer's life with a change in it: subscribed to Basic, billed,
/// upgraded to Pro on the 3rd day, billed again, pays, is credited part of
/// an invoice and refunded.
#[tokio::test(flavor = "multi_thread")]
async fn a_lifecycle_with_an_upgrade_a_credit_note_and_a_refund() {
    let app = TestApp::new().await;
    let fee = |amount: &str| json!({ "amount": amount, "invoiceCadence": "ADVANCE" });
    let basic = plan(&app, "Basic", "WEEKLY", "USD", &[fee("10")]).await;
    let pro = plan(&app, "Pro", "WEEKLY", "USD", &[fee("25")]).await;
    let s = hours_ago(10 * 24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &basic, json!({ "startAt": at(s) })).await;
    bill_until(&app, s + Duration::hours(1)).await;
    change_plan(&app, &sub, &pro, Some(s + Duration::days(3))).await;
    bill_until(&app, Utc::now()).await;
    // Week 1: 10.00 ahead. At its end: week 2 on Pro ahead (25.00), Basic
    // settled 10 x 3/7 = 4.29 - 10.00 = -5.71, Pro 25 x 4/7 = 14.29: 33.58.
    assert_eq!(
        billed(&app, &customer).await,
        amounts(&[&["10.00"], &["25.00", "-5.71", "14.29"]])
    );
    let list = invoices(&app, &customer).await;
    let second = list[1]["id"].as_str().unwrap().to_string();
    for invoice in &list {
        let id = invoice["id"].as_str().unwrap();
        let finalized = finalize(&app, id).await;
        app.ok(
            "mutation($i: UUID!, $a: Decimal!, $k: String!) { recordPayment(input: { invoiceId: $i, amount: $a, method: CARD, idempotencyKey: $k }) { invoice { paymentStatus } } }",
            json!({ "i": id, "a": finalized["total"], "k": format!("pay-{id}") }),
        )
        .await;
    }
    // 5.00 of the paid second invoice back, paid out by bank transfer.
    let note = app
        .ok(
            "mutation($i: UUID!) { createCreditNote(invoiceId: $i, input: { amount: \"5\", reason: PRODUCT_UNSATISFACTORY, refundTo: RECORD_REFUND, refundMethod: BANK_TRANSFER, refundReference: \"payout-1\" }) { number total amountCredited refundedAmount refunds { amount method reference } } }",
            json!({ "i": second }),
        )
        .await["createCreditNote"]
        .clone();
    assert_eq!(
        note,
        json!({ "number": "CN-000001", "total": "5.00", "amountCredited": "0.00", "refundedAmount": "5.00",
                "refunds": [{ "amount": "5.00", "method": "BANK_TRANSFER", "reference": "payout-1" }] })
    );
    let invoice = app
        .ok(
            "query($i: UUID!) { invoice(id: $i) { total amountPaid creditNoteTotal amountDue paymentStatus } }",
            json!({ "i": second }),
        )
        .await["invoice"]
        .clone();
    assert_eq!(
        invoice,
        json!({ "total": "33.58", "amountPaid": "33.58", "creditNoteTotal": "5.00", "amountDue": "0.00", "paymentStatus": "PAID" })
    );
    // Pro is in force, nothing pending, and no credit balance was made.
    let state = app
        .ok(
            "query($id: UUID!, $c: UUID!) { subscription(id: $id) { plan { id } pendingChange { startsAt } }
               customer(id: $c) { creditBalance { amount } } }",
            json!({ "id": sub, "c": customer }),
        )
        .await;
    assert_eq!(
        state["subscription"],
        json!({ "plan": { "id": pro }, "pendingChange": null })
    );
    assert_eq!(state["customer"]["creditBalance"], json!([]));
}

/// A plan on another billing period cuts the period in progress at the
/// change: the old plan is settled for the part before it, and periods
/// follow the new cadence from the change on.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_of_billing_period_cuts_the_period_at_the_change() {
    let app = TestApp::new().await;
    let fee = |amount: &str| json!({ "amount": amount, "invoiceCadence": "ADVANCE" });
    let daily = plan(&app, "Daily", "DAILY", "USD", &[fee("1")]).await;
    let weekly = plan(&app, "Weekly", "WEEKLY", "USD", &[fee("7")]).await;
    let s = hours_ago(4 * 24);
    let cut = s + Duration::days(2) + Duration::hours(12);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &daily, json!({ "startAt": at(s) })).await;
    bill_until(&app, s + Duration::days(2) + Duration::hours(1)).await;

    // The third day is cut at noon: Daily 1.00 x 12/24 = 0.50 of the 1.00
    // billed ahead (-0.50), and Weekly's first week from the cut, 7.00.
    let preview = app
        .ok(PREVIEW, json!({ "id": sub, "plan": weekly, "at": at(cut) }))
        .await["previewSubscriptionChange"]
        .clone();
    let lines: Vec<&str> = preview["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap())
        .collect();
    assert_eq!((lines, &preview["total"]), (vec!["-0.50", "7.00"], &json!("6.50")));

    change_plan(&app, &sub, &weekly, Some(cut)).await;
    bill_until(&app, Utc::now()).await;
    assert_eq!(
        billed(&app, &customer).await,
        amounts(&[&["1.00"], &["1.00"], &["1.00"], &["7.00", "-0.50"]])
    );
    let state = app
        .ok(
            "query($id: UUID!) { subscription(id: $id) { billingPeriod billingAnchor currentPeriod { start end } plan { name } } }",
            json!({ "id": sub }),
        )
        .await["subscription"]
        .clone();
    assert_eq!(
        (&state["billingPeriod"], &state["plan"]["name"]),
        (&json!("WEEKLY"), &json!("Weekly"))
    );
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(time(&state["billingAnchor"]), cut);
    assert_eq!(
        (
            time(&state["currentPeriod"]["start"]),
            time(&state["currentPeriod"]["end"])
        ),
        (cut.into(), (cut + Duration::days(7)).into())
    );

    // Scheduled for the period's end instead, then dropped: the daily
    // periods stay as they were.
    let other = app.create_customer("other", None).await;
    let later = subscribe(&app, &other, &daily, json!({ "startAt": at(s) })).await;
    bill_until(&app, Utc::now()).await;
    let scheduled = app
        .ok(
            CHANGE_PLAN,
            json!({ "id": later, "plan": weekly, "effective": "PERIOD_END" }),
        )
        .await["changeSubscriptionPlan"]
        .clone();
    assert_eq!(scheduled["pendingChange"]["plan"]["id"], json!(weekly));
    let read = "query($id: UUID!) { subscription(id: $id) { billingPeriod billingAnchor } }";
    let now_terms = app.ok(read, json!({ "id": later })).await["subscription"].clone();
    assert_eq!(now_terms["billingPeriod"], "DAILY");
    assert_eq!(time(&now_terms["billingAnchor"]), s);
    app.ok(
        "mutation($id: UUID!) { cancelPendingChange(id: $id) { id } }",
        json!({ "id": later }),
    )
    .await;
    let restored = app.ok(read, json!({ "id": later })).await["subscription"].clone();
    assert_eq!(
        (restored["billingPeriod"].clone(), time(&restored["billingAnchor"])),
        (json!("DAILY"), s.into())
    );
}

/// Usage before a change is priced by the old plan and after it by the new,
/// on the invoice and again when finalization recounts late events.
#[tokio::test(flavor = "multi_thread")]
async fn usage_is_priced_by_the_plan_in_force_when_it_happened() {
    let app = TestApp::new().await;
    let meter = app
        .ok(
            "mutation { createMeter(input: { name: \"Calls\", eventName: \"api_call\", aggregation: COUNT }) { id } }",
            json!({}),
        )
        .await["createMeter"]["id"]
        .clone();
    let plan_with_calls = |name: &'static str, fee: &'static str, per_call: &'static str| {
        let input = json!({ "name": name, "prices": [
            { "currency": "USD", "billingPeriod": "WEEKLY", "type": "FIXED", "amount": fee },
            { "currency": "USD", "billingPeriod": "WEEKLY", "type": "USAGE", "meterId": meter,
              "billingModel": "PER_UNIT", "unitAmount": per_call }
        ] });
        let app = &app;
        async move {
            app.ok(
                "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await["createPlan"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let basic = plan_with_calls("Basic", "10", "0.10").await;
    let pro = plan_with_calls("Pro", "25", "0.05").await;
    let s = hours_ago(10 * 24);
    let customer = app.create_customer("acme", None).await;
    let sub = subscribe(&app, &customer, &basic, json!({ "startAt": at(s) })).await;
    let calls = |n: usize, when: chrono::DateTime<Utc>, prefix: &'static str| {
        let events: Vec<Value> = (0..n)
            .map(|i| {
                json!({ "eventId": format!("{prefix}-{i}"), "eventName": "api_call",
                             "externalCustomerId": "acme", "timestamp": at(when) })
            })
            .collect();
        let app = &app;
        async move {
            app.ok(
                "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted } }",
                json!({ "events": events }),
            )
            .await;
        }
    };
    calls(10, s + Duration::days(1), "before").await;
    calls(20, s + Duration::days(5), "after").await;
    bill_until(&app, s + Duration::hours(1)).await;
    change_plan(&app, &sub, &pro, Some(s + Duration::days(3))).await;
    change(&app, "cancelSubscription", &sub, s + Duration::days(7)).await;
    bill_until(&app, Utc::now()).await;
    // Basic settled 4.29 - 10.00 = -5.71, Pro 25 x 4/7 = 14.29; 10 calls
    // on Basic at 0.10 = 1.00, 20 on Pro at 0.05 = 1.00: 10.58.
    assert_eq!(
        billed(&app, &customer).await,
        amounts(&[&["10.00"], &["-5.71", "14.29", "1.00", "1.00"]])
    );
    let closing = invoices(&app, &customer).await[1]["id"].as_str().unwrap().to_string();
    let finalized = finalize(&app, &closing).await;
    assert_eq!(
        finalized["subtotal"], "10.58",
        "finalization recounts each plan's own calls"
    );
}
