use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{Gql, TestApp};

const UPSERT: &str = "mutation($id: UUID!, $input: IntegrationMappingInput!) {
    upsertIntegrationMapping(customerId: $id, input: $input) {
        id customerId provider providerName providerEntityId metadata createdAt updatedAt
        customer { id externalCustomerId }
    }
}";

const DELETE: &str = "mutation($id: UUID!, $provider: IntegrationProvider!, $name: String) {
    deleteIntegrationMapping(customerId: $id, provider: $provider, providerName: $name)
}";

const BY_INTEGRATION: &str = "query($provider: IntegrationProvider!, $entity: String!, $name: String) {
    customerByIntegration(provider: $provider, providerEntityId: $entity, providerName: $name) { id externalCustomerId }
}";

const INTEGRATIONS: &str = "query($id: UUID!) {
    customer(id: $id) { integrations { id provider providerName providerEntityId metadata customerId } }
}";

async fn upsert(app: &TestApp, customer: &str, input: Value) -> Gql {
    app.gql(UPSERT, json!({ "id": customer, "input": input })).await
}

async fn integrations(app: &TestApp, customer: &str) -> Vec<Value> {
    app.ok(INTEGRATIONS, json!({ "id": customer })).await["customer"]["integrations"]
        .as_array()
        .unwrap()
        .clone()
}

async fn find(app: &TestApp, provider: &str, entity: &str, name: Option<&str>) -> Gql {
    app.gql(
        BY_INTEGRATION,
        json!({ "provider": provider, "entity": entity, "name": name }),
    )
    .await
}

/// The id of the customer mapped to the record, expecting one.
async fn found_id(app: &TestApp, provider: &str, entity: &str, name: Option<&str>) -> String {
    find(app, provider, entity, name).await.data()["customerByIntegration"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_has_one_mapping_per_provider() {
    let app = TestApp::new().await;
    let customer = app.create_customer("cus_1", None).await;

    let first = upsert(
        &app,
        &customer,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_stripe_a", "metadata": { "account": "acct_1" } }),
    )
    .await
    .data()["upsertIntegrationMapping"]
        .clone();
    assert_eq!(first["provider"], "STRIPE");
    assert_eq!(first["providerEntityId"], "cus_stripe_a");
    assert!(first["providerName"].is_null(), "{first}");
    assert_eq!(first["customerId"], customer.as_str());
    assert_eq!(first["customer"]["id"], customer.as_str());
    assert_eq!(first["customer"]["externalCustomerId"], "cus_1");
    assert_eq!(first["metadata"], json!({ "account": "acct_1" }));

    // A second STRIPE mapping replaces the first, metadata included.
    let second = upsert(
        &app,
        &customer,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_stripe_b", "metadata": { "livemode": "true" } }),
    )
    .await
    .data()["upsertIntegrationMapping"]
        .clone();
    assert_eq!(second["providerEntityId"], "cus_stripe_b");
    assert_eq!(second["metadata"], json!({ "livemode": "true" }));
    let list = integrations(&app, &customer).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["provider"], "STRIPE");
    assert_eq!(list[0]["providerEntityId"], "cus_stripe_b");
    assert_eq!(list[0]["metadata"], json!({ "livemode": "true" }));
    assert_eq!(list[0]["id"], second["id"]);
    // The replaced record no longer leads to the customer.
    find(&app, "STRIPE", "cus_stripe_a", None)
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(found_id(&app, "STRIPE", "cus_stripe_b", None).await, customer);

    // Another provider is another mapping.
    let hubspot = upsert(
        &app,
        &customer,
        json!({ "provider": "HUBSPOT", "providerEntityId": "9001" }),
    )
    .await
    .data()["upsertIntegrationMapping"]
        .clone();
    assert_eq!(hubspot["metadata"], json!({}));
    let list = integrations(&app, &customer).await;
    let providers: Vec<(&str, &str)> = list
        .iter()
        .map(|m| (m["provider"].as_str().unwrap(), m["providerEntityId"].as_str().unwrap()))
        .collect();
    assert_eq!(providers, vec![("HUBSPOT", "9001"), ("STRIPE", "cus_stripe_b")]);
    assert_eq!(found_id(&app, "HUBSPOT", "9001", None).await, customer);

    // Upserting the same record again changes nothing but the metadata.
    upsert(
        &app,
        &customer,
        json!({ "provider": "HUBSPOT", "providerEntityId": "9001" }),
    )
    .await
    .data();
    assert_eq!(integrations(&app, &customer).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_mappings_are_told_apart_by_their_provider_name() {
    let app = TestApp::new().await;
    let customer = app.create_customer("cus_1", None).await;

    for name in [None, Some(""), Some("   ")] {
        let mut input = json!({ "provider": "CUSTOM", "providerEntityId": "x-1" });
        if let Some(name) = name {
            input["providerName"] = json!(name);
        }
        let res = upsert(&app, &customer, input).await;
        res.assert_error("VALIDATION", Some("input.providerName"));
    }
    for provider in ["STRIPE", "HUBSPOT", "QUICKBOOKS", "SALESFORCE"] {
        let res = upsert(
            &app,
            &customer,
            json!({ "provider": provider, "providerName": "Mine", "providerEntityId": "x-1" }),
        )
        .await;
        res.assert_error("VALIDATION", Some("input.providerName"));
    }
    assert!(integrations(&app, &customer).await.is_empty());

    let xero = upsert(
        &app,
        &customer,
        json!({ "provider": "CUSTOM", "providerName": "Xero", "providerEntityId": "x-1" }),
    )
    .await
    .data()["upsertIntegrationMapping"]
        .clone();
    assert_eq!(xero["provider"], "CUSTOM");
    assert_eq!(xero["providerName"], "Xero");
    // The same record id in another custom system is another record.
    upsert(
        &app,
        &customer,
        json!({ "provider": "CUSTOM", "providerName": "Chargebee", "providerEntityId": "x-1" }),
    )
    .await
    .data();
    let list = integrations(&app, &customer).await;
    let mut names: Vec<&str> = list.iter().map(|m| m["providerName"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["Chargebee", "Xero"]);
    assert!(list.iter().all(|m| m["provider"] == "CUSTOM"));

    // Per custom system there is still one mapping per customer.
    upsert(
        &app,
        &customer,
        json!({ "provider": "CUSTOM", "providerName": "Xero", "providerEntityId": "x-2" }),
    )
    .await
    .data();
    let list = integrations(&app, &customer).await;
    assert_eq!(list.len(), 2);
    let xero_now = list.iter().find(|m| m["providerName"] == "Xero").unwrap();
    assert_eq!(xero_now["providerEntityId"], "x-2");

    assert_eq!(found_id(&app, "CUSTOM", "x-2", Some("Xero")).await, customer);
    assert_eq!(found_id(&app, "CUSTOM", "x-1", Some("Chargebee")).await, customer);
    find(&app, "CUSTOM", "x-1", Some("Xero"))
        .await
        .assert_error("NOT_FOUND", None);
    find(&app, "CUSTOM", "x-2", Some("Recurly"))
        .await
        .assert_error("NOT_FOUND", None);
    find(&app, "CUSTOM", "x-2", None)
        .await
        .assert_error("VALIDATION", Some("providerName"));
    find(&app, "STRIPE", "x-2", Some("Xero"))
        .await
        .assert_error("VALIDATION", Some("providerName"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_record_belongs_to_one_customer() {
    let app = TestApp::new().await;
    let owner = app.create_customer("owner", None).await;
    let other = app.create_customer("other", None).await;
    upsert(
        &app,
        &owner,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_shared" }),
    )
    .await
    .data();

    let res = upsert(
        &app,
        &other,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_shared" }),
    )
    .await;
    res.assert_error("CONFLICT", None);
    assert!(res.message().contains("cus_shared"), "{}", res.body);
    assert!(integrations(&app, &other).await.is_empty());
    assert_eq!(found_id(&app, "STRIPE", "cus_shared", None).await, owner);

    // Replacing an existing mapping with a taken record is refused too, and
    // the existing mapping stays.
    upsert(
        &app,
        &other,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_other" }),
    )
    .await
    .data();
    upsert(
        &app,
        &other,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_shared" }),
    )
    .await
    .assert_error("CONFLICT", None);
    let list = integrations(&app, &other).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["providerEntityId"], "cus_other");

    // The same id in another provider is another record.
    upsert(
        &app,
        &other,
        json!({ "provider": "HUBSPOT", "providerEntityId": "cus_shared" }),
    )
    .await
    .data();
    assert_eq!(found_id(&app, "HUBSPOT", "cus_shared", None).await, other);
    assert_eq!(found_id(&app, "STRIPE", "cus_shared", None).await, owner);

    // Custom systems: the same record of the same system conflicts.
    upsert(
        &app,
        &owner,
        json!({ "provider": "CUSTOM", "providerName": "Xero", "providerEntityId": "x-1" }),
    )
    .await
    .data();
    upsert(
        &app,
        &other,
        json!({ "provider": "CUSTOM", "providerName": "Xero", "providerEntityId": "x-1" }),
    )
    .await
    .assert_error("CONFLICT", None);
    upsert(
        &app,
        &other,
        json!({ "provider": "CUSTOM", "providerName": "Recurly", "providerEntityId": "x-1" }),
    )
    .await
    .data();
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_by_integration_finds_the_mapped_customer() {
    let app = TestApp::new().await;
    let first = app.create_customer("first", None).await;
    let second = app.create_customer("second", None).await;
    upsert(
        &app,
        &first,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_A" }),
    )
    .await
    .data();
    upsert(
        &app,
        &second,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_B" }),
    )
    .await
    .data();
    upsert(
        &app,
        &second,
        json!({ "provider": "SALESFORCE", "providerEntityId": "0015000000XyZ" }),
    )
    .await
    .data();

    let found = find(&app, "STRIPE", "cus_A", None).await.data();
    assert_eq!(found["customerByIntegration"]["id"], first.as_str());
    assert_eq!(found["customerByIntegration"]["externalCustomerId"], "first");
    assert_eq!(found_id(&app, "STRIPE", "cus_B", None).await, second);
    assert_eq!(found_id(&app, "SALESFORCE", "0015000000XyZ", None).await, second);
    // The entity id is trimmed like on upsert, but otherwise exact.
    assert_eq!(found_id(&app, "STRIPE", " cus_A ", None).await, first);
    for (provider, entity) in [
        ("STRIPE", "cus_a"),
        ("STRIPE", "cus_C"),
        ("HUBSPOT", "cus_A"),
        ("QUICKBOOKS", "cus_B"),
        ("SALESFORCE", "0015000000xyz"),
    ] {
        find(&app, provider, entity, None).await.assert_error("NOT_FOUND", None);
    }
    find(&app, "STRIPE", "  ", None)
        .await
        .assert_error("VALIDATION", Some("providerEntityId"));
}

#[tokio::test(flavor = "multi_thread")]
async fn mapping_metadata_is_stored_and_validated() {
    let app = TestApp::new().await;
    let customer = app.create_customer("cus_1", None).await;
    let metadata = json!({ "account": "acct_123", "synced": "2026-01-01", "note": "ü ✓" });
    let created = upsert(
        &app,
        &customer,
        json!({ "provider": "QUICKBOOKS", "providerEntityId": "qb-7", "metadata": metadata }),
    )
    .await
    .data();
    assert_eq!(created["upsertIntegrationMapping"]["metadata"], metadata);
    let list = integrations(&app, &customer).await;
    assert_eq!(list[0]["metadata"], metadata);
    assert_eq!(list[0]["customerId"], customer.as_str());

    upsert(
        &app,
        &customer,
        json!({ "provider": "QUICKBOOKS", "providerEntityId": "qb-7", "metadata": { "count": 3 } }),
    )
    .await
    .assert_error("VALIDATION", Some("input.metadata.count"));
    upsert(
        &app,
        &customer,
        json!({ "provider": "QUICKBOOKS", "providerEntityId": "qb-7", "metadata": ["a"] }),
    )
    .await
    .assert_error("VALIDATION", Some("input.metadata"));
    upsert(
        &app,
        &customer,
        json!({ "provider": "QUICKBOOKS", "providerEntityId": "  " }),
    )
    .await
    .assert_error("VALIDATION", Some("input.providerEntityId"));
    upsert(
        &app,
        &customer,
        json!({ "provider": "QUICKBOOKS", "providerEntityId": "x".repeat(256) }),
    )
    .await
    .assert_error("VALIDATION", Some("input.providerEntityId"));
    // The refused upserts left the mapping as it was.
    let list = integrations(&app, &customer).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["providerEntityId"], "qb-7");
    assert_eq!(list[0]["metadata"], metadata);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_mapping_is_gone_and_frees_its_record() {
    let app = TestApp::new().await;
    let owner = app.create_customer("owner", None).await;
    let other = app.create_customer("other", None).await;
    upsert(
        &app,
        &owner,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_X" }),
    )
    .await
    .data();
    upsert(
        &app,
        &owner,
        json!({ "provider": "HUBSPOT", "providerEntityId": "hs-1" }),
    )
    .await
    .data();
    upsert(
        &app,
        &owner,
        json!({ "provider": "CUSTOM", "providerName": "Xero", "providerEntityId": "x-1" }),
    )
    .await
    .data();

    // Deleting another customer's (nonexistent) mapping does not touch the owner's.
    app.gql(DELETE, json!({ "id": other, "provider": "STRIPE" }))
        .await
        .assert_error("NOT_FOUND", None);

    let deleted = app.ok(DELETE, json!({ "id": owner, "provider": "STRIPE" })).await;
    assert_eq!(deleted["deleteIntegrationMapping"], true);
    let left: Vec<String> = integrations(&app, &owner)
        .await
        .iter()
        .map(|m| m["provider"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, vec!["CUSTOM", "HUBSPOT"]);
    find(&app, "STRIPE", "cus_X", None)
        .await
        .assert_error("NOT_FOUND", None);
    app.gql(DELETE, json!({ "id": owner, "provider": "STRIPE" }))
        .await
        .assert_error("NOT_FOUND", None);

    // The record can now be mapped to another customer.
    let moved = upsert(
        &app,
        &other,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_X" }),
    )
    .await
    .data();
    assert_eq!(moved["upsertIntegrationMapping"]["customerId"], other.as_str());
    assert_eq!(found_id(&app, "STRIPE", "cus_X", None).await, other);

    // Custom mappings are deleted by their provider name.
    app.gql(DELETE, json!({ "id": owner, "provider": "CUSTOM" }))
        .await
        .assert_error("VALIDATION", Some("providerName"));
    app.gql(DELETE, json!({ "id": owner, "provider": "CUSTOM", "name": "Recurly" }))
        .await
        .assert_error("NOT_FOUND", None);
    app.gql(DELETE, json!({ "id": owner, "provider": "HUBSPOT", "name": "Xero" }))
        .await
        .assert_error("VALIDATION", Some("providerName"));
    let deleted = app
        .ok(DELETE, json!({ "id": owner, "provider": "CUSTOM", "name": "Xero" }))
        .await;
    assert_eq!(deleted["deleteIntegrationMapping"], true);
    let left = integrations(&app, &owner).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["provider"], "HUBSPOT");
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_or_unknown_customers_get_no_mappings() {
    let app = TestApp::new().await;
    let customer = app.create_customer("cus_1", None).await;
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { status } }",
        json!({ "id": customer }),
    )
    .await;
    let res = upsert(
        &app,
        &customer,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_S" }),
    )
    .await;
    res.assert_error("CONFLICT", None);
    assert!(res.message().contains("archived"), "{}", res.body);
    assert!(integrations(&app, &customer).await.is_empty());
    find(&app, "STRIPE", "cus_S", None)
        .await
        .assert_error("NOT_FOUND", None);

    let missing = uuid::Uuid::now_v7().to_string();
    upsert(
        &app,
        &missing,
        json!({ "provider": "STRIPE", "providerEntityId": "cus_S" }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql(DELETE, json!({ "id": missing, "provider": "STRIPE" }))
        .await
        .assert_error("NOT_FOUND", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_claims_on_one_record_leave_exactly_one_owner() {
    let app = Arc::new(TestApp::new().await);
    for round in 0..5 {
        let mut customers = Vec::new();
        for i in 0..4 {
            customers.push(app.create_customer(&format!("c-{round}-{i}"), None).await);
        }
        let entity = format!("cus_contested_{round}");
        let tasks: Vec<_> = customers
            .iter()
            .map(|customer| {
                let (app, customer, entity) = (app.clone(), customer.clone(), entity.clone());
                tokio::spawn(async move {
                    upsert(
                        &app,
                        &customer,
                        json!({ "provider": "STRIPE", "providerEntityId": entity }),
                    )
                    .await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (task, customer) in tasks.into_iter().zip(&customers) {
            let res = task.await.unwrap();
            if res.body["errors"].is_null() {
                winners.push(customer.clone());
            } else {
                res.assert_error("CONFLICT", None);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(found_id(&app, "STRIPE", &entity, None).await, winners[0]);
        for customer in &customers {
            let mapped = integrations(&app, customer).await.len();
            assert_eq!(mapped, usize::from(*customer == winners[0]), "round {round}");
        }
    }
}
