//! Tax rates and customers' tax settings through the API: the input rules,
//! archiving, lists, and which rates a customer's invoices are charged
//! (by address, explicit, exempt), tenant isolation and batching.

use serde_json::{Value, json};

use crate::support::TestApp;

const CREATE: &str = "mutation($input: CreateTaxRateInput!) { createTaxRate(input: $input) {
    id name percentage inclusive country state description archivedAt createdAt
} }";
const ARCHIVE: &str = "mutation($id: UUID!) { archiveTaxRate(id: $id) { id archivedAt } }";
const CUSTOMER: &str = "query($id: UUID!) { customer(id: $id) {
    taxExempt taxId taxRates { id archivedAt } applicableTaxRates { id }
} }";
const UPDATE: &str = "mutation($id: UUID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) {
    taxExempt taxId taxRates { id } applicableTaxRates { id }
} }";

async fn create_rate(app: &TestApp, input: Value) -> String {
    app.ok(CREATE, json!({ "input": input })).await["createTaxRate"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn rate(name: &str, percentage: &str, country: Option<&str>, state: Option<&str>) -> Value {
    json!({ "name": name, "percentage": percentage, "inclusive": false, "country": country, "state": state })
}

async fn customer_with_address(app: &TestApp, external_id: &str, country: &str, state: Option<&str>) -> String {
    app.ok(
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
        json!({ "input": { "externalCustomerId": external_id, "name": external_id,
                           "address": { "country": country, "state": state } } }),
    )
    .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn applicable(app: &TestApp, customer: &str) -> Vec<String> {
    ids(&app.ok(CUSTOMER, json!({ "id": customer })).await["customer"]["applicableTaxRates"])
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tax_rate_rule_is_refused_with_its_field() {
    let app = TestApp::new().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "name": " " }), "input.name", "must not be empty"),
        (json!({ "name": "n".repeat(256) }), "input.name", "at most 255"),
        (
            json!({ "percentage": "100.01" }),
            "input.percentage",
            "between 0 and 100",
        ),
        (json!({ "percentage": "-1" }), "input.percentage", "between 0 and 100"),
        (
            json!({ "percentage": "7.12345" }),
            "input.percentage",
            "at most 4 decimal places",
        ),
        (json!({ "country": "XX" }), "input.country", "ISO 3166-1"),
        (
            json!({ "country": null, "state": "CA" }),
            "input.state",
            "requires a country",
        ),
        (json!({ "state": " " }), "input.state", "must not be empty"),
        (json!({ "state": "s".repeat(65) }), "input.state", "at most 64"),
        (
            json!({ "description": "d".repeat(501) }),
            "input.description",
            "at most 500",
        ),
    ];
    for (changes, field, message) in cases {
        let mut input = rate("VAT", "19", Some("DE"), None);
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        let gql = app.gql(CREATE, json!({ "input": input })).await;
        gql.assert_error("VALIDATION", Some(field));
        assert!(gql.message().contains(message), "{changes}: {}", gql.body);
    }
    assert_eq!(
        app.ok(
            "{ taxRates(filter: { includeArchived: true }) { totalCount } }",
            json!({})
        )
        .await["taxRates"]["totalCount"],
        0
    );

    let created = app
        .ok(
            CREATE,
            json!({ "input": { "name": " Sales tax ", "percentage": "8.8750", "inclusive": true,
                               "country": "us", "state": " ny ", "description": "  " } }),
        )
        .await["createTaxRate"]
        .clone();
    assert_eq!(created["name"], "Sales tax");
    assert_eq!(created["percentage"], "8.875");
    assert_eq!(created["inclusive"], true);
    assert_eq!(created["country"], "US");
    assert_eq!(created["state"], "ny");
    assert_eq!(created["description"], Value::Null);
    assert_eq!(created["archivedAt"], Value::Null);
    let zero = app.ok(CREATE, json!({ "input": rate("Zero", "0", None, None) })).await;
    assert_eq!(zero["createTaxRate"]["percentage"], "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn tax_rates_are_archived_once_and_listed_by_country() {
    let app = TestApp::new().await;
    let de = create_rate(&app, rate("VAT", "19", Some("DE"), None)).await;
    let de_reduced = create_rate(&app, rate("VAT reduced", "7", Some("DE"), None)).await;
    let fr = create_rate(&app, rate("TVA", "20", Some("FR"), None)).await;
    let archived = app.ok(ARCHIVE, json!({ "id": de_reduced })).await;
    assert!(archived["archiveTaxRate"]["archivedAt"].is_string());
    app.gql(ARCHIVE, json!({ "id": de_reduced }))
        .await
        .assert_error("CONFLICT", None);
    app.gql(ARCHIVE, json!({ "id": uuid::Uuid::now_v7() }))
        .await
        .assert_error("NOT_FOUND", None);
    let single = app
        .ok(
            "query($id: UUID!) { taxRate(id: $id) { id archivedAt } }",
            json!({ "id": de_reduced }),
        )
        .await;
    assert!(single["taxRate"]["archivedAt"].is_string());

    let list = "query($filter: TaxRateFilterInput, $first: Int, $after: String) {
        taxRates(filter: $filter, first: $first, after: $after) {
            totalCount nodes { id } pageInfo { hasNextPage endCursor } } }";
    let live = app.ok(list, json!({})).await["taxRates"].clone();
    assert_eq!(ids(&live["nodes"]), [de.clone(), fr.clone()]);
    assert_eq!(live["totalCount"], 2);
    let german = app.ok(list, json!({ "filter": { "country": "de" } })).await["taxRates"].clone();
    assert_eq!(ids(&german["nodes"]), [de.as_str()]);
    let all_german = app
        .ok(list, json!({ "filter": { "country": "DE", "includeArchived": true } }))
        .await["taxRates"]
        .clone();
    assert_eq!(ids(&all_german["nodes"]), [de.clone(), de_reduced.clone()]);
    let first = app
        .ok(list, json!({ "filter": { "includeArchived": true }, "first": 2 }))
        .await["taxRates"]
        .clone();
    assert_eq!(ids(&first["nodes"]), [de.clone(), de_reduced.clone()]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let next = app
        .ok(
            list,
            json!({ "filter": { "includeArchived": true }, "first": 2, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["taxRates"]
        .clone();
    assert_eq!(ids(&next["nodes"]), [fr]);
    app.gql(list, json!({ "filter": { "country": "Germany" } }))
        .await
        .assert_error("VALIDATION", Some("filter.country"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_rates_follow_its_address_unless_set_or_exempt() {
    let app = TestApp::new().await;
    let de = create_rate(&app, rate("VAT", "19", Some("DE"), None)).await;
    let us = create_rate(&app, rate("Federal", "1", Some("US"), None)).await;
    let ca = create_rate(&app, rate("California", "7.25", Some("US"), Some("CA"))).await;
    let ny = create_rate(&app, rate("New York", "4", Some("US"), Some("ny"))).await;
    let special = create_rate(&app, rate("Special", "5", None, None)).await;

    let german = customer_with_address(&app, "german", "de", None).await;
    let californian = customer_with_address(&app, "californian", "US", Some("ca")).await;
    let new_yorker = customer_with_address(&app, "new-yorker", "US", Some("NY")).await;
    let nowhere = app.create_customer("nowhere", None).await;
    assert_eq!(applicable(&app, &german).await, [de.as_str()]);
    // The whole country's rates first, then the state's, compared without regard to case.
    assert_eq!(applicable(&app, &californian).await, [us.clone(), ca.clone()]);
    assert_eq!(applicable(&app, &new_yorker).await, [us.clone(), ny.clone()]);
    assert!(applicable(&app, &nowhere).await.is_empty());

    // Explicit rates replace the address's, in the order given.
    let set = app
        .ok(
            UPDATE,
            json!({ "id": californian, "input": { "taxRateIds": [special, de] } }),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(ids(&set["taxRates"]), [special.clone(), de.clone()]);
    assert_eq!(ids(&set["applicableTaxRates"]), [special.clone(), de.clone()]);

    // Exempt: nothing, whatever is set; the explicit rates stay for later.
    let exempt = app
        .ok(
            UPDATE,
            json!({ "id": californian, "input": { "taxExempt": true, "taxId": " US-123 " } }),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(exempt["taxExempt"], true);
    assert_eq!(exempt["taxId"], "US-123");
    assert!(ids(&exempt["applicableTaxRates"]).is_empty());
    assert_eq!(ids(&exempt["taxRates"]), [special.clone(), de.clone()]);
    let back = app
        .ok(
            UPDATE,
            json!({ "id": californian, "input": { "taxExempt": false, "taxId": null } }),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(back["taxId"], Value::Null);
    assert_eq!(ids(&back["applicableTaxRates"]), [special.clone(), de.clone()]);

    // Archived rates drop out, explicit or by address; the explicit list still shows them.
    app.ok(ARCHIVE, json!({ "id": special })).await;
    app.ok(ARCHIVE, json!({ "id": us })).await;
    assert_eq!(applicable(&app, &californian).await, [de.as_str()]);
    assert_eq!(applicable(&app, &new_yorker).await, [ny.as_str()]);
    let shown = app.ok(CUSTOMER, json!({ "id": californian })).await["customer"].clone();
    assert!(shown["taxRates"][0]["archivedAt"].is_string());

    // [] clears the explicit rates: the address decides again.
    let cleared = app
        .ok(UPDATE, json!({ "id": californian, "input": { "taxRateIds": [] } }))
        .await["updateCustomer"]
        .clone();
    assert!(ids(&cleared["taxRates"]).is_empty());
    assert_eq!(ids(&cleared["applicableTaxRates"]), [ca.as_str()]);

    // Set at creation too.
    let created = app
        .ok(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
                taxExempt taxId taxRates { id } applicableTaxRates { id } } }",
            json!({ "input": { "externalCustomerId": "fresh", "name": "Fresh", "taxId": "DE999",
                               "taxRateIds": [ny] } }),
        )
        .await["createCustomer"]
        .clone();
    assert_eq!(created["taxExempt"], false);
    assert_eq!(created["taxId"], "DE999");
    assert_eq!(ids(&created["taxRates"]), [ny.as_str()]);
    let exempt_at_birth = app
        .ok(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { taxExempt applicableTaxRates { id } } }",
            json!({ "input": { "externalCustomerId": "exempt", "name": "Exempt", "taxExempt": true,
                               "address": { "country": "DE" } } }),
        )
        .await["createCustomer"]
        .clone();
    assert_eq!(exempt_at_birth["taxExempt"], true);
    assert!(ids(&exempt_at_birth["applicableTaxRates"]).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_customer_tax_settings_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let live = create_rate(&app, rate("VAT", "19", Some("DE"), None)).await;
    let archived = create_rate(&app, rate("Old VAT", "16", Some("DE"), None)).await;
    app.ok(ARCHIVE, json!({ "id": archived })).await;
    let other = app.create_key("globex").await;
    let theirs = app
        .gql_as(
            Some(&other),
            CREATE,
            json!({ "input": rate("Theirs", "10", None, None) }),
        )
        .await
        .data()["createTaxRate"]["id"]
        .clone();
    let customer = app.create_customer("taxed", None).await;
    app.ok(UPDATE, json!({ "id": customer, "input": { "taxRateIds": [live] } }))
        .await;

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "taxRateIds": [live, uuid::Uuid::now_v7()] }),
            "input.taxRateIds[1]",
            "not a tax rate",
        ),
        (
            json!({ "taxRateIds": [theirs] }),
            "input.taxRateIds[0]",
            "not a tax rate",
        ),
        (json!({ "taxRateIds": [archived] }), "input.taxRateIds[0]", "archived"),
        (
            json!({ "taxRateIds": [live, live] }),
            "input.taxRateIds[1]",
            "listed twice",
        ),
        (json!({ "taxId": " " }), "input.taxId", "must not be empty"),
        (json!({ "taxId": "x".repeat(65) }), "input.taxId", "at most 64"),
    ];
    for (input, field, message) in cases {
        let gql = app.gql(UPDATE, json!({ "id": customer, "input": input })).await;
        gql.assert_error("VALIDATION", Some(field));
        assert!(gql.message().contains(message), "{input}: {}", gql.body);
    }
    let unchanged = app.ok(CUSTOMER, json!({ "id": customer })).await["customer"].clone();
    assert_eq!(ids(&unchanged["taxRates"]), [live.as_str()]);
    assert_eq!(unchanged["taxId"], Value::Null);

    let refused = app
        .gql(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalCustomerId": "never", "name": "Never", "taxRateIds": [archived] } }),
        )
        .await;
    refused.assert_error("VALIDATION", Some("input.taxRateIds[0]"));
    let found = app
        .ok("{ customers(filter: { search: \"never\" }) { totalCount } }", json!({}))
        .await;
    assert_eq!(found["customers"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_sees_none_of_the_tax_rates() {
    let app = TestApp::new().await;
    let de = create_rate(&app, rate("VAT", "19", Some("DE"), None)).await;
    let other = app.create_key("globex").await;
    app.gql_as(
        Some(&other),
        "query($id: UUID!) { taxRate(id: $id) { id } }",
        json!({ "id": de }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql_as(Some(&other), ARCHIVE, json!({ "id": de }))
        .await
        .assert_error("NOT_FOUND", None);
    let listed = app
        .gql_as(
            Some(&other),
            "{ taxRates(filter: { includeArchived: true }) { totalCount nodes { id } } }",
            json!({}),
        )
        .await
        .data();
    assert_eq!(listed["taxRates"]["totalCount"], 0);
    // Their German customer is not charged acme's German rate.
    let theirs = app
        .gql_as(
            Some(&other),
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { applicableTaxRates { id } } }",
            json!({ "input": { "externalCustomerId": "berlin", "name": "Berlin", "address": { "country": "DE" } } }),
        )
        .await
        .data();
    assert!(ids(&theirs["createCustomer"]["applicableTaxRates"]).is_empty());
}

const TAX_PAGE: &str = "query($first: Int!) { customers(first: $first) { nodes { id
    taxExempt taxRates { id name } applicableTaxRates { id percentage }
} } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_customers_with_their_tax_rates_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let de = create_rate(&app, rate("VAT", "19", Some("DE"), None)).await;
    let special = create_rate(&app, rate("Special", "5", None, None)).await;
    for i in 0..10 {
        let customer = customer_with_address(&app, &format!("t-{i}"), "DE", None).await;
        if i % 2 == 1 {
            app.ok(UPDATE, json!({ "id": customer, "input": { "taxRateIds": [special] } }))
                .await;
        }
    }
    let mut counts = Vec::new();
    for first in [2, 10] {
        let before = app.statements();
        let data = app.ok(TAX_PAGE, json!({ "first": first })).await;
        counts.push(app.statements() - before);
        let nodes = data["customers"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), first);
        for (i, node) in nodes.iter().enumerate() {
            let want = if i % 2 == 1 { &special } else { &de };
            assert_eq!(ids(&node["applicableTaxRates"]), [want.as_str()], "{node}");
        }
    }
    assert_eq!(counts[0], counts[1], "statements grew with the page: {counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_events_carry_the_tax_settings() {
    let app = TestApp::new().await;
    let customer = app.create_customer("evented", None).await;
    app.ok(
        UPDATE,
        json!({ "id": customer, "input": { "taxExempt": true, "taxId": "DE123456789" } }),
    )
    .await;
    let events = app
        .ok(
            "query($id: UUID!) { webhookEvents(filter: { objectId: $id }) { nodes { type data } } }",
            json!({ "id": customer }),
        )
        .await["webhookEvents"]["nodes"]
        .clone();
    let of_type = |t: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("no {t} event in {events}"))["data"]
            .clone()
    };
    let created = of_type("customer.created");
    assert_eq!(
        (&created["taxExempt"], &created["taxId"]),
        (&json!(false), &Value::Null)
    );
    let updated = of_type("customer.updated");
    assert_eq!(updated["taxExempt"], true);
    assert_eq!(updated["taxId"], "DE123456789");
}
