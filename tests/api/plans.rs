use serde_json::{Value, json};

use crate::support::TestApp;

const CREATE_PLAN: &str = "mutation($input: CreatePlanInput!) { createPlan(input: $input) {
    id name lookupKey description status
    prices { id currency billingPeriod billingPeriodCount type amount invoiceCadence quantity meterId meter { id }
             billingModel unitAmount package { size amount rounding } tierMode tiers { upTo unitAmount flatAmount } status }
} }";

async fn meter(app: &TestApp, key: &str) -> String {
    app.gql_as(
        Some(key),
        "mutation { createMeter(input: { name: \"Calls\", eventName: \"api_call\", aggregation: COUNT }) { id } }",
        json!({}),
    )
    .await
    .data()["createMeter"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn full_plan(meter: &str) -> Value {
    json!({
        "name": "Pro", "lookupKey": "pro-monthly", "description": "For teams",
        "prices": [
            { "currency": "usd", "billingPeriod": "MONTHLY", "type": "FIXED", "amount": "49.00" },
            { "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": meter,
              "billingModel": "PER_UNIT", "unitAmount": "0.0001" },
            { "currency": "JPY", "billingPeriod": "QUARTERLY", "billingPeriodCount": 1, "type": "USAGE", "meterId": meter,
              "billingModel": "PACKAGE", "package": { "size": "100", "amount": "500", "rounding": "DOWN" } },
            { "currency": "KWD", "billingPeriod": "ANNUAL", "type": "USAGE", "meterId": meter, "billingModel": "TIERED",
              "tierMode": "VOLUME", "tiers": [
                { "upTo": "1000", "unitAmount": "0.100", "flatAmount": "0" },
                { "upTo": null, "unitAmount": "0.080", "flatAmount": "5.5" } ] },
            { "currency": "EUR", "billingPeriod": "WEEKLY", "billingPeriodCount": 2, "type": "FIXED", "amount": "10",
              "invoiceCadence": "ARREAR", "quantity": "3" }
        ]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_keeps_every_price_exactly() {
    let app = TestApp::new().await;
    let m = meter(&app, &app.key.clone()).await;
    let plan = app.ok(CREATE_PLAN, json!({ "input": full_plan(&m) })).await["createPlan"].clone();
    assert_eq!(plan["lookupKey"], "pro-monthly");
    assert_eq!(plan["status"], "ACTIVE");
    let prices = plan["prices"].as_array().unwrap();
    assert_eq!(prices.len(), 5);
    let fixed = &prices[0];
    assert_eq!(
        (fixed["currency"].as_str(), fixed["type"].as_str()),
        (Some("USD"), Some("FIXED"))
    );
    assert_eq!(
        (fixed["amount"].as_str(), fixed["invoiceCadence"].as_str()),
        (Some("49"), Some("ADVANCE"))
    );
    assert_eq!(fixed["quantity"], "1");
    assert!(fixed["meter"].is_null());
    let per_unit = &prices[1];
    assert_eq!(
        (per_unit["billingModel"].as_str(), per_unit["unitAmount"].as_str()),
        (Some("PER_UNIT"), Some("0.0001"))
    );
    assert_eq!(per_unit["meter"]["id"], m.as_str());
    assert!(per_unit["amount"].is_null());
    let package = &prices[2];
    assert_eq!(
        package["package"],
        json!({ "size": "100", "amount": "500", "rounding": "DOWN" })
    );
    assert_eq!(package["billingPeriod"], "QUARTERLY");
    let tiered = &prices[3];
    assert_eq!(tiered["tierMode"], "VOLUME");
    assert_eq!(
        tiered["tiers"][0],
        json!({ "upTo": "1000", "unitAmount": "0.100", "flatAmount": "0" })
    );
    assert!(tiered["tiers"][1]["upTo"].is_null());
    let weekly = &prices[4];
    assert_eq!(
        (weekly["billingPeriodCount"].as_i64(), weekly["invoiceCadence"].as_str()),
        (Some(2), Some("ARREAR"))
    );
    assert_eq!(weekly["quantity"], "3");

    let id = plan["id"].as_str().unwrap();
    let by_key = app
        .ok("{ planByLookupKey(lookupKey: \"pro-monthly\") { id } }", json!({}))
        .await;
    assert_eq!(by_key["planByLookupKey"]["id"], id);
    app.gql(
        CREATE_PLAN,
        json!({ "input": { "name": "Again", "lookupKey": "pro-monthly" } }),
    )
    .await
    .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_prices_are_refused_and_nothing_is_written() {
    let app = TestApp::new().await;
    let m = meter(&app, &app.key.clone()).await;
    let other_tenant_meter = meter(&app, &app.create_key("globex").await).await;
    let price = |overrides: Value| {
        let mut p = json!({ "currency": "USD", "billingPeriod": "MONTHLY", "type": "USAGE", "meterId": m,
            "billingModel": "PER_UNIT", "unitAmount": "1" });
        for (k, v) in overrides.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let cases: Vec<(Value, &str)> = vec![
        (price(json!({ "currency": "XYZ" })), "input.prices[1].currency"),
        (price(json!({ "meterId": null })), "input.prices[1].meterId"),
        (
            price(json!({ "meterId": uuid::Uuid::now_v7() })),
            "input.prices[1].meterId",
        ),
        (
            price(json!({ "meterId": other_tenant_meter })),
            "input.prices[1].meterId",
        ),
        (price(json!({ "amount": "5" })), "input.prices[1].amount"),
        (
            price(json!({ "invoiceCadence": "ADVANCE" })),
            "input.prices[1].invoiceCadence",
        ),
        (price(json!({ "unitAmount": null })), "input.prices[1].unitAmount"),
        (price(json!({ "unitAmount": "-1" })), "input.prices[1]"),
        (price(json!({ "billingModel": "PACKAGE" })), "input.prices[1].package"),
        (
            price(json!({ "billingModel": "PACKAGE", "package": { "size": "0", "amount": "1" } })),
            "input.prices[1]",
        ),
        (
            price(json!({ "billingModel": "TIERED", "tiers": [
            { "upTo": "100", "unitAmount": "1" }, { "upTo": "50", "unitAmount": "1" }, { "upTo": null, "unitAmount": "1" } ] })),
            "input.prices[1].tiers",
        ),
        (
            price(json!({ "billingModel": "TIERED", "tiers": [{ "upTo": "100", "unitAmount": "1" }] })),
            "input.prices[1].tiers",
        ),
        (
            price(json!({ "billingPeriodCount": 0 })),
            "input.prices[1].billingPeriodCount",
        ),
        (
            price(json!({ "type": "FIXED", "meterId": null, "billingModel": null, "unitAmount": null })),
            "input.prices[1].amount",
        ),
        (
            price(json!({ "type": "FIXED", "amount": "5" })),
            "input.prices[1].meterId",
        ),
    ];
    for (bad, field) in cases {
        let input = json!({ "name": "P", "prices": [price(json!({})), bad] });
        let res = app.gql(CREATE_PLAN, json!({ "input": input })).await;
        res.assert_error("VALIDATION", None);
        let got = res.field().unwrap_or_default();
        assert!(got.starts_with(field), "{field}: got {got:?} for {input}");
    }
    let plans = app.ok("{ plans { totalCount } }", json!({})).await;
    assert_eq!(plans["plans"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_are_added_and_archived() {
    let app = TestApp::new().await;
    let plan = app.ok(CREATE_PLAN, json!({ "input": { "name": "Basic" } })).await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let added = app
        .ok(
            "mutation($p: UUID!) { addPrice(planId: $p, input: { currency: \"USD\", billingPeriod: MONTHLY, type: FIXED, amount: \"9.99\" }) { id plan { id } } }",
            json!({ "p": plan }),
        )
        .await["addPrice"]
        .clone();
    assert_eq!(added["plan"]["id"], plan.as_str());
    let price = added["id"].as_str().unwrap();
    let archived = app
        .ok(
            "mutation($id: UUID!) { archivePrice(id: $id) { status archivedAt } }",
            json!({ "id": price }),
        )
        .await;
    assert_eq!(archived["archivePrice"]["status"], "ARCHIVED");
    let read = app
        .ok(
            "query($p: UUID!) { plan(id: $p) { active: prices { id } all: prices(includeArchived: true) { id status } } }",
            json!({ "p": plan }),
        )
        .await;
    assert_eq!(read["plan"]["active"], json!([]));
    assert_eq!(read["plan"]["all"][0]["status"], "ARCHIVED");
    app.gql(
        "mutation($p: UUID!) { addPrice(planId: $p, input: { currency: \"USD\", billingPeriod: MONTHLY, type: FIXED }) { id } }",
        json!({ "p": plan }),
    )
    .await
    .assert_error("VALIDATION", Some("input.amount"));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_plans_and_prices_are_not_found() {
    let app = TestApp::new().await;
    let m = meter(&app, &app.key.clone()).await;
    let plan = app.ok(CREATE_PLAN, json!({ "input": full_plan(&m) })).await["createPlan"].clone();
    let (plan_id, price_id) = (plan["id"].as_str().unwrap(), plan["prices"][0]["id"].as_str().unwrap());
    let globex = app.create_key("globex").await;
    let as_globex = |q: &'static str, v: Value| {
        let (app, key) = (&app, globex.clone());
        async move { app.gql_as(Some(&key), q, v).await }
    };
    as_globex("query($id: UUID!) { plan(id: $id) { id } }", json!({ "id": plan_id }))
        .await
        .assert_error("NOT_FOUND", None);
    as_globex("{ planByLookupKey(lookupKey: \"pro-monthly\") { id } }", json!({}))
        .await
        .assert_error("NOT_FOUND", None);
    as_globex(
        "mutation($id: UUID!) { addPrice(planId: $id, input: { currency: \"USD\", billingPeriod: MONTHLY, type: FIXED, amount: \"1\" }) { id } }",
        json!({ "id": plan_id }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    as_globex(
        "mutation($id: UUID!) { archivePrice(id: $id) { id } }",
        json!({ "id": price_id }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    let listed = as_globex("{ plans { totalCount edges { node { id } } } }", json!({}))
        .await
        .data();
    assert_eq!(listed["plans"]["totalCount"], 0);
    // The same lookup key is free in another tenant.
    as_globex(
        "mutation { createPlan(input: { name: \"Pro\", lookupKey: \"pro-monthly\" }) { id } }",
        json!({}),
    )
    .await
    .data();
    let mine = app
        .ok(
            "query($id: UUID!) { plan(id: $id) { prices { status } } }",
            json!({ "id": plan_id }),
        )
        .await;
    assert_eq!(mine["plan"]["prices"][0]["status"], "ACTIVE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_plans_with_prices_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let m = meter(&app, &app.key.clone()).await;
    for i in 0..12 {
        let mut input = full_plan(&m);
        input["lookupKey"] = json!(format!("plan-{i}"));
        app.ok(CREATE_PLAN, json!({ "input": input })).await;
    }
    let query = "query($n: Int!) { plans(first: $n) { edges { node { id prices { id meter { id } plan { id } } } } } }";
    let count = |n: usize| {
        let app = &app;
        async move {
            let before = app.statements();
            let data = app.ok(query, json!({ "n": n })).await;
            assert_eq!(data["plans"]["edges"].as_array().unwrap().len(), n);
            app.statements() - before
        }
    };
    let (small, large) = (count(2).await, count(12).await);
    assert_eq!(small, large, "statements grew with the page size");
    assert!(large <= 5, "{large} statements");
}
