//! Discounts and taxes on invoices, through the API: what drafts show, what
//! finalization freezes, how coupons count their periods, and what credit
//! notes reverse. Every amount is worked out by hand beside its assertion.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{TestApp, ago};

const INVOICE_FIELDS: &str = "id number status subtotal discountTotal taxTotal taxAdded total amountDue
    lineItems { id description amount discountAmount taxAmount total taxes { amount tax { name } } }
    discounts { description amount coupon { code } discount { id periodsApplied }
                lines { amount lineItem { description } } }
    taxes { name percentage inclusive taxableAmount amount taxRate { id } }";

async fn customer_in(app: &TestApp, name: &str, country: &str) -> String {
    app.created_id(
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
        json!({ "input": { "externalCustomerId": name, "name": name, "address": { "country": country } } }),
        "createCustomer",
    )
    .await
}

async fn tax_rate(app: &TestApp, name: &str, percentage: &str, inclusive: bool, country: Option<&str>) -> String {
    app.created_id(
        "mutation($input: CreateTaxRateInput!) { createTaxRate(input: $input) { id } }",
        json!({ "input": { "name": name, "percentage": percentage, "inclusive": inclusive, "country": country } }),
        "createTaxRate",
    )
    .await
}

async fn coupon(app: &TestApp, input: Value) -> String {
    app.created_id(
        "mutation($input: CreateCouponInput!) { createCoupon(input: $input) { id } }",
        json!({ "input": input }),
        "createCoupon",
    )
    .await
}

async fn apply_to_customer(app: &TestApp, code: &str, customer: &str) -> String {
    app.created_id(
        "mutation($code: String!, $c: UUID!) { applyCoupon(input: { code: $code, customerId: $c }) { id } }",
        json!({ "code": code, "c": customer }),
        "applyCoupon",
    )
    .await
}

/// A draft of one-off lines `(description, unit amount, quantity)`.
async fn one_off(app: &TestApp, customer: &str, currency: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(d, unit, q)| json!({ "description": d, "unitAmount": unit, "quantity": q }))
        .collect();
    let query = format!(
        "mutation($c: UUID!, $cur: String!, $lines: [OneOffLineInput!]!) {{
            createOneOffInvoice(customerId: $c, currency: $cur, lines: $lines) {{ {INVOICE_FIELDS} }} }}"
    );
    app.ok(&query, json!({ "c": customer, "cur": currency, "lines": lines }))
        .await["createOneOffInvoice"]
        .clone()
}

async fn finalize(app: &TestApp, id: &str) -> Value {
    let query = format!("mutation($id: UUID!) {{ finalizeInvoice(id: $id) {{ {INVOICE_FIELDS} }} }}");
    app.ok(&query, json!({ "id": id })).await["finalizeInvoice"].clone()
}

async fn invoice(app: &TestApp, id: &str) -> Value {
    let query = format!("query($id: UUID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}");
    app.ok(&query, json!({ "id": id })).await["invoice"].clone()
}

fn figures(invoice: &Value) -> [&str; 5] {
    ["subtotal", "discountTotal", "taxTotal", "total", "amountDue"].map(|f| invoice[f].as_str().unwrap())
}

fn line_figures(invoice: &Value) -> Vec<[String; 4]> {
    invoice["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| ["amount", "discountAmount", "taxAmount", "total"].map(|f| l[f].as_str().unwrap().to_owned()))
        .collect()
}

fn strings<const N: usize>(rows: Vec<[&str; N]>) -> Vec<[String; N]> {
    rows.into_iter().map(|r| r.map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discounted_taxed_invoice_adds_up_to_the_cent_and_the_coupon_is_used_once() {
    let app = TestApp::new().await;
    let customer = customer_in(&app, "acme", "DE").await;
    tax_rate(&app, "VAT", "19", false, Some("DE")).await;
    // A rate of another country never applies.
    tax_rate(&app, "TVA", "20", false, Some("FR")).await;
    coupon(
        &app,
        json!({ "code": "LAUNCH10", "name": "Launch", "percentOff": "10", "duration": "ONCE" }),
    )
    .await;
    let discount = apply_to_customer(&app, "LAUNCH10", &customer).await;
    let lines = [("Seats", "19.99", "3"), ("Setup", "5.05", "1"), ("Extras", "0.75", "2")];
    let draft = one_off(&app, &customer, "USD", &lines).await;
    // Lines: 59.97, 5.05, 1.50; subtotal 66.52.
    // 10% per line: 5.997 -> 6.00, 0.505 -> 0.51, 0.15: 6.66 in all.
    // Nets 53.97, 4.54, 1.35; VAT 19%: 10.2543 -> 10.25, 0.8626 -> 0.86,
    // 0.2565 -> 0.26: 11.37. Total 66.52 - 6.66 + 11.37 = 71.23.
    assert_eq!(figures(&draft), ["66.52", "6.66", "11.37", "71.23", "71.23"]);
    // Line totals: 59.97 - 6.00 + 10.25, 5.05 - 0.51 + 0.86, 1.50 - 0.15 + 0.26.
    assert_eq!(
        line_figures(&draft),
        strings(vec![
            ["59.97", "6.00", "10.25", "64.22"],
            ["5.05", "0.51", "0.86", "5.40"],
            ["1.50", "0.15", "0.26", "1.61"],
        ])
    );
    let id = draft["id"].as_str().unwrap().to_owned();
    // A draft does not use up the coupon.
    assert_eq!(draft["discounts"][0]["discount"]["periodsApplied"], 0);

    let issued = finalize(&app, &id).await;
    assert_eq!(figures(&issued), ["66.52", "6.66", "11.37", "71.23", "71.23"]);
    assert_eq!(issued["discounts"][0]["description"], "Launch (LAUNCH10)");
    assert_eq!(issued["discounts"][0]["amount"], "6.66");
    assert_eq!(issued["discounts"][0]["coupon"]["code"], "LAUNCH10");
    assert_eq!(issued["discounts"][0]["discount"]["id"], discount.as_str());
    assert_eq!(issued["discounts"][0]["discount"]["periodsApplied"], 1);
    let reduced: Vec<(&str, &str)> = issued["discounts"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lineItem"]["description"].as_str().unwrap(),
                l["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(reduced.len(), 3);
    for want in [("Seats", "6.00"), ("Setup", "0.51"), ("Extras", "0.15")] {
        assert!(reduced.contains(&want), "{reduced:?}");
    }
    // One tax row: 19% on 53.97 + 4.54 + 1.35 = 59.86.
    assert_eq!(
        issued["taxes"],
        json!([{ "name": "VAT", "percentage": "19", "inclusive": false, "taxableAmount": "59.86",
                 "amount": "11.37", "taxRate": { "id": issued["taxes"][0]["taxRate"]["id"] } }])
    );
    assert_eq!(
        issued["lineItems"][0]["taxes"],
        json!([{ "amount": "10.25", "tax": { "name": "VAT" } }])
    );

    // ONCE: the next invoice is not discounted. VAT: 11.3943 -> 11.39,
    // 0.9595 -> 0.96, 0.285 -> 0.29 = 12.64; 66.52 + 12.64 = 79.16.
    let second = one_off(&app, &customer, "USD", &lines).await;
    let second = finalize(&app, second["id"].as_str().unwrap()).await;
    assert_eq!(figures(&second), ["66.52", "0.00", "12.64", "79.16", "79.16"]);
    assert_eq!(second["discounts"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn finalized_invoices_keep_their_rates_when_rates_and_exemptions_change() {
    let app = TestApp::new().await;
    let customer = customer_in(&app, "acme", "DE").await;
    let vat = tax_rate(&app, "VAT", "19", false, Some("DE")).await;
    let draft = one_off(&app, &customer, "USD", &[("Plan", "100", "1")]).await;
    let issued = finalize(&app, draft["id"].as_str().unwrap()).await;
    // 19% of 100.00.
    assert_eq!(figures(&issued), ["100.00", "0.00", "19.00", "119.00", "119.00"]);

    // The rate goes up: archive it, create the new one. The issued invoice
    // keeps 19%; a draft made before finalization follows the new rate.
    let pending = one_off(&app, &customer, "USD", &[("Plan", "100", "1")]).await;
    assert_eq!(figures(&pending)[2], "19.00");
    app.ok(
        "mutation($id: UUID!) { archiveTaxRate(id: $id) { id } }",
        json!({ "id": vat }),
    )
    .await;
    tax_rate(&app, "VAT", "21", false, Some("DE")).await;
    let again = invoice(&app, issued["id"].as_str().unwrap()).await;
    assert_eq!(figures(&again), figures(&issued));
    assert_eq!(again["taxes"][0]["percentage"], "19");
    let pending = finalize(&app, pending["id"].as_str().unwrap()).await;
    assert_eq!(figures(&pending), ["100.00", "0.00", "21.00", "121.00", "121.00"]);
    assert_eq!(pending["taxes"][0]["percentage"], "21");

    // Exempt: no tax at all, and still nothing changes on issued invoices.
    app.ok(
        "mutation($id: UUID!) { updateCustomer(id: $id, input: { taxExempt: true }) { id } }",
        json!({ "id": customer }),
    )
    .await;
    let exempt = one_off(&app, &customer, "USD", &[("Plan", "100", "1")]).await;
    let exempt = finalize(&app, exempt["id"].as_str().unwrap()).await;
    assert_eq!(figures(&exempt), ["100.00", "0.00", "0.00", "100.00", "100.00"]);
    assert_eq!(exempt["taxes"], json!([]));
    assert_eq!(
        figures(&invoice(&app, issued["id"].as_str().unwrap()).await),
        figures(&issued)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inclusive_rates_are_carved_out_and_explicit_rates_replace_the_address() {
    let app = TestApp::new().await;
    tax_rate(&app, "VAT", "19", false, Some("DE")).await;
    let gst = tax_rate(&app, "GST", "10", true, None).await;
    let state_tax = tax_rate(&app, "State", "5", false, None).await;
    let customer = app
        .created_id(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalCustomerId": "au", "name": "AU", "address": { "country": "DE" },
                               "taxRateIds": [gst, state_tax] } }),
            "createCustomer",
        )
        .await;
    let draft = one_off(&app, &customer, "USD", &[("Plan", "110", "1"), ("Add-on", "0.55", "1")]).await;
    let issued = finalize(&app, draft["id"].as_str().unwrap()).await;
    // GST 10% inclusive: 110 x 10/110 = 10.00; 0.55 x 10/110 = 0.05.
    // State 5% on what is left: 100.00 -> 5.00; 0.50 -> 0.025 -> 0.03.
    // Taxes 10.00 + 0.05 + 5.00 + 0.03 = 15.08, of which 5.03 is added:
    // total 110.55 + 5.03 = 115.58. The address's VAT does not apply.
    assert_eq!(figures(&issued), ["110.55", "0.00", "15.08", "115.58", "115.58"]);
    assert_eq!(issued["taxAdded"], "5.03");
    let taxes: Vec<(&str, &str, bool, &str)> = issued["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["taxableAmount"].as_str().unwrap(),
                t["inclusive"].as_bool().unwrap(),
                t["amount"].as_str().unwrap(),
            )
        })
        .collect();
    // Both rates are charged on 100.00 + 0.50 = 100.50.
    assert_eq!(
        taxes,
        [("GST", "100.50", true, "10.05"), ("State", "100.50", false, "5.03")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn amount_coupons_spread_over_lines_in_jpy_and_kwd_and_never_go_below_zero() {
    let app = TestApp::new().await;
    let customer = customer_in(&app, "tokyo", "JP").await;
    tax_rate(&app, "JCT", "8", false, Some("JP")).await;
    coupon(
        &app,
        json!({ "code": "YEN333", "name": "Yen off", "amountOff": "333", "currency": "JPY", "duration": "FOREVER" }),
    )
    .await;
    apply_to_customer(&app, "YEN333", &customer).await;
    let draft = one_off(&app, &customer, "JPY", &[("A", "999", "1"), ("B", "250", "2")]).await;
    let issued = finalize(&app, draft["id"].as_str().unwrap()).await;
    // 333 over 999 and 500 (of 1499): 221.93 and 111.07 -> floors 221 + 111,
    // the last yen to the larger remainder: 222 + 111. Nets 777 and 389;
    // 8%: 62.16 -> 62, 31.12 -> 31 = 93. Total 1499 - 333 + 93 = 1259.
    assert_eq!(figures(&issued), ["1499", "333", "93", "1259", "1259"]);
    assert_eq!(
        line_figures(&issued),
        strings(vec![["999", "222", "62", "839"], ["500", "111", "31", "420"]])
    );

    // A coupon in another currency does not touch a USD invoice.
    let usd = one_off(&app, &customer, "USD", &[("C", "10", "1")]).await;
    // 8% of 10.00 = 0.80.
    assert_eq!(figures(&usd), ["10.00", "0.00", "0.80", "10.80", "10.80"]);

    // KWD, three decimals: 12.5% of 1.237 = 0.154625 -> 0.155; net 1.082;
    // 5% = 0.0541 -> 0.054; total 1.237 - 0.155 + 0.054 = 1.136.
    let kuwait = customer_in(&app, "kuwait", "KW").await;
    tax_rate(&app, "VAT", "5", false, Some("KW")).await;
    coupon(
        &app,
        json!({ "code": "KW125", "name": "Eighth", "percentOff": "12.5", "duration": "FOREVER" }),
    )
    .await;
    apply_to_customer(&app, "KW125", &kuwait).await;
    let kwd = one_off(&app, &kuwait, "KWD", &[("D", "1.237", "1")]).await;
    let kwd = finalize(&app, kwd["id"].as_str().unwrap()).await;
    assert_eq!(figures(&kwd), ["1.237", "0.155", "0.054", "1.136", "1.136"]);

    // A 100% coupon on an invoice with a credit line: 10.00 - 8.00 = 2.00
    // is all it may take, so the total is 0, never negative; VAT on the
    // nets 8.00 and -8.00 is 1.52 - 1.52 = 0.
    let berlin = customer_in(&app, "berlin", "DE").await;
    tax_rate(&app, "VAT", "19", false, Some("DE")).await;
    coupon(
        &app,
        json!({ "code": "ALL", "name": "Everything", "percentOff": "100", "duration": "FOREVER" }),
    )
    .await;
    apply_to_customer(&app, "ALL", &berlin).await;
    let credit = one_off(&app, &berlin, "USD", &[("Service", "10", "1"), ("Goodwill", "-8", "1")]).await;
    let credit = finalize(&app, credit["id"].as_str().unwrap()).await;
    assert_eq!(figures(&credit), ["2.00", "2.00", "0.00", "0.00", "0.00"]);
    assert_eq!(
        line_figures(&credit),
        strings(vec![
            ["10.00", "2.00", "1.52", "9.52"],
            ["-8.00", "0.00", "-1.52", "-9.52"]
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credit_notes_reverse_tax_in_proportion() {
    let app = TestApp::new().await;
    let customer = customer_in(&app, "acme", "DE").await;
    tax_rate(&app, "VAT", "19", false, Some("DE")).await;
    let draft = one_off(&app, &customer, "USD", &[("Seats", "50", "1"), ("Setup", "9.99", "1")]).await;
    let issued = finalize(&app, draft["id"].as_str().unwrap()).await;
    // 19%: 9.50 and 1.8981 -> 1.90 = 11.40; total 59.99 + 11.40 = 71.39.
    assert_eq!(figures(&issued), ["59.99", "0.00", "11.40", "71.39", "71.39"]);
    let id = issued["id"].as_str().unwrap();
    let seats = issued["lineItems"][0]["id"].as_str().unwrap();
    let credit = |input: Value| {
        let app = &app;
        async move {
            app.ok(
                "mutation($id: UUID!, $input: CreateCreditNoteInput!) { createCreditNote(invoiceId: $id, input: $input) {
                    total taxAmount taxes { name percentage amount } } }",
                json!({ "id": id, "input": input }),
            )
            .await["createCreditNote"]
                .clone()
        }
    };
    // Half the seats line with its tax (59.50 / 2 = 29.75) reverses
    // 29.75 x 9.50 / 59.50 = 4.75.
    let by_line =
        credit(json!({ "reason": "ORDER_CHANGE", "lines": [{ "lineItemId": seats, "amount": "29.75" }] })).await;
    assert_eq!(
        by_line,
        json!({ "total": "29.75", "taxAmount": "4.75", "taxes": [{ "name": "VAT", "percentage": "19", "amount": "4.75" }] })
    );
    // The rest of the line, with tax, is 29.75 more; more than that is refused.
    app.gql(
        "mutation($id: UUID!, $input: CreateCreditNoteInput!) { createCreditNote(invoiceId: $id, input: $input) { id } }",
        json!({ "id": id, "input": { "reason": "OTHER", "lines": [{ "lineItemId": seats, "amount": "29.76" }] } }),
    )
    .await
    .assert_error("VALIDATION", Some("input.lines[0].amount"));
    // 10.00 of the invoice as a whole reverses 10.00 x 11.40 / 71.39 = 1.5969 -> 1.60.
    let by_amount = credit(json!({ "reason": "OTHER", "amount": "10" })).await;
    assert_eq!(by_amount["taxAmount"], "1.60");
    let after = invoice(&app, id).await;
    // 71.39 - 29.75 - 10.00 = 31.64 still due.
    assert_eq!(after["amountDue"], "31.64");
}

/// A daily plan of one 10.00 fee billed in advance.
async fn daily_fee(app: &TestApp) -> String {
    let input = json!({ "name": "Daily", "prices": [
        { "currency": "USD", "billingPeriod": "DAILY", "type": "FIXED", "amount": "10", "invoiceCadence": "ADVANCE" }
    ] });
    app.ok(
        "mutation($input: CreatePlanInput!) { createPlan(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await["createPlan"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn repeating_coupons_reduce_as_many_billed_periods_as_they_last() {
    let app = TestApp::with_config(|c| c.billing.invoice_grace = std::time::Duration::ZERO).await;
    let customer = customer_in(&app, "daily", "US").await;
    let plan = daily_fee(&app).await;
    let subscription = app
        .created_id(
            "mutation($input: CreateSubscriptionInput!) { createSubscription(input: $input) { id upcomingInvoice { total } } }",
            json!({ "input": { "customerId": customer, "planId": plan, "startAt": ago(Duration::days(3) + Duration::hours(1)).to_rfc3339() } }),
            "createSubscription",
        )
        .await;
    coupon(
        &app,
        json!({ "code": "TWO", "name": "Two days", "percentOff": "25", "duration": "REPEATING", "durationPeriods": 2 }),
    )
    .await;
    let discount = app
        .created_id(
            "mutation($s: UUID!) { applyCoupon(input: { code: \"TWO\", subscriptionId: $s }) { id } }",
            json!({ "s": subscription }),
            "applyCoupon",
        )
        .await;
    // The preview shows the discount it would apply: 25% of 10.00.
    let preview = app
        .ok(
            "query($s: UUID!) { subscription(id: $s) { upcomingInvoice { subtotal discountTotal total discounts { description amount } } } }",
            json!({ "s": subscription }),
        )
        .await["subscription"]["upcomingInvoice"]
        .clone();
    assert_eq!(preview["discountTotal"], "2.50");
    assert_eq!(preview["total"], "7.50");
    assert_eq!(
        preview["discounts"],
        json!([{ "description": "Two days (TWO)", "amount": "2.50" }])
    );

    billgraph::billing::run::run(&app.state.pool, &app.state.config.billing, &app.state.links, Utc::now())
        .await
        .unwrap();
    let data = app
        .ok(
            "query($c: UUID!) { customer(id: $c) { invoices(first: 10) { nodes { status periodStart subtotal discountTotal total } } } }",
            json!({ "c": customer }),
        )
        .await;
    let mut issued: Vec<Value> = data["customer"]["invoices"]["nodes"].as_array().unwrap().clone();
    issued.sort_by_key(|i| i["periodStart"].as_str().unwrap().to_owned());
    // Four days begun (3 days and an hour ago), each 10.00 in advance: the
    // first two billed periods are 25% off, the rest are not.
    let totals: Vec<(&str, &str, &str)> = issued
        .iter()
        .map(|i| {
            assert_eq!(i["status"], "FINALIZED");
            (
                i["subtotal"].as_str().unwrap(),
                i["discountTotal"].as_str().unwrap(),
                i["total"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            ("10.00", "2.50", "7.50"),
            ("10.00", "2.50", "7.50"),
            ("10.00", "0.00", "10.00"),
            ("10.00", "0.00", "10.00")
        ]
    );
    let used = app
        .ok(
            "query($d: UUID!) { discount(id: $d) { periodsApplied periodsRemaining active } }",
            json!({ "d": discount }),
        )
        .await;
    assert_eq!(
        used["discount"],
        json!({ "periodsApplied": 2, "periodsRemaining": 0, "active": false })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_once_coupon_reduces_one_of_two_invoices_finalized_at_the_same_time() {
    let app = TestApp::new().await;
    let customer = customer_in(&app, "acme", "US").await;
    coupon(
        &app,
        json!({ "code": "FIRST", "name": "First", "amountOff": "5", "currency": "USD", "duration": "ONCE" }),
    )
    .await;
    apply_to_customer(&app, "FIRST", &customer).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let draft = one_off(&app, &customer, "USD", &[("Plan", "20", "1")]).await;
        // Every draft shows the discount it would get.
        assert_eq!(draft["discountTotal"], "5.00");
        ids.push(draft["id"].as_str().unwrap().to_owned());
    }
    let finals = futures_util::future::join_all(ids.iter().map(|id| finalize(&app, id))).await;
    let discounted: Vec<&str> = finals.iter().map(|i| i["discountTotal"].as_str().unwrap()).collect();
    assert_eq!(discounted.iter().filter(|d| **d == "5.00").count(), 1, "{discounted:?}");
    assert_eq!(discounted.iter().filter(|d| **d == "0.00").count(), 5, "{discounted:?}");
}
