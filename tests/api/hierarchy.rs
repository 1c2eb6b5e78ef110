use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{Gql, TestApp};

const CREATE: &str = "mutation($input: CreateCustomerInput!) {
    createCustomer(input: $input) { id parentCustomerId }
}";

const MOVE: &str = "mutation($id: UUID!, $parent: UUID) {
    setCustomerParent(id: $id, parentCustomerId: $parent) { id parentCustomerId depth ancestors { id } }
}";

const ARCHIVE: &str = "mutation($id: UUID!) { archiveCustomer(id: $id) { id status archivedAt } }";

const TREE: &str = "query($id: UUID!) {
    customer(id: $id) {
        id depth parentCustomerId status
        parent { id }
        ancestors { id }
        children { totalCount edges { node { id } } }
        descendants { totalCount edges { node { id } } }
    }
}";

/// The customer with its relations, as the "acme" tenant.
async fn tree(app: &TestApp, id: &str) -> Value {
    app.ok(TREE, json!({ "id": id })).await["customer"].clone()
}

/// The ids of a connection's edges, in order.
fn edge_ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {connection}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of a list of customers, in order.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn move_to(app: &TestApp, id: &str, parent: Option<&str>) -> Gql {
    app.gql(MOVE, json!({ "id": id, "parent": parent })).await
}

async fn total_customers(app: &TestApp) -> i64 {
    app.ok("{ customers { totalCount } }", json!({})).await["customers"]["totalCount"]
        .as_i64()
        .unwrap()
}

/// A chain of `levels` customers, root first.
async fn chain(app: &TestApp, prefix: &str, levels: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for level in 1..=levels {
        let parent = out.last().cloned();
        out.push(
            app.create_customer(&format!("{prefix}-{level}"), parent.as_deref())
                .await,
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn children_parent_ancestors_descendants_and_depth_describe_the_tree() {
    let app = TestApp::new().await;
    let parent = app.create_customer("parent", None).await;
    // External ids sort against creation order, so order by creation is visible.
    let first_child = app.create_customer("z-child", Some(&parent)).await;
    let second_child = app.create_customer("a-child", Some(&parent)).await;
    let grandchild = app.create_customer("grandchild", Some(&first_child)).await;

    let root = tree(&app, &parent).await;
    assert_eq!(root["depth"], 0);
    assert!(root["parent"].is_null(), "{root}");
    assert!(root["parentCustomerId"].is_null(), "{root}");
    assert_eq!(root["ancestors"], json!([]));
    assert_eq!(
        edge_ids(&root["children"]),
        vec![first_child.clone(), second_child.clone()]
    );
    assert_eq!(root["children"]["totalCount"], 2);
    assert_eq!(
        edge_ids(&root["descendants"]),
        vec![first_child.clone(), second_child.clone(), grandchild.clone()]
    );
    assert_eq!(root["descendants"]["totalCount"], 3);

    let child = tree(&app, &first_child).await;
    assert_eq!(child["depth"], 1);
    assert_eq!(child["parent"]["id"], parent.as_str());
    assert_eq!(child["parentCustomerId"], parent.as_str());
    assert_eq!(ids(&child["ancestors"]), vec![parent.clone()]);
    assert_eq!(edge_ids(&child["children"]), vec![grandchild.clone()]);
    assert_eq!(child["descendants"]["totalCount"], 1);

    let sibling = tree(&app, &second_child).await;
    assert_eq!(sibling["depth"], 1);
    assert_eq!(sibling["children"]["totalCount"], 0);
    assert_eq!(edge_ids(&sibling["children"]), Vec::<String>::new());
    assert_eq!(sibling["descendants"]["totalCount"], 0);

    let leaf = tree(&app, &grandchild).await;
    assert_eq!(leaf["depth"], 2);
    assert_eq!(leaf["parent"]["id"], first_child.as_str());
    assert_eq!(ids(&leaf["ancestors"]), vec![first_child.clone(), parent.clone()]);
    assert_eq!(leaf["children"]["totalCount"], 0);
    assert_eq!(leaf["descendants"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_cannot_be_placed_under_itself_or_its_descendants() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    let child = app.create_customer("child", Some(&root)).await;
    let grandchild = app.create_customer("grandchild", Some(&child)).await;

    for (id, parent) in [
        (&root, &root),
        (&root, &child),
        (&root, &grandchild),
        (&child, &child),
        (&child, &grandchild),
        (&grandchild, &grandchild),
    ] {
        let res = move_to(&app, id, Some(parent)).await;
        res.assert_error("VALIDATION", Some("parentCustomerId"));
        assert!(res.body["data"].is_null(), "{}", res.body);
    }

    // Nothing changed.
    let root_now = tree(&app, &root).await;
    assert!(root_now["parentCustomerId"].is_null(), "{root_now}");
    assert_eq!(edge_ids(&root_now["children"]), vec![child.clone()]);
    assert_eq!(
        edge_ids(&root_now["descendants"]),
        vec![child.clone(), grandchild.clone()]
    );
    assert_eq!(tree(&app, &child).await["parentCustomerId"], root.as_str());
    let leaf = tree(&app, &grandchild).await;
    assert_eq!(leaf["parentCustomerId"], child.as_str());
    assert_eq!(ids(&leaf["ancestors"]), vec![child.clone(), root.clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hierarchy_is_at_most_five_levels_deep_by_default() {
    let app = TestApp::new().await;
    let levels = chain(&app, "level", 5).await;
    let deepest = tree(&app, &levels[4]).await;
    assert_eq!(deepest["depth"], 4);
    assert_eq!(
        ids(&deepest["ancestors"]),
        levels[..4].iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(tree(&app, &levels[0]).await["descendants"]["totalCount"], 4);

    // A sixth level is refused, and nothing is written.
    let before = total_customers(&app).await;
    let res = app
        .gql(
            CREATE,
            json!({ "input": { "externalCustomerId": "level-6", "name": "Too deep", "parentCustomerId": levels[4] } }),
        )
        .await;
    res.assert_error("VALIDATION", Some("input.parentCustomerId"));
    assert!(res.message().contains("limit is 5 levels"), "{}", res.body);
    assert_eq!(total_customers(&app).await, before);
    app.gql(
        "{ customerByExternalId(externalCustomerId: \"level-6\") { id } }",
        json!({}),
    )
    .await
    .assert_error("NOT_FOUND", None);

    // A leaf fits under level 4 (it becomes level 5)...
    let leaf = app.create_customer("leaf", None).await;
    let moved = move_to(&app, &leaf, Some(&levels[3])).await.data();
    assert_eq!(moved["setCustomerParent"]["depth"], 4);
    move_to(&app, &leaf, None).await.data();

    // ...but a subtree two levels tall does not.
    let top = app.create_customer("sub-top", None).await;
    let bottom = app.create_customer("sub-bottom", Some(&top)).await;
    let res = move_to(&app, &top, Some(&levels[3])).await;
    res.assert_error("VALIDATION", Some("parentCustomerId"));
    assert!(res.message().contains("limit is 5 levels"), "{}", res.body);
    let top_now = tree(&app, &top).await;
    assert!(top_now["parentCustomerId"].is_null(), "{top_now}");
    assert_eq!(tree(&app, &levels[3]).await["children"]["totalCount"], 1);

    // Under level 3 the subtree exactly reaches level 5.
    move_to(&app, &top, Some(&levels[2])).await.data();
    let bottom_now = tree(&app, &bottom).await;
    assert_eq!(bottom_now["depth"], 4);
    assert_eq!(
        ids(&bottom_now["ancestors"]),
        vec![top.clone(), levels[2].clone(), levels[1].clone(), levels[0].clone()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_depth_limit_is_configurable() {
    let app = TestApp::with_config(|c| c.limits.max_hierarchy_depth = 3).await;
    let levels = chain(&app, "level", 3).await;
    assert_eq!(tree(&app, &levels[2]).await["depth"], 2);

    let res = app
        .gql(
            CREATE,
            json!({ "input": { "externalCustomerId": "level-4", "name": "Too deep", "parentCustomerId": levels[2] } }),
        )
        .await;
    res.assert_error("VALIDATION", Some("input.parentCustomerId"));
    assert!(res.message().contains("limit is 3 levels"), "{}", res.body);

    let top = app.create_customer("top", None).await;
    app.create_customer("bottom", Some(&top)).await;
    let res = move_to(&app, &top, Some(&levels[1])).await;
    res.assert_error("VALIDATION", Some("parentCustomerId"));
    assert!(res.message().contains("limit is 3 levels"), "{}", res.body);
    // Two levels fit under a root.
    let moved = move_to(&app, &top, Some(&levels[0])).await.data();
    assert_eq!(moved["setCustomerParent"]["parentCustomerId"], levels[0].as_str());
    assert_eq!(tree(&app, &levels[0]).await["descendants"]["totalCount"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_a_customer_moves_its_whole_subtree() {
    let app = TestApp::new().await;
    let old_parent = app.create_customer("old-parent", None).await;
    let new_parent = app.create_customer("new-parent", None).await;
    let child = app.create_customer("child", Some(&old_parent)).await;
    let grandchild = app.create_customer("grandchild", Some(&child)).await;
    let great = app.create_customer("great-grandchild", Some(&grandchild)).await;

    let moved = move_to(&app, &child, Some(&new_parent)).await.data()["setCustomerParent"].clone();
    assert_eq!(moved["id"], child.as_str());
    assert_eq!(moved["parentCustomerId"], new_parent.as_str());
    assert_eq!(moved["depth"], 1);
    assert_eq!(ids(&moved["ancestors"]), vec![new_parent.clone()]);

    let new_tree = tree(&app, &new_parent).await;
    assert_eq!(edge_ids(&new_tree["children"]), vec![child.clone()]);
    assert_eq!(
        edge_ids(&new_tree["descendants"]),
        vec![child.clone(), grandchild.clone(), great.clone()]
    );
    assert_eq!(new_tree["descendants"]["totalCount"], 3);
    let old_tree = tree(&app, &old_parent).await;
    assert_eq!(old_tree["children"]["totalCount"], 0);
    assert_eq!(old_tree["descendants"]["totalCount"], 0);
    assert_eq!(edge_ids(&old_tree["descendants"]), Vec::<String>::new());
    let leaf = tree(&app, &great).await;
    assert_eq!(leaf["depth"], 3);
    assert_eq!(
        ids(&leaf["ancestors"]),
        vec![grandchild.clone(), child.clone(), new_parent.clone()]
    );

    // null makes it a root again, still with its subtree.
    let rooted = move_to(&app, &child, None).await.data()["setCustomerParent"].clone();
    assert!(rooted["parentCustomerId"].is_null(), "{rooted}");
    assert_eq!(rooted["depth"], 0);
    assert_eq!(rooted["ancestors"], json!([]));
    let child_tree = tree(&app, &child).await;
    assert!(child_tree["parent"].is_null(), "{child_tree}");
    assert_eq!(child_tree["descendants"]["totalCount"], 2);
    assert_eq!(
        ids(&tree(&app, &great).await["ancestors"]),
        vec![grandchild.clone(), child.clone()]
    );
    assert_eq!(tree(&app, &new_parent).await["descendants"]["totalCount"], 0);
    let roots = app
        .ok(
            "{ customers(filter: { rootsOnly: true }) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        edge_ids(&roots["customers"]),
        vec![old_parent.clone(), new_parent.clone(), child.clone()]
    );

    // Moving a root to null again changes nothing.
    let again = move_to(&app, &child, None).await.data();
    assert!(again["setCustomerParent"]["parentCustomerId"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_with_active_children_cannot_be_archived() {
    let app = TestApp::new().await;
    let parent = app.create_customer("parent", None).await;
    let archived_child = app.create_customer("child-1", Some(&parent)).await;
    let moved_child = app.create_customer("child-2", Some(&parent)).await;

    let res = app.gql(ARCHIVE, json!({ "id": parent })).await;
    res.assert_error("CONFLICT", None);
    assert!(res.message().contains("active children"), "{}", res.body);
    assert_eq!(tree(&app, &parent).await["status"], "ACTIVE");

    // One child archived, one still active: still refused.
    let archived = app.ok(ARCHIVE, json!({ "id": archived_child })).await;
    assert_eq!(archived["archiveCustomer"]["status"], "ARCHIVED");
    app.gql(ARCHIVE, json!({ "id": parent }))
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(tree(&app, &parent).await["status"], "ACTIVE");

    // Once the last active child moved away, archiving works.
    move_to(&app, &moved_child, None).await.data();
    let archived = app.ok(ARCHIVE, json!({ "id": parent })).await["archiveCustomer"].clone();
    assert_eq!(archived["status"], "ARCHIVED");
    assert!(archived["archivedAt"].is_string(), "{archived}");
    assert_eq!(tree(&app, &moved_child).await["status"], "ACTIVE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_whose_children_are_all_archived_can_be_archived() {
    let app = TestApp::new().await;
    let parent = app.create_customer("parent", None).await;
    let child = app.create_customer("child", Some(&parent)).await;
    let grandchild = app.create_customer("grandchild", Some(&child)).await;
    app.gql(ARCHIVE, json!({ "id": child }))
        .await
        .assert_error("CONFLICT", None);
    app.ok(ARCHIVE, json!({ "id": grandchild })).await;
    app.ok(ARCHIVE, json!({ "id": child })).await;
    let archived = app.ok(ARCHIVE, json!({ "id": parent })).await;
    assert_eq!(archived["archiveCustomer"]["status"], "ARCHIVED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_customer_cannot_become_a_parent() {
    let app = TestApp::new().await;
    let archived = app.create_customer("archived", None).await;
    app.ok(ARCHIVE, json!({ "id": archived })).await;
    let before = total_customers(&app).await;

    let res = app
        .gql(
            CREATE,
            json!({ "input": { "externalCustomerId": "orphan", "name": "Orphan", "parentCustomerId": archived } }),
        )
        .await;
    res.assert_error("CONFLICT", None);
    assert!(res.message().contains("archived"), "{}", res.body);
    assert_eq!(total_customers(&app).await, before);

    let root = app.create_customer("root", None).await;
    move_to(&app, &root, Some(&archived))
        .await
        .assert_error("CONFLICT", None);
    assert!(tree(&app, &root).await["parentCustomerId"].is_null());
    assert_eq!(tree(&app, &archived).await["children"]["totalCount"], 0);

    // An archived customer cannot be moved either.
    move_to(&app, &archived, Some(&root))
        .await
        .assert_error("CONFLICT", None);
    let archived_now = tree(&app, &archived).await;
    assert!(archived_now["parentCustomerId"].is_null(), "{archived_now}");
    assert_eq!(archived_now["status"], "ARCHIVED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_parent_or_customer_is_not_found() {
    let app = TestApp::new().await;
    let missing = uuid::Uuid::now_v7().to_string();
    let before = total_customers(&app).await;
    let res = app
        .gql(
            CREATE,
            json!({ "input": { "externalCustomerId": "c1", "name": "C1", "parentCustomerId": missing } }),
        )
        .await;
    res.assert_error("NOT_FOUND", None);
    assert_eq!(total_customers(&app).await, before);

    let root = app.create_customer("root", None).await;
    move_to(&app, &root, Some(&missing))
        .await
        .assert_error("NOT_FOUND", None);
    assert!(tree(&app, &root).await["parentCustomerId"].is_null());
    move_to(&app, &missing, Some(&root))
        .await
        .assert_error("NOT_FOUND", None);
    move_to(&app, &missing, None).await.assert_error("NOT_FOUND", None);
    assert_eq!(tree(&app, &root).await["children"]["totalCount"], 0);
}

/// Every customer's ancestors, checked to never contain the customer itself.
async fn assert_no_cycles(app: &TestApp) {
    let data = app
        .ok(
            "{ customers(first: 100) { totalCount edges { node { id depth ancestors { id } } } } }",
            json!({}),
        )
        .await;
    let edges = data["customers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len() as i64, data["customers"]["totalCount"].as_i64().unwrap());
    for edge in edges {
        let node = &edge["node"];
        let id = node["id"].as_str().unwrap();
        let ancestors = ids(&node["ancestors"]);
        assert!(
            !ancestors.iter().any(|a| a == id),
            "{id} is its own ancestor: {ancestors:?}"
        );
        assert_eq!(node["depth"].as_u64().unwrap() as usize, ancestors.len(), "{node}");
        assert!(ancestors.len() < 5, "{node}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_opposite_moves_never_form_a_cycle() {
    let app = Arc::new(TestApp::new().await);
    for round in 0..10 {
        let a = app.create_customer(&format!("a-{round}"), None).await;
        let b = app.create_customer(&format!("b-{round}"), None).await;
        let a_under_b = {
            let (app, a, b) = (app.clone(), a.clone(), b.clone());
            tokio::spawn(async move { move_to(&app, &a, Some(&b)).await })
        };
        let b_under_a = {
            let (app, a, b) = (app.clone(), a.clone(), b.clone());
            tokio::spawn(async move { move_to(&app, &b, Some(&a)).await })
        };
        let (a_under_b, b_under_a) = (a_under_b.await.unwrap(), b_under_a.await.unwrap());

        let succeeded = |res: &Gql| res.body["errors"].is_null();
        assert!(
            succeeded(&a_under_b) != succeeded(&b_under_a),
            "round {round}: exactly one move must succeed: {} / {}",
            a_under_b.body,
            b_under_a.body
        );
        let (winner, loser, child, parent) = if succeeded(&a_under_b) {
            (&a_under_b, &b_under_a, &a, &b)
        } else {
            (&b_under_a, &a_under_b, &b, &a)
        };
        loser.assert_error("VALIDATION", Some("parentCustomerId"));
        assert_eq!(winner.data()["setCustomerParent"]["parentCustomerId"], parent.as_str());

        let child_now = tree(&app, child).await;
        assert_eq!(ids(&child_now["ancestors"]), vec![parent.clone()], "round {round}");
        let parent_now = tree(&app, parent).await;
        assert!(parent_now["parentCustomerId"].is_null(), "round {round}: {parent_now}");
        assert_eq!(parent_now["ancestors"], json!([]), "round {round}");
        assert_eq!(edge_ids(&parent_now["descendants"]), vec![child.clone()]);
    }
    assert_no_cycles(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_moves_around_a_triangle_leave_one_refused() {
    let app = Arc::new(TestApp::new().await);
    for round in 0..5 {
        let mut corners = Vec::new();
        for corner in ["a", "b", "c"] {
            corners.push(app.create_customer(&format!("{corner}-{round}"), None).await);
        }
        // a under b, b under c, c under a: any two are fine, all three a cycle.
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (app, id, parent) = (app.clone(), corners[i].clone(), corners[(i + 1) % 3].clone());
                tokio::spawn(async move { move_to(&app, &id, Some(&parent)).await })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            let res = task.await.unwrap();
            if !res.body["errors"].is_null() {
                res.assert_error("VALIDATION", Some("parentCustomerId"));
                refused += 1;
            }
        }
        assert_eq!(refused, 1, "round {round}");
        let roots: Vec<Value> = {
            let mut out = Vec::new();
            for id in &corners {
                out.push(tree(&app, id).await);
            }
            out
        };
        assert_eq!(
            roots.iter().filter(|c| c["parentCustomerId"].is_null()).count(),
            1,
            "round {round}: one corner stays a root"
        );
    }
    assert_no_cycles(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_moves_cannot_together_exceed_the_depth_limit() {
    let app = Arc::new(TestApp::new().await);
    for round in 0..5 {
        // A chain of 3 and a chain of 2: the 2-chain fits under the 3-chain's
        // bottom (5 levels), and a leaf fits under the 2-chain's bottom
        // (3 levels), but not both at once (6 levels).
        let long = chain(&app, &format!("long-{round}"), 3).await;
        let short = chain(&app, &format!("short-{round}"), 2).await;
        let leaf = app.create_customer(&format!("leaf-{round}"), None).await;
        let stack = {
            let (app, id, parent) = (app.clone(), short[0].clone(), long[2].clone());
            tokio::spawn(async move { move_to(&app, &id, Some(&parent)).await })
        };
        let extend = {
            let (app, id, parent) = (app.clone(), leaf.clone(), short[1].clone());
            tokio::spawn(async move { move_to(&app, &id, Some(&parent)).await })
        };
        let results = [stack.await.unwrap(), extend.await.unwrap()];
        let refused: Vec<&Gql> = results.iter().filter(|r| !r.body["errors"].is_null()).collect();
        assert_eq!(
            refused.len(),
            1,
            "round {round}: {} / {}",
            results[0].body,
            results[1].body
        );
        refused[0].assert_error("VALIDATION", Some("parentCustomerId"));
        let descendants = tree(&app, &long[0]).await["descendants"]["totalCount"]
            .as_i64()
            .unwrap();
        assert!(descendants == 2 || descendants == 4, "round {round}: {descendants}");
        let leaf_depth = tree(&app, &leaf).await["depth"].as_i64().unwrap();
        assert!(leaf_depth == 0 || leaf_depth == 2, "round {round}: {leaf_depth}");
    }
    assert_no_cycles(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn archiving_a_parent_races_safely_with_adding_children() {
    let app = Arc::new(TestApp::new().await);
    for round in 0..10 {
        let parent = app.create_customer(&format!("parent-{round}"), None).await;
        let mover = app.create_customer(&format!("mover-{round}"), None).await;
        let archive = {
            let (app, parent) = (app.clone(), parent.clone());
            tokio::spawn(async move { app.gql(ARCHIVE, json!({ "id": parent })).await })
        };
        let create = {
            let (app, parent) = (app.clone(), parent.clone());
            tokio::spawn(async move {
                app.gql(
                    CREATE,
                    json!({ "input": { "externalCustomerId": format!("new-{round}"), "name": "New", "parentCustomerId": parent } }),
                )
                .await
            })
        };
        let adopt = {
            let (app, parent, mover) = (app.clone(), parent.clone(), mover.clone());
            tokio::spawn(async move { move_to(&app, &mover, Some(&parent)).await })
        };
        let archive = archive.await.unwrap();
        let added: Vec<Gql> = vec![create.await.unwrap(), adopt.await.unwrap()];

        let parent_now = tree(&app, &parent).await;
        let children = parent_now["children"]["totalCount"].as_i64().unwrap();
        let added_ok = added.iter().filter(|r| r.body["errors"].is_null()).count() as i64;
        assert_eq!(children, added_ok, "round {round}: {parent_now}");
        for res in added.iter().filter(|r| !r.body["errors"].is_null()) {
            res.assert_error("CONFLICT", None);
        }
        if archive.body["errors"].is_null() {
            assert_eq!(parent_now["status"], "ARCHIVED");
            assert_eq!(children, 0, "round {round}: an archived parent got a child");
        } else {
            archive.assert_error("CONFLICT", None);
            assert_eq!(parent_now["status"], "ACTIVE");
            assert!(children > 0, "round {round}: archiving was refused without children");
        }
    }
}
