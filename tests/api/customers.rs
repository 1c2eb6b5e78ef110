use serde_json::json;

use crate::support::TestApp;

const CREATE: &str = "mutation($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
        id externalCustomerId name email status metadata parentCustomerId createdAt updatedAt archivedAt
        address { line1 line2 city state postalCode country }
    }
}";

const UPDATE: &str = "mutation($id: UUID!, $input: UpdateCustomerInput!) {
    updateCustomer(id: $id, input: $input) { id externalCustomerId name email metadata address { city country } }
}";

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_keeps_every_field_it_was_given() {
    let app = TestApp::new().await;
    let input = json!({
        "externalCustomerId": " cus_001 ",
        "name": "Acme Corp",
        "email": "billing@Acme.COM",
        "address": { "line1": "1 Main St", "line2": "Floor 2", "city": "Berlin", "state": "BE", "postalCode": "10115", "country": "de" },
        "metadata": { "plan": "gold", "region": "eu" }
    });
    let created = app.ok(CREATE, json!({ "input": input })).await["createCustomer"].clone();
    assert_eq!(created["externalCustomerId"], "cus_001");
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["email"], "billing@acme.com");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["metadata"], json!({ "plan": "gold", "region": "eu" }));
    assert_eq!(
        created["address"],
        json!({ "line1": "1 Main St", "line2": "Floor 2", "city": "Berlin", "state": "BE", "postalCode": "10115", "country": "DE" })
    );
    assert!(created["parentCustomerId"].is_null());
    assert!(created["archivedAt"].is_null());

    let id = created["id"].as_str().unwrap();
    let read = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { name address { country } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["customer"]["address"]["country"], "DE");
    let by_external = app
        .ok(
            "{ customerByExternalId(externalCustomerId: \"cus_001\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(by_external["customerByExternalId"]["id"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_is_refused_with_the_offending_field() {
    let app = TestApp::new().await;
    let base = json!({ "externalCustomerId": "c1", "name": "Acme" });
    let long_value = "x".repeat(501);
    let many_keys: serde_json::Map<String, serde_json::Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({ "email": "not-an-email" }), "input.email"),
        (json!({ "email": "a@b" }), "input.email"),
        (json!({ "name": "   " }), "input.name"),
        (json!({ "externalCustomerId": "" }), "input.externalCustomerId"),
        (
            json!({ "externalCustomerId": "x".repeat(256) }),
            "input.externalCustomerId",
        ),
        (json!({ "address": { "country": "XX" } }), "input.address.country"),
        (json!({ "address": { "country": "Germany" } }), "input.address.country"),
        (json!({ "metadata": { "plan": 5 } }), "input.metadata.plan"),
        (json!({ "metadata": { "plan": null } }), "input.metadata.plan"),
        (json!({ "metadata": ["a"] }), "input.metadata"),
        (json!({ "metadata": { "k": long_value } }), "input.metadata.k"),
        (json!({ "metadata": { "k".repeat(41): "v" } }), ""),
        (json!({ "metadata": many_keys }), "input.metadata"),
    ];
    for (overrides, field) in cases {
        let mut input = base.clone();
        for (k, v) in overrides.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = app.gql(CREATE, json!({ "input": input })).await;
        res.assert_error("VALIDATION", None);
        if !field.is_empty() {
            assert_eq!(res.field().as_deref(), Some(field), "{input} -> {}", res.body);
        }
    }
    // Nothing was written by any refused request.
    let count = app.ok("{ customers { totalCount } }", json!({})).await;
    assert_eq!(count["customers"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_limits_are_exactly_at_their_boundaries() {
    let app = TestApp::new().await;
    let fifty: serde_json::Map<String, serde_json::Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let input = json!({ "externalCustomerId": "c1", "name": "A", "metadata": fifty });
    app.ok(CREATE, json!({ "input": input })).await;
    let input = json!({ "externalCustomerId": "c2", "name": "B",
        "metadata": { "k".repeat(40): "v".repeat(500) } });
    app.ok(CREATE, json!({ "input": input })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_external_id_is_unique_and_archiving_frees_it() {
    let app = TestApp::new().await;
    let first = app.create_customer("cus_dup", None).await;
    let res = app
        .gql(
            CREATE,
            json!({ "input": { "externalCustomerId": "cus_dup", "name": "Again" } }),
        )
        .await;
    res.assert_error("CONFLICT", None);
    assert!(res.message().contains("cus_dup"), "{}", res.body);

    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { status archivedAt } }",
        json!({ "id": first }),
    )
    .await;
    let second = app.create_customer("cus_dup", None).await;
    assert_ne!(first, second);
    let found = app
        .ok(
            "{ customerByExternalId(externalCustomerId: \"cus_dup\") { id status } }",
            json!({}),
        )
        .await;
    assert_eq!(found["customerByExternalId"]["id"], second.as_str());
    // Renaming another customer onto a live id conflicts too.
    let third = app.create_customer("cus_other", None).await;
    app.gql(
        UPDATE,
        json!({ "id": third, "input": { "externalCustomerId": "cus_dup" } }),
    )
    .await
    .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_only_the_given_fields_and_null_deletes_metadata_keys() {
    let app = TestApp::new().await;
    let created = app
        .ok(
            CREATE,
            json!({ "input": { "externalCustomerId": "c1", "name": "Acme", "email": "a@acme.com",
                "address": { "city": "Paris", "country": "FR" },
                "metadata": { "plan": "gold", "region": "eu", "tier": "1" } } }),
        )
        .await;
    let id = created["createCustomer"]["id"].as_str().unwrap();

    let updated = app
        .ok(
            UPDATE,
            json!({ "id": id, "input": { "metadata": { "plan": "platinum", "region": null, "new": "yes" } } }),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(
        updated["metadata"],
        json!({ "plan": "platinum", "tier": "1", "new": "yes" })
    );
    assert_eq!(updated["name"], "Acme");
    assert_eq!(updated["email"], "a@acme.com");
    assert_eq!(updated["address"], json!({ "city": "Paris", "country": "FR" }));

    let updated = app
        .ok(
            UPDATE,
            json!({ "id": id, "input": { "name": "Acme SA", "email": null, "address": null } }),
        )
        .await["updateCustomer"]
        .clone();
    assert_eq!(updated["name"], "Acme SA");
    assert!(updated["email"].is_null());
    assert!(updated["address"].is_null());
    assert_eq!(
        updated["metadata"],
        json!({ "plan": "platinum", "tier": "1", "new": "yes" })
    );

    // The 50-key limit applies to the merged result.
    let more: serde_json::Map<String, serde_json::Value> = (0..48).map(|i| (format!("k{i}"), json!("v"))).collect();
    app.gql(UPDATE, json!({ "id": id, "input": { "metadata": more } }))
        .await
        .assert_error("VALIDATION", Some("input.metadata"));
    let unchanged = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { metadata } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(unchanged["customer"]["metadata"].as_object().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn archived_customers_are_read_only() {
    let app = TestApp::new().await;
    let id = app.create_customer("c1", None).await;
    let archived = app
        .ok(
            "mutation($id: UUID!) { archiveCustomer(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(archived["archiveCustomer"]["status"], "ARCHIVED");
    // Archiving again is harmless.
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    app.gql(UPDATE, json!({ "id": id, "input": { "name": "New" } }))
        .await
        .assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ids_are_not_found() {
    let app = TestApp::new().await;
    let missing = uuid::Uuid::now_v7().to_string();
    app.gql(
        "query($id: UUID!) { customer(id: $id) { id } }",
        json!({ "id": missing }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql(UPDATE, json!({ "id": missing, "input": { "name": "x" } }))
        .await
        .assert_error("NOT_FOUND", None);
    app.gql(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": missing }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    app.gql(
        "{ customerByExternalId(externalCustomerId: \"nobody\") { id } }",
        json!({}),
    )
    .await
    .assert_error("NOT_FOUND", None);
    // A malformed id is a validation error, not a crash.
    app.gql(
        "query($id: UUID!) { customer(id: $id) { id } }",
        json!({ "id": "not-a-uuid" }),
    )
    .await
    .assert_error("VALIDATION", None);
}
