//! The batching promise: the statements a request runs do not grow with
//! the number of customers it returns.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use crate::support::TestApp;

const DASHBOARD: &str = "query($first: Int!) {
    customers(first: $first, filter: { rootsOnly: true }) {
        totalCount
        edges { cursor node {
            id name depth
            parent { id }
            ancestors { id }
            integrations { provider providerEntityId }
            children(first: 5) { totalCount edges { node { id parent { id } integrations { provider } ancestors { id } } } }
            descendants(first: 10) { totalCount edges { node { id depth } } }
        } }
    }
}";

/// Roots, each with two children and one grandchild, and an integration each.
async fn seed_forest(app: &TestApp, roots: usize) {
    for r in 0..roots {
        let root = app.create_customer(&format!("root-{r}"), None).await;
        for c in 0..2 {
            let child = app.create_customer(&format!("child-{r}-{c}"), Some(&root)).await;
            if c == 0 {
                app.create_customer(&format!("grandchild-{r}"), Some(&child)).await;
            }
        }
        app.ok(
            "mutation($id: UUID!, $e: String!) { upsertIntegrationMapping(customerId: $id,
                input: { provider: STRIPE, providerEntityId: $e }) { id } }",
            json!({ "id": root, "e": format!("cus_stripe_{r}") }),
        )
        .await;
    }
}

async fn statements_for(app: &TestApp, first: usize) -> (u64, usize) {
    let before = app.statements();
    let data = app.ok(DASHBOARD, json!({ "first": first })).await;
    let returned = data["customers"]["edges"].as_array().unwrap().len();
    (app.statements() - before, returned)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_customers_with_their_relations_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    seed_forest(&app, 100).await;

    let (small, returned_small) = statements_for(&app, 2).await;
    let (large, returned_large) = statements_for(&app, 100).await;
    assert_eq!(returned_small, 2);
    assert_eq!(returned_large, 100);
    // Each relation is one batched statement per level, whatever the page size.
    assert_eq!(
        small, large,
        "statements grew with the page size: {small} for 2 customers, {large} for 100"
    );
    assert!(large <= 13, "{large} statements for one dashboard request");

    // And the answer is right: every root has 2 children and 3 descendants.
    let data = app.ok(DASHBOARD, json!({ "first": 100 })).await;
    for edge in data["customers"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        assert_eq!(node["children"]["totalCount"], 2);
        assert_eq!(node["descendants"]["totalCount"], 3);
        assert_eq!(node["integrations"][0]["provider"], "STRIPE");
        let child = &node["children"]["edges"][0]["node"];
        assert_eq!(child["parent"]["id"], node["id"]);
        assert_eq!(child["ancestors"][0]["id"], node["id"]);
    }
}

/// Loader statements stay prepared on their connections; a migration that
/// adds a column while a server runs must not break them (a prepared
/// `SELECT *` would fail with "cached plan must not change result type").
#[tokio::test(flavor = "multi_thread")]
async fn prepared_statements_survive_a_column_added_while_serving() {
    let app = TestApp::new().await;
    seed_forest(&app, 3).await;
    let page = "{ customers(first: 10, filter: { rootsOnly: true }) { edges { node {
        children(first: 5) { edges { node { id } } }
        descendants(first: 5) { edges { node { id } } }
        ancestors { id }
        subscriptions(first: 5) { edges { node { id } } }
        invoices(first: 5) { edges { node { id } } }
        wallets { id }
    } } } }";
    // Enough requests for every pooled connection to hold the statements.
    for _ in 0..20 {
        app.ok(page, json!({})).await;
    }
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    for table in ["customers", "subscriptions", "invoices", "wallets"] {
        diesel::sql_query(format!("ALTER TABLE {table} ADD COLUMN added_later text"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for _ in 0..20 {
        let data = app.ok(page, json!({})).await;
        assert_eq!(data["customers"]["edges"].as_array().unwrap().len(), 3);
    }
}
