//! Coupons and discounts through the API: every input rule, codes and
//! archiving, redemption limits under real concurrency, what applying and
//! removing a discount refuses, tenant isolation, and batched lists.

use std::sync::Arc;

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::support::TestApp;

const CREATE: &str = "mutation($input: CreateCouponInput!) { createCoupon(input: $input) {
    id code name percentOff amountOff currency duration durationPeriods maxRedemptions timesRedeemed
    redeemBy appliesToPrices { id } redeemable archivedAt createdAt
} }";
const APPLY: &str = "mutation($input: ApplyCouponInput!) { applyCoupon(input: $input) {
    id periodsApplied periodsRemaining active removedAt coupon { id code timesRedeemed }
    customer { id } subscription { id }
} }";
const COUPON: &str = "query($id: UUID!) { coupon(id: $id) { id code timesRedeemed redeemable archivedAt } }";

fn coupon_input(code: &str) -> Value {
    json!({ "code": code, "name": format!("Coupon {code}"), "percentOff": "10", "duration": "FOREVER" })
}

async fn create_coupon(app: &TestApp, input: Value) -> Value {
    app.ok(CREATE, json!({ "input": input })).await["createCoupon"].clone()
}

async fn apply_to_customer(app: &TestApp, code: &str, customer: &str) -> Value {
    app.ok(APPLY, json!({ "input": { "code": code, "customerId": customer } }))
        .await["applyCoupon"]
        .clone()
}

async fn times_redeemed(app: &TestApp, id: &str) -> i64 {
    app.ok(COUPON, json!({ "id": id })).await["coupon"]["timesRedeemed"]
        .as_i64()
        .unwrap()
}

/// A plan of one fixed USD price; returns (plan id, price id).
async fn usd_plan(app: &TestApp) -> (String, String) {
    let input = json!({ "name": "Basic", "prices": [
        { "currency": "USD", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "20" }
    ] });
    let plan = app
        .ok(
            "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id prices { id } } }",
            json!({ "input": input }),
        )
        .await["createPlan"]
        .clone();
    (
        plan["id"].as_str().unwrap().to_string(),
        plan["prices"][0]["id"].as_str().unwrap().to_string(),
    )
}

async fn subscribe(app: &TestApp, customer: &str, plan: &str) -> String {
    app.ok(
        "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }",
        json!({ "input": { "customerId": customer, "planId": plan } }),
    )
    .await["createSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn sql(app: &TestApp, statement: &str) {
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    diesel::sql_query(statement).execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_coupon_rule_is_refused_with_its_field_and_message() {
    let app = TestApp::new().await;
    let (_, price) = usd_plan(&app).await;
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let unknown = uuid::Uuid::now_v7().to_string();
    // (changes to a valid input, field, part of the message)
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "code": "" }), "input.code", "must not be empty"),
        (json!({ "code": "TWO WORDS" }), "input.code", "may contain only letters"),
        (json!({ "code": "C".repeat(65) }), "input.code", "at most 64 characters"),
        (json!({ "name": " " }), "input.name", "must not be empty"),
        (
            json!({ "percentOff": null }),
            "input.percentOff",
            "either percentOff or amountOff",
        ),
        (
            json!({ "amountOff": "5", "currency": "USD" }),
            "input.amountOff",
            "not both",
        ),
        (
            json!({ "percentOff": "0" }),
            "input.percentOff",
            "above 0 and at most 100",
        ),
        (
            json!({ "percentOff": "100.5" }),
            "input.percentOff",
            "above 0 and at most 100",
        ),
        (
            json!({ "percentOff": "1.00001" }),
            "input.percentOff",
            "at most 4 decimal places",
        ),
        (
            json!({ "currency": "USD" }),
            "input.currency",
            "only for an amountOff coupon",
        ),
        (
            json!({ "percentOff": null, "amountOff": "5" }),
            "input.currency",
            "required with amountOff",
        ),
        (
            json!({ "percentOff": null, "amountOff": "5", "currency": "XYZ" }),
            "input.currency",
            "ISO 4217",
        ),
        (
            json!({ "percentOff": null, "amountOff": "5.555", "currency": "USD" }),
            "input.amountOff",
            "minor units",
        ),
        (
            json!({ "percentOff": null, "amountOff": "500.5", "currency": "JPY" }),
            "input.amountOff",
            "minor units",
        ),
        (
            json!({ "percentOff": null, "amountOff": "0", "currency": "USD" }),
            "input.amountOff",
            "above 0",
        ),
        (
            json!({ "percentOff": null, "amountOff": "-1", "currency": "USD" }),
            "input.amountOff",
            "negative",
        ),
        (
            json!({ "duration": "REPEATING" }),
            "input.durationPeriods",
            "required for a REPEATING",
        ),
        (
            json!({ "duration": "REPEATING", "durationPeriods": 0 }),
            "input.durationPeriods",
            "between 1 and 1200",
        ),
        (
            json!({ "duration": "REPEATING", "durationPeriods": 1201 }),
            "input.durationPeriods",
            "between 1 and 1200",
        ),
        (
            json!({ "duration": "ONCE", "durationPeriods": 2 }),
            "input.durationPeriods",
            "only for a REPEATING",
        ),
        (json!({ "maxRedemptions": 0 }), "input.maxRedemptions", "at least 1"),
        (json!({ "redeemBy": past }), "input.redeemBy", "in the future"),
        (
            json!({ "appliesToPriceIds": [] }),
            "input.appliesToPriceIds",
            "must not be empty",
        ),
        (
            json!({ "appliesToPriceIds": [price, unknown] }),
            "input.appliesToPriceIds[1]",
            "not a price of the tenant",
        ),
    ];
    for (changes, field, message) in cases {
        let mut input = coupon_input("VALID");
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        let gql = app.gql(CREATE, json!({ "input": input })).await;
        gql.assert_error("VALIDATION", Some(field));
        assert!(gql.message().contains(message), "{changes}: {}", gql.body);
    }
    // None of them was written.
    let listed = app
        .ok(
            "{ coupons(filter: { includeArchived: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["coupons"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn coupons_keep_what_they_were_given() {
    let app = TestApp::new().await;
    let (_, price) = usd_plan(&app).await;
    let redeem_by = (Utc::now() + Duration::days(30)).to_rfc3339();
    let amount = create_coupon(
        &app,
        json!({ "code": "Welcome-5_usd", "name": "Welcome", "amountOff": "5.5", "currency": "usd",
                "duration": "REPEATING", "durationPeriods": 3, "maxRedemptions": 100, "redeemBy": redeem_by,
                "appliesToPriceIds": [price] }),
    )
    .await;
    assert_eq!(amount["code"], "Welcome-5_usd");
    assert_eq!(amount["amountOff"], "5.50");
    assert_eq!(amount["currency"], "USD");
    assert_eq!(amount["percentOff"], Value::Null);
    assert_eq!(amount["duration"], "REPEATING");
    assert_eq!(amount["durationPeriods"], 3);
    assert_eq!(amount["maxRedemptions"], 100);
    assert_eq!(amount["timesRedeemed"], 0);
    assert_eq!(amount["appliesToPrices"], json!([{ "id": price }]));
    assert_eq!(amount["redeemable"], true);

    let percent = create_coupon(
        &app,
        json!({ "code": "TEN", "name": "Ten", "percentOff": "12.5000", "duration": "ONCE" }),
    )
    .await;
    assert_eq!(percent["percentOff"], "12.5");
    assert_eq!(percent["amountOff"], Value::Null);
    assert_eq!(percent["appliesToPrices"], Value::Null);
    assert_eq!(percent["durationPeriods"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_unique_among_live_coupons_and_archiving_frees_them() {
    let app = TestApp::new().await;
    let first = create_coupon(&app, coupon_input("SPRING")).await;
    let dup = app.gql(CREATE, json!({ "input": coupon_input("SPRING") })).await;
    dup.assert_error("CONFLICT", None);
    assert!(dup.message().contains("SPRING"), "{}", dup.body);
    // Codes match exactly: another case is another code.
    create_coupon(&app, coupon_input("spring")).await;

    let archive = "mutation($id: UUID!) { archiveCoupon(id: $id) { id archivedAt redeemable } }";
    let archived = app.ok(archive, json!({ "id": first["id"] })).await["archiveCoupon"].clone();
    assert!(archived["archivedAt"].is_string());
    assert_eq!(archived["redeemable"], false);
    app.gql(archive, json!({ "id": first["id"] }))
        .await
        .assert_error("CONFLICT", None);
    app.gql(archive, json!({ "id": uuid::Uuid::now_v7() }))
        .await
        .assert_error("NOT_FOUND", None);

    // The code is free again, and an archived coupon cannot be redeemed.
    let customer = app.create_customer("c-1", None).await;
    app.gql(APPLY, json!({ "input": { "code": "SPRING", "customerId": customer } }))
        .await
        .assert_error("NOT_FOUND", None);
    let second = create_coupon(&app, coupon_input("SPRING")).await;
    let discount = apply_to_customer(&app, "SPRING", &customer).await;
    assert_eq!(discount["coupon"]["id"], second["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn coupon_lists_page_through_cursors_and_leave_archived_ones_out_by_default() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_coupon(&app, coupon_input(&format!("C{i}"))).await["id"].clone());
    }
    app.ok(
        "mutation($id: UUID!) { archiveCoupon(id: $id) { id } }",
        json!({ "id": ids[1] }),
    )
    .await;
    let list = "query($first: Int, $after: String, $all: Boolean!) {
        coupons(first: $first, after: $after, filter: { includeArchived: $all }) {
            totalCount nodes { id code } pageInfo { hasNextPage endCursor } } }";
    let page = app.ok(list, json!({ "first": 2, "all": false })).await["coupons"].clone();
    assert_eq!(page["totalCount"], 4);
    let codes: Vec<&str> = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["C0", "C2"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = app
        .ok(
            list,
            json!({ "first": 2, "after": page["pageInfo"]["endCursor"], "all": false }),
        )
        .await["coupons"]
        .clone();
    let codes: Vec<&str> = next["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["C3", "C4"]);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);

    let all = app.ok(list, json!({ "first": 10, "all": true })).await["coupons"].clone();
    assert_eq!(all["totalCount"], 5);
    assert_eq!(all["nodes"][1]["id"], ids[1]);
    let unfiltered = app.ok("{ coupons { totalCount } }", json!({})).await;
    assert_eq!(unfiltered["coupons"]["totalCount"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redemption_limit_holds_under_concurrent_redemptions() {
    let app = TestApp::new().await;
    let mut input = coupon_input("LIMITED");
    input["maxRedemptions"] = json!(3);
    let coupon = create_coupon(&app, input).await;
    let mut customers = Vec::new();
    for i in 0..12 {
        customers.push(app.create_customer(&format!("rush-{i}"), None).await);
    }

    let app = Arc::new(app);
    let tasks: Vec<_> = customers
        .iter()
        .map(|customer| {
            let (app, customer) = (app.clone(), customer.clone());
            tokio::spawn(async move {
                app.gql(APPLY, json!({ "input": { "code": "LIMITED", "customerId": customer } }))
                    .await
            })
        })
        .collect();
    let (mut granted, mut refused) = (0, 0);
    for task in tasks {
        let gql = task.await.unwrap();
        if gql.body["data"]["applyCoupon"].is_object() {
            granted += 1;
        } else {
            gql.assert_error("CONFLICT", None);
            assert!(
                gql.message().contains("has reached its redemption limit (3)"),
                "{}",
                gql.body
            );
            refused += 1;
        }
    }
    assert_eq!((granted, refused), (3, 9));
    let id = coupon["id"].as_str().unwrap();
    assert_eq!(times_redeemed(&app, id).await, 3);
    let after = app.ok(COUPON, json!({ "id": id })).await;
    assert_eq!(after["coupon"]["redeemable"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coupon_past_its_redeem_by_is_refused() {
    let app = TestApp::new().await;
    let mut input = coupon_input("LATE");
    input["redeemBy"] = json!((Utc::now() + Duration::hours(1)).to_rfc3339());
    let coupon = create_coupon(&app, input).await;
    let id = coupon["id"].as_str().unwrap();
    sql(
        &app,
        &format!("UPDATE coupons SET redeem_by = now() - interval '1 second' WHERE id = '{id}'"),
    )
    .await;
    let customer = app.create_customer("late", None).await;
    let gql = app
        .gql(APPLY, json!({ "input": { "code": "LATE", "customerId": customer } }))
        .await;
    gql.assert_error("CONFLICT", None);
    assert!(gql.message().contains("its redeemBy passed"), "{}", gql.body);
    assert_eq!(times_redeemed(&app, id).await, 0);
    assert_eq!(app.ok(COUPON, json!({ "id": id })).await["coupon"]["redeemable"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_discount_gives_its_redemption_back() {
    let app = TestApp::new().await;
    let (plan, _) = usd_plan(&app).await;
    let mut input = coupon_input("TWICE");
    input["maxRedemptions"] = json!(5);
    let coupon = create_coupon(&app, input).await;
    let id = coupon["id"].as_str().unwrap();
    let customer = app.create_customer("dup", None).await;

    let discount = apply_to_customer(&app, "TWICE", &customer).await;
    assert_eq!(discount["customer"]["id"], customer.as_str());
    assert_eq!(discount["subscription"], Value::Null);
    assert_eq!(discount["coupon"]["timesRedeemed"], 1);
    let again = app
        .gql(APPLY, json!({ "input": { "code": "TWICE", "customerId": customer } }))
        .await;
    again.assert_error("CONFLICT", None);
    assert!(
        again.message().contains("already applied to this customer"),
        "{}",
        again.body
    );
    assert_eq!(times_redeemed(&app, id).await, 1);

    // An amount in another currency than the subscription's is refused, and costs nothing.
    create_coupon(
        &app,
        json!({ "code": "EURO", "name": "Euro", "amountOff": "5", "currency": "EUR", "duration": "ONCE" }),
    )
    .await;
    let subscription = subscribe(&app, &customer, &plan).await;
    let gql = app
        .gql(
            APPLY,
            json!({ "input": { "code": "EURO", "subscriptionId": subscription } }),
        )
        .await;
    gql.assert_error("VALIDATION", Some("input.code"));
    assert!(gql.message().contains("bills in USD"), "{}", gql.body);
    let euro = app.ok("{ coupons { nodes { code timesRedeemed } } }", json!({})).await;
    assert_eq!(
        euro["coupons"]["nodes"][1],
        json!({ "code": "EURO", "timesRedeemed": 0 })
    );
    // On the customer, any currency goes.
    apply_to_customer(&app, "EURO", &customer).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coupons_are_applied_only_to_live_customers_and_subscriptions() {
    let app = TestApp::new().await;
    let (plan, _) = usd_plan(&app).await;
    create_coupon(&app, coupon_input("LIVE")).await;

    let both = app
        .gql(
            APPLY,
            json!({ "input": { "code": "LIVE", "customerId": uuid::Uuid::now_v7(), "subscriptionId": uuid::Uuid::now_v7() } }),
        )
        .await;
    both.assert_error("VALIDATION", Some("input.subscriptionId"));
    app.gql(APPLY, json!({ "input": { "code": "LIVE" } }))
        .await
        .assert_error("VALIDATION", Some("input.customerId"));
    app.gql(
        APPLY,
        json!({ "input": { "code": "LIVE", "customerId": uuid::Uuid::now_v7() } }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql(
        APPLY,
        json!({ "input": { "code": "LIVE", "subscriptionId": uuid::Uuid::now_v7() } }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    let customer = app.create_customer("someone", None).await;
    let unknown = app
        .gql(APPLY, json!({ "input": { "code": "NOPE", "customerId": customer } }))
        .await;
    unknown.assert_error("NOT_FOUND", None);
    assert!(unknown.message().contains("coupon"), "{}", unknown.body);

    let archived = app.create_customer("gone", None).await;
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": archived }),
    )
    .await;
    app.gql(APPLY, json!({ "input": { "code": "LIVE", "customerId": archived } }))
        .await
        .assert_error("CONFLICT", None);

    let subscription = subscribe(&app, &customer, &plan).await;
    let discount = app
        .ok(
            APPLY,
            json!({ "input": { "code": "LIVE", "subscriptionId": subscription } }),
        )
        .await["applyCoupon"]
        .clone();
    assert_eq!(discount["subscription"]["id"], subscription.as_str());
    assert_eq!(discount["customer"], Value::Null);
    let listed = app
        .ok(
            "query($id: UUID!) { subscription(id: $id) { discounts { totalCount nodes { id } } } }",
            json!({ "id": subscription }),
        )
        .await;
    assert_eq!(listed["subscription"]["discounts"]["nodes"][0]["id"], discount["id"]);

    let ended = subscribe(&app, &customer, &plan).await;
    app.ok(
        "mutation($id: UUID!) { cancelSubscription(id: $id) { id } }",
        json!({ "id": ended }),
    )
    .await;
    let gql = app
        .gql(APPLY, json!({ "input": { "code": "LIVE", "subscriptionId": ended } }))
        .await;
    gql.assert_error("CONFLICT", None);
    assert!(gql.message().contains("ended"), "{}", gql.body);
    assert_eq!(
        app.ok("{ coupons { nodes { timesRedeemed } } }", json!({})).await["coupons"]["nodes"][0]["timesRedeemed"],
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_discount_stops_it_and_keeps_the_redemption() {
    let app = TestApp::new().await;
    let repeating = create_coupon(
        &app,
        json!({ "code": "THREE", "name": "Three months", "percentOff": "20", "duration": "REPEATING", "durationPeriods": 3 }),
    )
    .await;
    create_coupon(
        &app,
        json!({ "code": "FIRST", "name": "First", "percentOff": "5", "duration": "ONCE" }),
    )
    .await;
    let customer = app.create_customer("keeper", None).await;
    let three = apply_to_customer(&app, "THREE", &customer).await;
    assert_eq!(three["periodsApplied"], 0);
    assert_eq!(three["periodsRemaining"], 3);
    assert_eq!(three["active"], true);
    let once = apply_to_customer(&app, "FIRST", &customer).await;
    assert_eq!(once["periodsRemaining"], 1);
    let forever = create_coupon(&app, coupon_input("ALWAYS")).await;
    assert_eq!(forever["duration"], "FOREVER");
    assert_eq!(
        apply_to_customer(&app, "ALWAYS", &customer).await["periodsRemaining"],
        Value::Null
    );

    let remove = "mutation($id: UUID!) { removeDiscount(id: $id) { id active removedAt } }";
    let removed = app.ok(remove, json!({ "id": three["id"] })).await["removeDiscount"].clone();
    assert_eq!(removed["active"], false);
    assert!(removed["removedAt"].is_string());
    app.gql(remove, json!({ "id": three["id"] }))
        .await
        .assert_error("CONFLICT", None);
    app.gql(remove, json!({ "id": uuid::Uuid::now_v7() }))
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(times_redeemed(&app, repeating["id"].as_str().unwrap()).await, 1);

    let list = "query($id: UUID!, $all: Boolean!) { customer(id: $id) {
        discounts(includeRemoved: $all) { totalCount nodes { id coupon { code } } } } }";
    let live = app.ok(list, json!({ "id": customer, "all": false })).await["customer"]["discounts"].clone();
    assert_eq!(live["totalCount"], 2);
    let codes: Vec<&str> = live["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["coupon"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["FIRST", "ALWAYS"]);
    let all = app.ok(list, json!({ "id": customer, "all": true })).await["customer"]["discounts"].clone();
    assert_eq!(all["totalCount"], 3);
    assert_eq!(all["nodes"][0]["id"], three["id"]);

    // Once removed, the coupon may be applied again, at the cost of another redemption.
    apply_to_customer(&app, "THREE", &customer).await;
    assert_eq!(times_redeemed(&app, repeating["id"].as_str().unwrap()).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_sees_none_of_the_coupons_or_discounts() {
    let app = TestApp::new().await;
    let coupon = create_coupon(&app, coupon_input("MINE")).await;
    let customer = app.create_customer("mine", None).await;
    let discount = apply_to_customer(&app, "MINE", &customer).await;

    let other = app.create_key("globex").await;
    let theirs = app.create_customer_as(&other, "theirs", None).await;
    app.gql_as(Some(&other), COUPON, json!({ "id": coupon["id"] }))
        .await
        .assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        "query($id: UUID!) { discount(id: $id) { id } }",
        json!({ "id": discount["id"] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    let listed = app
        .gql_as(
            Some(&other),
            "{ coupons(filter: { includeArchived: true }) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.data()["coupons"]["totalCount"], 0);
    app.gql_as(
        Some(&other),
        "mutation($id: UUID!) { archiveCoupon(id: $id) { id } }",
        json!({ "id": coupon["id"] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        "mutation($id: UUID!) { removeDiscount(id: $id) { id } }",
        json!({ "id": discount["id"] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        APPLY,
        json!({ "input": { "code": "MINE", "customerId": theirs } }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    // Nor can acme's coupon reach the other tenant's customer, or the reverse.
    app.gql(APPLY, json!({ "input": { "code": "MINE", "customerId": theirs } }))
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(times_redeemed(&app, coupon["id"].as_str().unwrap()).await, 1);
}

const DISCOUNT_PAGE: &str = "query($first: Int!) { customers(first: $first) { nodes { id
    discounts { totalCount nodes { id active periodsRemaining coupon { code appliesToPrices { id } } customer { id } } }
} } }";

async fn statements_for(app: &TestApp, first: usize) -> (u64, Value) {
    let before = app.statements();
    let data = app.ok(DISCOUNT_PAGE, json!({ "first": first })).await;
    (app.statements() - before, data)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_customers_with_their_discounts_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let (_, price) = usd_plan(&app).await;
    let mut input = coupon_input("PAGE");
    input["appliesToPriceIds"] = json!([price]);
    create_coupon(&app, input).await;
    create_coupon(&app, coupon_input("OTHER")).await;
    for i in 0..10 {
        let customer = app.create_customer(&format!("p-{i}"), None).await;
        apply_to_customer(&app, "PAGE", &customer).await;
        apply_to_customer(&app, "OTHER", &customer).await;
    }
    let (small, small_data) = statements_for(&app, 2).await;
    let (large, large_data) = statements_for(&app, 10).await;
    assert_eq!(small_data["customers"]["nodes"].as_array().unwrap().len(), 2);
    let nodes = large_data["customers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 10);
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 2 customers, {large} for 10"
    );
    for node in nodes {
        let discounts = &node["discounts"];
        assert_eq!(discounts["totalCount"], 2);
        assert_eq!(discounts["nodes"][0]["coupon"]["code"], "PAGE");
        assert_eq!(
            discounts["nodes"][0]["coupon"]["appliesToPrices"][0]["id"],
            price.as_str()
        );
        assert_eq!(discounts["nodes"][1]["customer"]["id"], node["id"]);
    }
}
