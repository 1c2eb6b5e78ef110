//! Money, quantity and time bounds: the largest charges are exact to the
//! minor unit from preview to issued invoice, larger ones are refused up
//! front (or, for usage, at billing without writing anything), instants
//! outside the accepted window are refused, and a billing backlog is worked
//! off over successive runs, each boundary exactly once.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use billgraph::billing::run::{RunSummary, run};

use crate::support::{TestApp, ago};

const CREATE_PLAN: &str = "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }";
const SUBSCRIBE: &str = "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id } }";
const PREVIEW: &str = "query($id: UUID!) { subscription(id: $id) { upcomingInvoice {
    subtotal lineItems { quantity unitAmount amount }
} } }";
const INVOICES: &str = "query($id: UUID!) { customer(id: $id) { invoices(first: 100) { totalCount edges { node {
    id status subtotal total periodStart periodEnd lineItems { quantity unitAmount amount periodStart periodEnd }
} } } } }";
const FINALIZE: &str = "mutation($id: UUID!) { finalizeInvoice(id: $id) { status subtotal total amountDue } }";
const INGEST: &str = "mutation($events: [EventInput!]!) {
    ingestEvents(events: $events) { accepted refused results { status reason } }
}";

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn plan(app: &TestApp, prices: Value) -> String {
    let input = json!({ "name": "Big", "prices": prices });
    app.ok(CREATE_PLAN, json!({ "input": input })).await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn subscribe(app: &TestApp, customer: &str, plan: &str, start: DateTime<Utc>) -> String {
    let input = json!({ "customerId": customer, "planId": plan, "startAt": rfc(start) });
    app.ok(SUBSCRIBE, json!({ "input": input })).await["createSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn bill(app: &TestApp) -> RunSummary {
    run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap()
}

async fn invoices(app: &TestApp, customer: &str) -> Vec<Value> {
    let data = app.ok(INVOICES, json!({ "id": customer })).await;
    data["customer"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn fixed(amount: &str, quantity: &str) -> Value {
    json!({ "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": amount, "quantity": quantity })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_largest_charges_are_exact_from_preview_to_issued_invoice() {
    let app = TestApp::new().await;
    let customer = app.create_customer("big-co", None).await;
    let plan = plan(
        &app,
        json!([
            // The largest amount once, the smallest amount the largest
            // number of times, and a product that needs every decimal place.
            fixed("1000000000000000", "1"),
            fixed("0.000000000001", "1000000000000000"),
            fixed("333333333333.333333333333", "3"),
        ]),
    )
    .await;
    let sub = subscribe(&app, &customer, &plan, ago(Duration::hours(1))).await;

    let preview = app.ok(PREVIEW, json!({ "id": sub })).await["subscription"]["upcomingInvoice"].clone();
    let amounts: Vec<&str> = preview["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["1000000000000000.00", "1000.00", "1000000000000.00"]);
    assert_eq!(preview["subtotal"], "1001000000001000.00");

    // The opening boundary bills the same fees in advance.
    let summary = bill(&app).await;
    assert_eq!(
        (summary.boundaries, summary.invoices_created, summary.refused),
        (1, 1, 0)
    );
    let issued = invoices(&app, &customer).await;
    assert_eq!(issued.len(), 1);
    let invoice = &issued[0];
    assert_eq!(invoice["subtotal"], "1001000000001000.00");
    let lines: Vec<(&str, &str)> = invoice["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["quantity"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            ("1", "1000000000000000.00"),
            ("1000000000000000", "1000.00"),
            ("3", "1000000000000.00")
        ]
    );
    let finalized = app.ok(FINALIZE, json!({ "id": invoice["id"] })).await["finalizeInvoice"].clone();
    assert_eq!(finalized["status"], "FINALIZED");
    assert_eq!(finalized["total"], "1001000000001000.00");
    assert_eq!(finalized["amountDue"], "1001000000001000.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn charges_beyond_the_bound_are_refused_when_created() {
    let app = TestApp::new().await;
    let create = |prices: Value| {
        let app = &app;
        async move {
            app.gql(CREATE_PLAN, json!({ "input": { "name": "Too big", "prices": prices } }))
                .await
        }
    };
    // The case: 10^15 x 10^15 is 10^30.
    let res = create(json!([fixed("1", "1"), fixed("1000000000000000", "1000000000000000")])).await;
    res.assert_error("VALIDATION", Some("input.prices[1].quantity"));
    assert!(
        res.message()
            .contains("amount x quantity must be at most 1000000000000000 USD"),
        "{}",
        res.body
    );
    // A quantity at Decimal's limit is refused by its own bound.
    let res = create(json!([fixed("1", "79228162514264337593543950335")])).await;
    res.assert_error("VALIDATION", Some("input.prices[0].quantity"));
    assert!(
        res.message().contains("must be at most 1000000000000000"),
        "{}",
        res.body
    );
    for (quantity, field) in [("0.0000000000001", "quantity"), ("1000000000000000.5", "quantity")] {
        create(json!([fixed("0.01", quantity)]))
            .await
            .assert_error("VALIDATION", Some(&format!("input.prices[0].{field}")));
    }
    // One cent over.
    create(json!([fixed("500000000000000.005", "2")]))
        .await
        .assert_error("VALIDATION", Some("input.prices[0].quantity"));

    // addPrice and one-off invoices follow the same rule.
    let plan = plan(&app, json!([fixed("1", "1")])).await;
    app.gql(
        "mutation($plan: UUID!, $input: PriceInput!) { addPrice(planId: $plan, input: $input) { id } }",
        json!({ "plan": plan, "input": fixed("2", "600000000000000") }),
    )
    .await
    .assert_error("VALIDATION", Some("input.quantity"));
    let customer = app.create_customer("one-off-co", None).await;
    let one_off = "mutation($c: UUID!, $lines: [OneOffLineInput!]!) {
        createOneOffInvoice(customerId: $c, currency: \"USD\", lines: $lines) { subtotal } }";
    let line = |unit: &str, quantity: &str| json!({ "description": "x", "unitAmount": unit, "quantity": quantity });
    app.gql(
        one_off,
        json!({ "c": customer, "lines": [line("1", "1"), line("-1000000000000000", "2")] }),
    )
    .await
    .assert_error("VALIDATION", Some("lines[1].quantity"));
    app.gql(
        one_off,
        json!({ "c": customer, "lines": [line("1", "79228162514264337593543950335")] }),
    )
    .await
    .assert_error("VALIDATION", Some("lines[0].quantity"));
    let ok = app
        .ok(
            one_off,
            json!({ "c": customer, "lines": [line("1000000000000000", "1"), line("-1000000000000000", "1")] }),
        )
        .await;
    assert_eq!(ok["createOneOffInvoice"]["subtotal"], "0.00");
}

/// Two customers subscribed a day and an hour ago: "heavy" to a daily plan
/// whose usage price charges 10^15 per call, "light" to a daily 10.00 fee.
/// Returns their ids, heavy's subscription and the start.
async fn heavy_and_light(app: &TestApp) -> (String, String, String, DateTime<Utc>) {
    let meter = app
        .ok(
            "mutation { createMeter(input: { name: \"Calls\", eventName: \"api_call\", aggregation: COUNT }) { id } }",
            json!({}),
        )
        .await["createMeter"]["id"]
        .clone();
    let usage_price = json!({ "currency": "USD", "billingPeriod": "DAILY", "type": "USAGE", "meterId": meter,
        "billingModel": "PER_UNIT", "unitAmount": "1000000000000000" });
    let big = plan(app, json!([usage_price])).await;
    let small = plan(app, json!([fixed("10", "1")])).await;
    let heavy = app.create_customer("heavy", None).await;
    let light = app.create_customer("light", None).await;
    let start = ago(Duration::days(1) + Duration::hours(1));
    let heavy_sub = subscribe(app, &heavy, &big, start).await;
    subscribe(app, &light, &small, start).await;
    (heavy, light, heavy_sub, start)
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_beyond_the_bound_is_refused_at_billing_without_stalling_others() {
    let app = TestApp::new().await;
    let (heavy, light, heavy_sub, start) = heavy_and_light(&app).await;
    // Two calls at 10^15 each: 2 * 10^15, over the bound for one line.
    let events: Vec<Value> = (0..2)
        .map(|i| {
            json!({ "eventId": format!("c-{i}"), "eventName": "api_call", "externalCustomerId": "heavy",
                         "timestamp": rfc(start + Duration::minutes(5)) })
        })
        .collect();
    assert_eq!(
        app.ok(INGEST, json!({ "events": events })).await["ingestEvents"]["accepted"],
        2
    );

    // The opening boundaries bill (no usage yet to price); the heavy
    // subscription's first period end is refused, the light one goes on.
    let summary = bill(&app).await;
    assert_eq!(summary.refused, 1, "{summary:?}");
    assert_eq!(summary.boundaries, 3, "{summary:?}");
    let heavy_invoices = invoices(&app, &heavy).await;
    assert!(heavy_invoices.is_empty(), "{heavy_invoices:?}");
    assert_eq!(invoices(&app, &light).await.len(), 2);
    // Nothing was written for it, and the next run refuses it again.
    let again = bill(&app).await;
    assert_eq!((again.boundaries, again.refused), (0, 1), "{again:?}");
    assert!(invoices(&app, &heavy).await.is_empty());

    // The preview of the current period says why instead of showing a
    // saturated figure.
    let events: Vec<Value> = (2..4)
        .map(|i| {
            json!({ "eventId": format!("c-{i}"), "eventName": "api_call", "externalCustomerId": "heavy",
                         "timestamp": rfc(ago(Duration::minutes(5))) })
        })
        .collect();
    app.ok(INGEST, json!({ "events": events })).await;
    let res = app.gql(PREVIEW, json!({ "id": heavy_sub })).await;
    res.assert_error("CONFLICT", None);
    assert_eq!(res.message(), "the usage charge would exceed 1000000000000000 USD");
}

#[tokio::test(flavor = "multi_thread")]
async fn instants_outside_the_window_are_refused() {
    let app = TestApp::with_config(|c| c.limits.max_backdate_days = 30).await;
    let customer = app.create_customer("time-co", None).await;
    let plan = plan(&app, json!([fixed("10", "1")])).await;
    let create = |start: String, anchor: Option<String>| {
        let (app, customer, plan) = (&app, &customer, &plan);
        async move {
            let input = json!({ "customerId": customer, "planId": plan, "startAt": start, "billingAnchor": anchor });
            app.gql(SUBSCRIBE, json!({ "input": input })).await
        }
    };
    // The case: a daily plan since year 1.
    let res = create("0001-01-01T00:00:00Z".into(), None).await;
    res.assert_error("VALIDATION", Some("input.startAt"));
    assert!(
        res.message().contains("must not be before 2000-01-01T00:00:00Z"),
        "{}",
        res.body
    );
    let res = create(rfc(ago(Duration::days(31))), None).await;
    res.assert_error("VALIDATION", Some("input.startAt"));
    assert!(res.message().contains("at most 30 days in the past"), "{}", res.body);
    for far in [
        "9999-12-31T00:00:00Z".to_string(),
        rfc(Utc::now() + Duration::days(3700)),
    ] {
        let res = create(far, None).await;
        res.assert_error("VALIDATION", Some("input.startAt"));
        assert!(res.message().contains("10 years in the future"), "{}", res.body);
    }
    create(rfc(ago(Duration::days(5))), Some("1999-12-31T23:59:59Z".into()))
        .await
        .assert_error("VALIDATION", Some("input.billingAnchor"));
    // Inside the window: accepted.
    create(rfc(ago(Duration::days(29))), Some("2000-01-01T00:00:00Z".into()))
        .await
        .data();
    create(rfc(Utc::now() + Duration::days(365)), None).await.data();

    // Events: GraphQL refuses them one by one, REST with VALIDATION.
    let event = |id: &str, at: &str| json!({ "eventId": id, "eventName": "api_call", "externalCustomerId": "time-co", "timestamp": at });
    let result = app
        .ok(
            INGEST,
            json!({ "events": [event("e-1", "0001-01-01T00:00:00Z"), event("e-2", "1999-12-31T23:59:59Z"),
                                event("e-3", "2000-01-01T00:00:00Z")] }),
        )
        .await["ingestEvents"]
        .clone();
    assert_eq!(
        (result["accepted"].as_u64(), result["refused"].as_u64()),
        (Some(1), Some(2))
    );
    for refused in &result["results"].as_array().unwrap()[..2] {
        assert_eq!(refused["status"], "REFUSED");
        assert_eq!(refused["reason"], "timestamp: must not be before 2000-01-01T00:00:00Z");
    }
    let rest = |path: &str, body: Value| {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .header("x-api-key", &app.key)
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = &app;
        async move {
            let (status, bytes) = app.send(request).await;
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let rest_event = |id: &str, at: &str| json!({ "event_id": id, "event_name": "api_call", "external_customer_id": "time-co", "timestamp": at });
    let (status, body) = rest("/v1/events", rest_event("r-1", "1999-06-01T00:00:00Z")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_code"], "VALIDATION");
    assert!(body["message"].as_str().unwrap().starts_with("timestamp:"), "{body}");
    let (status, body) = rest(
        "/v1/events/bulk",
        json!({ "events": [rest_event("r-2", "0001-01-01T00:00:00Z"), rest_event("r-3", "2001-01-01T00:00:00Z")] }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], "1");
    let refused: Value = serde_json::from_str(body["refused_events"].as_str().unwrap()).unwrap();
    assert_eq!(refused[0]["index"], 0);
    assert_eq!(
        refused[0]["reason"],
        "timestamp: must not be before 2000-01-01T00:00:00Z"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_is_billed_over_successive_runs_exactly_once() {
    let app = TestApp::with_config(|c| c.billing.max_boundaries_per_run = 5).await;
    let plan = plan(&app, json!([fixed("10", "1")])).await;
    let behind = app.create_customer("behind", None).await;
    let current = app.create_customer("current", None).await;
    // Boundaries at the start and after each of 12 whole days: 13 in all.
    subscribe(&app, &behind, &plan, ago(Duration::days(12) + Duration::hours(1))).await;
    subscribe(&app, &current, &plan, ago(Duration::hours(1))).await;

    // The first run bills the bound for the backlog, and the subscription
    // behind it all the same.
    let first = bill(&app).await;
    assert_eq!(
        (first.boundaries, first.invoices_created, first.subscriptions_deferred),
        (6, 6, 1),
        "{first:?}"
    );
    assert_eq!(invoices(&app, &current).await.len(), 1);
    assert_eq!(invoices(&app, &behind).await.len(), 5);
    let mut runs = vec![first];
    for _ in 0..3 {
        runs.push(bill(&app).await);
    }
    let billed: Vec<(usize, usize)> = runs.iter().map(|r| (r.boundaries, r.subscriptions_deferred)).collect();
    assert_eq!(billed, [(6, 1), (5, 1), (3, 0), (0, 0)]);

    // Each period exactly once, one after the other.
    let issued = invoices(&app, &behind).await;
    assert_eq!(issued.len(), 13);
    let periods: HashSet<(String, String)> = issued
        .iter()
        .map(|i| {
            let line = &i["lineItems"][0];
            (
                line["periodStart"].as_str().unwrap().to_string(),
                line["periodEnd"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(periods.len(), 13);
    let mut starts: Vec<DateTime<Utc>> = periods
        .iter()
        .map(|(start, _)| start.parse::<DateTime<Utc>>().unwrap())
        .collect();
    starts.sort();
    for pair in starts.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::days(1));
    }
    assert!(issued.iter().all(|i| i["subtotal"] == "10.00"));
}

#[tokio::test(flavor = "multi_thread")]
async fn late_usage_beyond_the_bound_leaves_the_draft_unfinalized_and_others_go_on() {
    let app = TestApp::new().await;
    let (heavy, light, _, start) = heavy_and_light(&app).await;
    let call = |id: &str| {
        json!({ "eventId": id, "eventName": "api_call", "externalCustomerId": "heavy",
                "timestamp": rfc(start + Duration::minutes(5)) })
    };
    app.ok(INGEST, json!({ "events": [call("c-0")] })).await;

    // The boundary bills the largest charge; the drafts wait out their grace.
    let summary = bill(&app).await;
    assert_eq!((summary.invoices_created, summary.refused), (3, 0), "{summary:?}");
    let draft = invoices(&app, &heavy).await[0].clone();
    assert_eq!(
        (draft["status"].as_str(), draft["subtotal"].as_str()),
        (Some("DRAFT"), Some("1000000000000000.00"))
    );

    // A late call takes the period over the bound: finalization leaves
    // that draft as it is and finalizes the others of its batch.
    app.ok(INGEST, json!({ "events": [call("c-1")] })).await;
    let settings = app.state.config.billing;
    let later = Utc::now() + Duration::hours(2);
    let batch =
        billgraph::billing::invoices::finalize_due_batch(&app.state.pool, &settings, &app.state.links, later, &[])
            .await
            .unwrap();
    assert_eq!((batch.due, batch.finalized), (3, 2));
    assert_eq!(batch.refused.len(), 1);
    assert_eq!(batch.refused[0].to_string(), draft["id"].as_str().unwrap());
    let kept = invoices(&app, &heavy).await[0].clone();
    assert_eq!(
        (kept["status"].as_str(), kept["subtotal"].as_str()),
        (Some("DRAFT"), Some("1000000000000000.00"))
    );
    assert!(invoices(&app, &light).await.iter().all(|i| i["status"] == "FINALIZED"));
    // Skipped for the rest of the run, so the run ends.
    let next = billgraph::billing::invoices::finalize_due_batch(
        &app.state.pool,
        &settings,
        &app.state.links,
        later,
        &batch.refused,
    )
    .await
    .unwrap();
    assert_eq!(next.due, 0);

    let res = app.gql(FINALIZE, json!({ "id": draft["id"] })).await;
    res.assert_error("CONFLICT", None);
    assert_eq!(res.message(), "the usage charge would exceed 1000000000000000 USD");
}
