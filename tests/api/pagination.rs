use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::TestApp;

const CUSTOMERS_PAGE: &str = "query($first: Int, $after: String) {
    customers(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id } }
    }
}";

const CHILDREN_PAGE: &str = "query($id: UUID!, $first: Int, $after: String) {
    customer(id: $id) {
        children(first: $first, after: $after) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { id } }
        }
    }
}";

const DESCENDANTS_PAGE: &str = "query($id: UUID!, $first: Int, $after: String) {
    customer(id: $id) {
        descendants(first: $first, after: $after) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { id } }
        }
    }
}";

const FILTERED: &str = "query($filter: CustomerFilterInput) {
    customers(first: 100, filter: $filter) { totalCount edges { node { id } } }
}";

const CREATE: &str = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }";

fn edge_ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {connection}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// What one page looked like.
struct Page {
    ids: Vec<String>,
    has_next: bool,
    has_previous: bool,
    total: i64,
}

/// Follows `endCursor` until `hasNextPage` is false, checking each page's
/// cursors on the way. `connection_of` picks the connection out of `data`.
async fn all_pages(
    app: &TestApp,
    query: &str,
    mut variables: Value,
    connection_of: impl Fn(&Value) -> Value,
) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        variables["after"] = json!(after);
        let data = app.ok(query, variables.clone()).await;
        let connection = connection_of(&data);
        let info = &connection["pageInfo"];
        let edges = connection["edges"].as_array().unwrap();
        if edges.is_empty() {
            assert!(info["startCursor"].is_null(), "{connection}");
            assert!(info["endCursor"].is_null(), "{connection}");
        } else {
            assert_eq!(info["startCursor"], edges[0]["cursor"], "{connection}");
            assert_eq!(info["endCursor"], edges[edges.len() - 1]["cursor"], "{connection}");
        }
        let page = Page {
            ids: edge_ids(&connection),
            has_next: info["hasNextPage"].as_bool().unwrap(),
            has_previous: info["hasPreviousPage"].as_bool().unwrap(),
            total: connection["totalCount"].as_i64().unwrap(),
        };
        let has_next = page.has_next;
        pages.push(page);
        if !has_next {
            return pages;
        }
        assert!(pages.len() < 20, "paging does not end");
        after = Some(info["endCursor"].as_str().unwrap().to_string());
    }
}

/// Checks page sizes, flags and totals, and that the pages together hold
/// exactly `expected`, in order, without duplicates.
fn assert_pages(pages: &[Page], sizes: &[usize], expected: &[String]) {
    let got_sizes: Vec<usize> = pages.iter().map(|p| p.ids.len()).collect();
    assert_eq!(got_sizes, sizes);
    let has_next: Vec<bool> = pages.iter().map(|p| p.has_next).collect();
    let mut want_next = vec![true; sizes.len()];
    *want_next.last_mut().unwrap() = false;
    assert_eq!(has_next, want_next);
    let has_previous: Vec<bool> = pages.iter().map(|p| p.has_previous).collect();
    let mut want_previous = vec![true; sizes.len()];
    want_previous[0] = false;
    assert_eq!(has_previous, want_previous);
    for page in pages {
        assert_eq!(page.total, expected.len() as i64);
    }
    let seen: Vec<String> = pages.iter().flat_map(|p| p.ids.clone()).collect();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates across pages");
    assert_eq!(seen, expected, "not every customer, or not in creation order");
}

async fn create(app: &TestApp, input: Value) -> String {
    app.ok(CREATE, json!({ "input": input })).await["createCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Ids of the customers matching `filter`, checking totalCount agrees.
async fn filtered(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app.ok(FILTERED, json!({ "filter": filter })).await;
    let ids = edge_ids(&data["customers"]);
    assert_eq!(
        data["customers"]["totalCount"].as_i64().unwrap(),
        ids.len() as i64,
        "totalCount disagrees with the list for {filter}"
    );
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_page_through_in_creation_order() {
    let app = TestApp::new().await;
    let mut created = Vec::new();
    for i in 0..25 {
        // External ids sort against creation order.
        created.push(app.create_customer(&format!("cus-{:02}", 24 - i), None).await);
    }
    let pages = all_pages(&app, CUSTOMERS_PAGE, json!({ "first": 10 }), |d| d["customers"].clone()).await;
    assert_pages(&pages, &[10, 10, 5], &created);

    // Without `first` the default page size of 20 applies.
    let data = app.ok(CUSTOMERS_PAGE, json!({})).await;
    assert_eq!(edge_ids(&data["customers"]), created[..20]);
    assert_eq!(data["customers"]["pageInfo"]["hasNextPage"], true);

    // After the last customer there is nothing more.
    let last = data["customers"]["edges"][19]["cursor"].clone();
    let rest = app.ok(CUSTOMERS_PAGE, json!({ "first": 10, "after": last })).await;
    assert_eq!(edge_ids(&rest["customers"]), created[20..]);
    let end = rest["customers"]["pageInfo"]["endCursor"].clone();
    let empty = app.ok(CUSTOMERS_PAGE, json!({ "first": 10, "after": end })).await;
    assert_eq!(empty["customers"]["edges"], json!([]));
    assert_eq!(empty["customers"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(empty["customers"]["pageInfo"]["hasPreviousPage"], true);
    assert!(empty["customers"]["pageInfo"]["endCursor"].is_null());
    assert_eq!(empty["customers"]["totalCount"], 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn children_page_through_in_creation_order() {
    let app = TestApp::new().await;
    let parent = app.create_customer("parent", None).await;
    let other = app.create_customer("other-parent", None).await;
    let mut children = Vec::new();
    for i in 0..12 {
        children.push(
            app.create_customer(&format!("child-{:02}", 11 - i), Some(&parent))
                .await,
        );
        // Children of another parent, interleaved, must not show up.
        app.create_customer(&format!("other-child-{i}"), Some(&other)).await;
    }
    let pages = all_pages(&app, CHILDREN_PAGE, json!({ "id": parent, "first": 5 }), |d| {
        d["customer"]["children"].clone()
    })
    .await;
    assert_pages(&pages, &[5, 5, 2], &children);

    let pages = all_pages(&app, CHILDREN_PAGE, json!({ "id": parent, "first": 12 }), |d| {
        d["customer"]["children"].clone()
    })
    .await;
    assert_pages(&pages, &[12], &children);
}

#[tokio::test(flavor = "multi_thread")]
async fn descendants_page_through_the_whole_subtree_in_creation_order() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    let outsider = app.create_customer("outsider", None).await;
    let mut below = Vec::new();
    for c in 0..3 {
        let child = app.create_customer(&format!("child-{c}"), Some(&root)).await;
        below.push(child.clone());
        for g in 0..3 {
            below.push(app.create_customer(&format!("grandchild-{c}-{g}"), Some(&child)).await);
        }
        app.create_customer(&format!("outsider-child-{c}"), Some(&outsider))
            .await;
    }
    assert_eq!(below.len(), 12);
    let pages = all_pages(&app, DESCENDANTS_PAGE, json!({ "id": root, "first": 5 }), |d| {
        d["customer"]["descendants"].clone()
    })
    .await;
    assert_pages(&pages, &[5, 5, 2], &below);

    // A child's descendants are its own subtree only.
    let pages = all_pages(&app, DESCENDANTS_PAGE, json!({ "id": below[4], "first": 2 }), |d| {
        d["customer"]["descendants"].clone()
    })
    .await;
    assert_pages(&pages, &[2, 1], &below[5..8]);
}

#[tokio::test(flavor = "multi_thread")]
async fn page_sizes_and_cursors_are_validated() {
    let app = TestApp::new().await;

    // No customers at all: an empty page with nothing after it.
    let data = app.ok(CUSTOMERS_PAGE, json!({ "first": 0 })).await;
    assert_eq!(data["customers"]["edges"], json!([]));
    assert_eq!(data["customers"]["pageInfo"]["hasNextPage"], false);

    let parent = app.create_customer("parent", None).await;
    app.create_customer("child", Some(&parent)).await;

    let res = app.gql(CUSTOMERS_PAGE, json!({ "first": 101 })).await;
    res.assert_error("VALIDATION", Some("first"));
    assert!(res.message().contains("100"), "{}", res.body);
    let res = app.gql(CUSTOMERS_PAGE, json!({ "first": -1 })).await;
    res.assert_error("VALIDATION", Some("first"));
    let data = app.ok(CUSTOMERS_PAGE, json!({ "first": 100 })).await;
    assert_eq!(data["customers"]["edges"].as_array().unwrap().len(), 2);

    for garbage in ["garbage", "", "djE6bm90LWEtdXVpZA", "!!!"] {
        let res = app.gql(CUSTOMERS_PAGE, json!({ "first": 10, "after": garbage })).await;
        res.assert_error("VALIDATION", Some("after"));
    }

    // first: 0 returns no customers but tells there are some.
    let data = app.ok(CUSTOMERS_PAGE, json!({ "first": 0 })).await;
    assert_eq!(data["customers"]["edges"], json!([]));
    assert_eq!(data["customers"]["pageInfo"]["hasNextPage"], true);
    assert!(data["customers"]["pageInfo"]["startCursor"].is_null());
    assert_eq!(data["customers"]["totalCount"], 2);

    // The nested lists follow the same rules.
    for query in [CHILDREN_PAGE, DESCENDANTS_PAGE] {
        let res = app.gql(query, json!({ "id": parent, "first": 101 })).await;
        res.assert_error("VALIDATION", Some("first"));
        assert!(res.message().contains("100"), "{}", res.body);
        app.gql(query, json!({ "id": parent, "first": -1 }))
            .await
            .assert_error("VALIDATION", Some("first"));
        app.gql(query, json!({ "id": parent, "first": 5, "after": "garbage" }))
            .await
            .assert_error("VALIDATION", Some("after"));
        let data = app.ok(query, json!({ "id": parent, "first": 0 })).await;
        let connection = data["customer"].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!(connection["edges"], json!([]));
        assert_eq!(connection["pageInfo"]["hasNextPage"], true);
        assert_eq!(connection["totalCount"], 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_roots_children_and_status() {
    let app = TestApp::new().await;
    let root_a = app.create_customer("root-a", None).await;
    let child_1 = app.create_customer("child-1", Some(&root_a)).await;
    let child_2 = app.create_customer("child-2", Some(&root_a)).await;
    let grandchild = app.create_customer("grandchild", Some(&child_1)).await;
    let root_b = app.create_customer("root-b", None).await;
    let all = vec![
        root_a.clone(),
        child_1.clone(),
        child_2.clone(),
        grandchild.clone(),
        root_b.clone(),
    ];

    assert_eq!(filtered(&app, json!({})).await, all);
    assert_eq!(
        filtered(&app, json!({ "rootsOnly": true })).await,
        vec![root_a.clone(), root_b.clone()]
    );
    assert_eq!(filtered(&app, json!({ "rootsOnly": false })).await, all);
    assert_eq!(
        filtered(&app, json!({ "parentCustomerId": root_a })).await,
        vec![child_1.clone(), child_2.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "parentCustomerId": child_1 })).await,
        vec![grandchild.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "parentCustomerId": root_b })).await,
        Vec::<String>::new()
    );

    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": grandchild }),
    )
    .await;
    assert_eq!(
        filtered(&app, json!({ "status": "ARCHIVED" })).await,
        vec![grandchild.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "status": "ACTIVE" })).await,
        vec![root_a.clone(), child_1.clone(), child_2.clone(), root_b.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "status": "ACTIVE", "parentCustomerId": child_1 })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&app, json!({ "status": "ACTIVE", "rootsOnly": true })).await,
        vec![root_a.clone(), root_b.clone()]
    );

    // Paging keeps the filter: a page of one, then the rest.
    let query = "query($after: String) {
        customers(first: 1, after: $after, filter: { rootsOnly: true }) {
            totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
        }
    }";
    let first = app.ok(query, json!({ "after": null })).await;
    assert_eq!(edge_ids(&first["customers"]), vec![root_a.clone()]);
    assert_eq!(first["customers"]["totalCount"], 2);
    assert_eq!(first["customers"]["pageInfo"]["hasNextPage"], true);
    let second = app
        .ok(query, json!({ "after": first["customers"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(edge_ids(&second["customers"]), vec![root_b.clone()]);
    assert_eq!(second["customers"]["totalCount"], 2);
    assert_eq!(second["customers"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metadata_filter_needs_every_pair() {
    let app = TestApp::new().await;
    let gold_eu = create(
        &app,
        json!({ "externalCustomerId": "c1", "name": "C1", "metadata": { "plan": "gold", "region": "eu" } }),
    )
    .await;
    let gold_us = create(
        &app,
        json!({ "externalCustomerId": "c2", "name": "C2", "metadata": { "plan": "gold", "region": "us", "tier": "1" } }),
    )
    .await;
    let silver_eu = create(
        &app,
        json!({ "externalCustomerId": "c3", "name": "C3", "metadata": { "plan": "silver", "region": "eu" } }),
    )
    .await;
    create(&app, json!({ "externalCustomerId": "c4", "name": "C4" })).await;

    assert_eq!(
        filtered(&app, json!({ "metadata": { "plan": "gold" } })).await,
        vec![gold_eu.clone(), gold_us.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "metadata": { "plan": "gold", "region": "eu" } })).await,
        vec![gold_eu.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "metadata": { "region": "eu" } })).await,
        vec![gold_eu.clone(), silver_eu.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "metadata": { "plan": "platinum" } })).await,
        Vec::<String>::new()
    );
    // Values match exactly, not by prefix or case.
    assert_eq!(
        filtered(&app, json!({ "metadata": { "plan": "Gold" } })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&app, json!({ "metadata": { "plan": "gol" } })).await,
        Vec::<String>::new()
    );
    assert_eq!(filtered(&app, json!({ "metadata": {} })).await.len(), 4);
    // Combined with other filters.
    assert_eq!(
        filtered(&app, json!({ "metadata": { "region": "eu" }, "search": "c3" })).await,
        vec![silver_eu.clone()]
    );
    // A filter value that is not a string is refused.
    app.gql(FILTERED, json!({ "filter": { "metadata": { "plan": 1 } } }))
        .await
        .assert_error("VALIDATION", Some("filter.metadata.plan"));
}

#[tokio::test(flavor = "multi_thread")]
async fn search_is_case_insensitive_over_name_email_and_external_id() {
    let app = TestApp::new().await;
    let by_name = create(
        &app,
        json!({ "externalCustomerId": "ext-1", "name": "Acme Widgets", "email": "ap@one.example" }),
    )
    .await;
    let by_email = create(
        &app,
        json!({ "externalCustomerId": "ext-2", "name": "Second", "email": "billing@globex.example" }),
    )
    .await;
    let by_external = create(&app, json!({ "externalCustomerId": "EXT-Initech", "name": "Third" })).await;
    let percent = create(&app, json!({ "externalCustomerId": "p1", "name": "Discount 50% Co" })).await;
    let five_hundred = create(&app, json!({ "externalCustomerId": "p2", "name": "Order 500 Ltd" })).await;
    let underscore = create(&app, json!({ "externalCustomerId": "a_b", "name": "Under Score" })).await;
    let no_underscore = create(&app, json!({ "externalCustomerId": "axb", "name": "Plain" })).await;
    let backslash = create(&app, json!({ "externalCustomerId": "dir-1", "name": "C:\\dir" })).await;
    let no_backslash = create(&app, json!({ "externalCustomerId": "dir-2", "name": "dir only" })).await;

    assert_eq!(filtered(&app, json!({ "search": "acme" })).await, vec![by_name.clone()]);
    assert_eq!(
        filtered(&app, json!({ "search": "WIDGETS" })).await,
        vec![by_name.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "GLOBEX" })).await,
        vec![by_email.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "initech" })).await,
        vec![by_external.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "ext-" })).await,
        vec![by_name.clone(), by_email.clone(), by_external.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "nobody" })).await,
        Vec::<String>::new()
    );

    // LIKE wildcards are literal characters.
    assert_eq!(filtered(&app, json!({ "search": "50%" })).await, vec![percent.clone()]);
    assert_eq!(
        filtered(&app, json!({ "search": "50" })).await,
        vec![percent.clone(), five_hundred.clone()]
    );
    assert_eq!(filtered(&app, json!({ "search": "%" })).await, vec![percent.clone()]);
    assert_eq!(
        filtered(&app, json!({ "search": "a_b" })).await,
        vec![underscore.clone()]
    );
    assert_eq!(filtered(&app, json!({ "search": "_" })).await, vec![underscore.clone()]);
    assert_eq!(
        filtered(&app, json!({ "search": "\\d" })).await,
        vec![backslash.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "dir" })).await,
        vec![backslash.clone(), no_backslash.clone()]
    );
    assert_eq!(
        filtered(&app, json!({ "search": "axb" })).await,
        vec![no_underscore.clone()]
    );
    // A blank search filters nothing.
    assert_eq!(filtered(&app, json!({ "search": "  " })).await.len(), 9);
}

/// Every list answers `nodes`: the page's items, in the order of `edges`.
#[tokio::test(flavor = "multi_thread")]
async fn every_list_has_nodes_in_edge_order() {
    let app = TestApp::new().await;
    for name in ["Calls", "Tokens", "Seats"] {
        app.ok(
            "mutation($name: String!) { createMeter(input: { name: $name, eventName: \"e\", aggregation: COUNT }) { id } }",
            json!({ "name": name }),
        )
        .await;
        app.ok(
            "mutation($name: String!) { createPlan(input: { name: $name, prices: [] }) { id } }",
            json!({ "name": name }),
        )
        .await;
    }
    app.ok(
        "mutation { ingestEvents(events: [{ eventName: \"e\", externalCustomerId: \"a\" }, { eventName: \"e\", externalCustomerId: \"b\" }]) { accepted } }",
        json!({}),
    )
    .await;
    let data = app
        .ok(
            "{ meters(first: 2) { nodes { id } edges { node { id } } }
               plans(first: 2) { nodes { id } edges { node { id } } }
               events(first: 2) { nodes { eventId } edges { node { eventId } } } }",
            json!({}),
        )
        .await;
    for (list, key) in [("meters", "id"), ("plans", "id"), ("events", "eventId")] {
        let nodes: Vec<&Value> = data[list]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| &n[key])
            .collect();
        let edges: Vec<&Value> = data[list]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"][key])
            .collect();
        assert_eq!(nodes.len(), 2, "{list}: {data}");
        assert_eq!(nodes, edges, "{list}");
    }
}
