use serde_json::{Value, json};

use crate::support::{Gql, TestApp};

const SNAPSHOT: &str = "query($id: UUID!) {
    customer(id: $id) {
        id externalCustomerId name email status metadata parentCustomerId updatedAt archivedAt
        children { totalCount }
        integrations { provider providerName providerEntityId metadata }
    }
}";

/// Acme's customers: a parent with a child that has a Stripe mapping.
struct AcmeData {
    parent: String,
    child: String,
}

async fn seed_acme(app: &TestApp) -> AcmeData {
    let parent = app.create_customer("acme-parent", None).await;
    let child = app
        .ok(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalCustomerId": "acme-child", "name": "Acme Child",
                "email": "ap@acme.example", "metadata": { "plan": "gold" }, "parentCustomerId": parent } }),
        )
        .await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id,
            input: { provider: STRIPE, providerEntityId: \"cus_acme\", metadata: { k: \"v\" } }) { id } }",
        json!({ "id": child }),
    )
    .await;
    app.ok(
        "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id,
            input: { provider: CUSTOM, providerName: \"Xero\", providerEntityId: \"x-acme\" }) { id } }",
        json!({ "id": child }),
    )
    .await;
    AcmeData { parent, child }
}

async fn snapshot(app: &TestApp, id: &str) -> Value {
    app.ok(SNAPSHOT, json!({ "id": id })).await["customer"].clone()
}

/// The request is refused exactly as it would be for an id that does not
/// exist: NOT_FOUND, same message, nothing revealed.
fn assert_looks_missing(foreign: &Gql, missing: &Gql, what: &str) {
    foreign.assert_error("NOT_FOUND", None);
    assert_ne!(foreign.code(), "FORBIDDEN");
    assert!(foreign.body["data"].is_null(), "{what}: {}", foreign.body);
    assert_eq!(
        foreign.body["errors"], missing.body["errors"],
        "{what}: another tenant's object must look like a missing one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_customers_cannot_be_read_or_changed() {
    let app = TestApp::new().await;
    let acme = seed_acme(&app).await;
    let parent_before = snapshot(&app, &acme.parent).await;
    let child_before = snapshot(&app, &acme.child).await;

    let globex = app.create_key("globex").await;
    let own = app.create_customer_as(&globex, "globex-1", None).await;
    let missing = uuid::Uuid::now_v7().to_string();

    // Each case: (what, query, variables for acme's id, the same for a missing id).
    let mut cases: Vec<(&str, &str, Value, Value)> = vec![];
    let q = "query($id: UUID!) { customer(id: $id) { id name } }";
    cases.push(("customer", q, json!({ "id": acme.child }), json!({ "id": missing })));
    let q = "mutation($id: UUID!) { updateCustomer(id: $id, input: { name: \"Hijacked\", metadata: { plan: \"free\" } }) { id } }";
    cases.push((
        "updateCustomer",
        q,
        json!({ "id": acme.child }),
        json!({ "id": missing }),
    ));
    let q = "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }";
    cases.push((
        "archiveCustomer",
        q,
        json!({ "id": acme.child }),
        json!({ "id": missing }),
    ));
    let q = "mutation($id: UUID!, $parent: UUID) { setCustomerParent(id: $id, parentCustomerId: $parent) { id } }";
    cases.push((
        "setCustomerParent of acme's customer to a root",
        q,
        json!({ "id": acme.child, "parent": null }),
        json!({ "id": missing, "parent": null }),
    ));
    cases.push((
        "setCustomerParent of acme's customer under globex's",
        q,
        json!({ "id": acme.child, "parent": own }),
        json!({ "id": missing, "parent": own }),
    ));
    cases.push((
        "setCustomerParent under acme's customer",
        q,
        json!({ "id": own, "parent": acme.parent }),
        json!({ "id": own, "parent": missing }),
    ));
    let q = "mutation($parent: UUID) { createCustomer(input: { externalCustomerId: \"globex-2\", name: \"G2\", parentCustomerId: $parent }) { id } }";
    cases.push((
        "createCustomer",
        q,
        json!({ "parent": acme.parent }),
        json!({ "parent": missing }),
    ));
    let q = "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id,
        input: { provider: STRIPE, providerEntityId: \"cus_globex\" }) { id } }";
    cases.push((
        "upsertIntegrationMapping",
        q,
        json!({ "id": acme.child }),
        json!({ "id": missing }),
    ));
    let q = "mutation($id: UUID!, $provider: IntegrationProvider!, $name: String) {
        deleteIntegrationMapping(customerId: $id, provider: $provider, providerName: $name) }";
    cases.push((
        "deleteIntegrationMapping STRIPE",
        q,
        json!({ "id": acme.child, "provider": "STRIPE" }),
        json!({ "id": missing, "provider": "STRIPE" }),
    ));
    cases.push((
        "deleteIntegrationMapping CUSTOM",
        q,
        json!({ "id": acme.child, "provider": "CUSTOM", "name": "Xero" }),
        json!({ "id": missing, "provider": "CUSTOM", "name": "Xero" }),
    ));
    let q = "query($ext: String!) { customerByExternalId(externalCustomerId: $ext) { id } }";
    cases.push((
        "customerByExternalId",
        q,
        json!({ "ext": "acme-child" }),
        json!({ "ext": "nobody" }),
    ));
    let q = "query($provider: IntegrationProvider!, $entity: String!, $name: String) {
        customerByIntegration(provider: $provider, providerEntityId: $entity, providerName: $name) { id } }";
    cases.push((
        "customerByIntegration STRIPE",
        q,
        json!({ "provider": "STRIPE", "entity": "cus_acme" }),
        json!({ "provider": "STRIPE", "entity": "cus_nobody" }),
    ));
    cases.push((
        "customerByIntegration CUSTOM",
        q,
        json!({ "provider": "CUSTOM", "entity": "x-acme", "name": "Xero" }),
        json!({ "provider": "CUSTOM", "entity": "x-nobody", "name": "Xero" }),
    ));

    for (what, query, foreign_vars, missing_vars) in cases {
        let foreign = app.gql_as(Some(&globex), query, foreign_vars).await;
        let absent = app.gql_as(Some(&globex), query, missing_vars).await;
        assert_looks_missing(&foreign, &absent, what);
    }

    // Acme's data is exactly as it was.
    assert_eq!(snapshot(&app, &acme.parent).await, parent_before);
    assert_eq!(snapshot(&app, &acme.child).await, child_before);
    assert_eq!(child_before["integrations"].as_array().unwrap().len(), 2);
    assert_eq!(child_before["parentCustomerId"], acme.parent.as_str());
    assert_eq!(child_before["status"], "ACTIVE");
    let found = app
        .ok(
            "{ customerByIntegration(provider: STRIPE, providerEntityId: \"cus_acme\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(found["customerByIntegration"]["id"], acme.child.as_str());

    // Globex's own data is unchanged too: one root, nothing attached.
    let globex_list = app
        .gql_as(
            Some(&globex),
            "{ customers { totalCount edges { node { id parentCustomerId integrations { id } children { totalCount } } } } }",
            json!({}),
        )
        .await
        .data();
    assert_eq!(globex_list["customers"]["totalCount"], 1);
    let node = &globex_list["customers"]["edges"][0]["node"];
    assert_eq!(node["id"], own.as_str());
    assert!(node["parentCustomerId"].is_null(), "{node}");
    assert_eq!(node["integrations"], json!([]));
    assert_eq!(node["children"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_and_counts_show_only_the_tenants_own_customers() {
    let app = TestApp::new().await;
    let acme = seed_acme(&app).await;
    let globex = app.create_key("globex").await;
    let g1 = app.create_customer_as(&globex, "globex-1", None).await;
    let g2 = app.create_customer_as(&globex, "globex-2", Some(&g1)).await;

    let query = "query($filter: CustomerFilterInput) {
        customers(first: 100, filter: $filter) { totalCount edges { node { id } } }
    }";
    let ids = |data: &Value| -> Vec<String> {
        data["customers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let filters = [
        (json!(null), vec![g1.clone(), g2.clone()]),
        (json!({ "rootsOnly": true }), vec![g1.clone()]),
        (json!({ "status": "ACTIVE" }), vec![g1.clone(), g2.clone()]),
        (json!({ "search": "acme" }), vec![]),
        (json!({ "search": "customer" }), vec![g1.clone(), g2.clone()]),
        (json!({ "metadata": { "plan": "gold" } }), vec![]),
        (json!({ "parentCustomerId": acme.parent }), vec![]),
    ];
    for (filter, want) in filters {
        let data = app
            .gql_as(Some(&globex), query, json!({ "filter": filter }))
            .await
            .data();
        assert_eq!(ids(&data), want, "globex, filter {filter}");
        assert_eq!(data["customers"]["totalCount"], want.len(), "globex, filter {filter}");
    }

    // Acme sees its own two customers, not globex's.
    let data = app.ok(query, json!({ "filter": null })).await;
    assert_eq!(ids(&data), vec![acme.parent.clone(), acme.child.clone()]);
    assert_eq!(data["customers"]["totalCount"], 2);
    let data = app.ok(query, json!({ "filter": { "search": "globex" } })).await;
    assert_eq!(data["customers"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_external_and_provider_ids_live_independently_in_each_tenant() {
    let app = TestApp::new().await;
    let globex = app.create_key("globex").await;
    let acme_id = app.create_customer("cus_same", None).await;
    let globex_id = app.create_customer_as(&globex, "cus_same", None).await;
    assert_ne!(acme_id, globex_id);

    let map = "mutation($id: UUID!) { upsertIntegrationMapping(customerId: $id,
        input: { provider: STRIPE, providerEntityId: \"cus_stripe_same\" }) { customerId } }";
    let acme_map = app.ok(map, json!({ "id": acme_id })).await;
    assert_eq!(acme_map["upsertIntegrationMapping"]["customerId"], acme_id.as_str());
    let globex_map = app.gql_as(Some(&globex), map, json!({ "id": globex_id })).await.data();
    assert_eq!(globex_map["upsertIntegrationMapping"]["customerId"], globex_id.as_str());

    let by_external = "{ customerByExternalId(externalCustomerId: \"cus_same\") { id } }";
    let by_stripe = "{ customerByIntegration(provider: STRIPE, providerEntityId: \"cus_stripe_same\") { id } }";
    for (key, want) in [(&app.key, &acme_id), (&globex, &globex_id)] {
        let found = app.gql_as(Some(key), by_external, json!({})).await.data();
        assert_eq!(found["customerByExternalId"]["id"], want.as_str());
        let found = app.gql_as(Some(key), by_stripe, json!({})).await.data();
        assert_eq!(found["customerByIntegration"]["id"], want.as_str());
    }

    // Acme cannot touch globex's twin either.
    let archive = "mutation($id: UUID!) { archiveCustomer(id: $id) { status } }";
    app.gql(archive, json!({ "id": globex_id }))
        .await
        .assert_error("NOT_FOUND", None);

    // Unmapping and archiving in one tenant leave the other's as they were.
    let unmap = "mutation($id: UUID!) { deleteIntegrationMapping(customerId: $id, provider: STRIPE) }";
    let deleted = app
        .gql_as(Some(&globex), unmap, json!({ "id": globex_id }))
        .await
        .data();
    assert_eq!(deleted["deleteIntegrationMapping"], true);
    let archived = app
        .gql_as(Some(&globex), archive, json!({ "id": globex_id }))
        .await
        .data();
    assert_eq!(archived["archiveCustomer"]["status"], "ARCHIVED");
    let acme_now = snapshot(&app, &acme_id).await;
    assert_eq!(acme_now["status"], "ACTIVE");
    assert_eq!(acme_now["integrations"][0]["providerEntityId"], "cus_stripe_same");
    let found = app.ok(by_stripe, json!({})).await;
    assert_eq!(found["customerByIntegration"]["id"], acme_id.as_str());
    // Globex can now reuse its external id; acme's customer keeps it.
    let reused = app.create_customer_as(&globex, "cus_same", None).await;
    let found = app.ok(by_external, json!({})).await;
    assert_eq!(found["customerByExternalId"]["id"], acme_id.as_str());
    let found = app.gql_as(Some(&globex), by_external, json!({})).await.data();
    assert_eq!(found["customerByExternalId"]["id"], reused.as_str());
}
