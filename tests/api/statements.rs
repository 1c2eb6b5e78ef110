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

const SUBSCRIPTIONS_WITH_INVOICES: &str = "query($first: Int!) {
    customers(first: $first) { edges { node { id
        subscriptions(first: 5) { totalCount edges { node { id
            invoices(first: 2) { totalCount edges { node { id status total subscription { id } } } }
            drafts: invoices(status: DRAFT, first: 1) { totalCount edges { node { id } } }
        } } }
    } } }
}";

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_subscriptions_with_their_invoices_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let plan = app
        .ok(
            "mutation { createPlan(input: { name: \"Daily\", prices: [{ currency: \"USD\", billingPeriod: DAILY,
                type: FIXED, amount: \"2\", invoiceCadence: ADVANCE }] }) { id } }",
            json!({}),
        )
        .await["createPlan"]["id"]
        .clone();
    let start = (chrono::Utc::now() - chrono::Duration::hours(49)).to_rfc3339();
    for c in 0..30 {
        let customer = app.create_customer(&format!("sub-{c}"), None).await;
        app.ok(
            "mutation($c: UUID!, $p: UUID!, $s: DateTime!) {
                createSubscription(input: { customerId: $c, planId: $p, startAt: $s }) { id } }",
            json!({ "c": customer, "p": plan, "s": start }),
        )
        .await;
    }
    // The start and two day ends: three invoices per subscription.
    let summary = billgraph::billing::run::run(
        &app.state.pool,
        &app.state.config.billing,
        &app.state.links,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(summary.invoices_created, 90);

    let statements_for = async |first: usize| {
        let before = app.statements();
        let data = app.ok(SUBSCRIPTIONS_WITH_INVOICES, json!({ "first": first })).await;
        (app.statements() - before, data)
    };
    let (small, _) = statements_for(2).await;
    let (large, data) = statements_for(30).await;
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 2 customers, {large} for 30"
    );
    assert!(
        large <= 8,
        "{large} statements for one page of subscriptions with their invoices"
    );

    let customers = data["customers"]["edges"].as_array().unwrap();
    assert_eq!(customers.len(), 30);
    for customer in customers {
        let subscription = &customer["node"]["subscriptions"]["edges"][0]["node"];
        let invoices = &subscription["invoices"];
        assert_eq!(invoices["totalCount"], 3);
        assert_eq!(invoices["edges"].as_array().unwrap().len(), 2);
        for edge in invoices["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["subscription"]["id"], subscription["id"]);
            assert_eq!(edge["node"]["total"], "2.00");
        }
        assert_eq!(subscription["drafts"]["totalCount"], 3);
        assert_eq!(subscription["drafts"]["edges"].as_array().unwrap().len(), 1);
    }
}
