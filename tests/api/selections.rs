//! How selections are answered: fragments, aliases, `__typename`, a field
//! selected twice, and a field's error inside a list. Lists and their
//! nodes resolve their fields in place (`graphql::in_place`); these answers
//! are the GraphQL rules that path must keep.

use serde_json::json;

use crate::support::TestApp;

const TREE: &str = "fragment Who on Customer { id externalCustomerId }
query($id: UUID!) {
    customer(id: $id) {
        __typename
        ...Who
        children(first: 10) {
            __typename
            edges { __typename node { ...Who ... on Customer { name } ... { first: externalCustomerId } } }
            edges { node { parent { externalCustomerId } } }
            nodes { __typename externalCustomerId }
            kids: nodes { externalCustomerId }
        }
    }
}";

#[tokio::test]
async fn fragments_aliases_typenames_and_repeated_fields_answer_as_the_spec_says() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    let first = app.create_customer("kid-1", Some(&root)).await;
    let second = app.create_customer("kid-2", Some(&root)).await;

    let data = app.ok(TREE, json!({ "id": root })).await;

    let edge = |id: &str, external: &str| {
        json!({
            "__typename": "CustomerEdge",
            "node": {
                "id": id,
                "externalCustomerId": external,
                "name": format!("Customer {external}"),
                "first": external,
                "parent": { "externalCustomerId": "root" },
            },
        })
    };
    let node = |external: &str| json!({ "__typename": "Customer", "externalCustomerId": external });
    assert_eq!(
        data,
        json!({
            "customer": {
                "__typename": "Customer",
                "id": root,
                "externalCustomerId": "root",
                "children": {
                    "__typename": "CustomerConnection",
                    "edges": [edge(&first, "kid-1"), edge(&second, "kid-2")],
                    "nodes": [node("kid-1"), node("kid-2")],
                    "kids": [{ "externalCustomerId": "kid-1" }, { "externalCustomerId": "kid-2" }],
                },
            },
        })
    );
}

#[tokio::test]
async fn a_fields_error_inside_a_list_names_its_path_and_spares_its_siblings() {
    let app = TestApp::new().await;
    let root = app.create_customer("root", None).await;
    app.create_customer("kid", Some(&root)).await;

    let answer = app
        .gql(
            "query($id: UUID!) { customer(id: $id) { children(first: 5) { edges { node {
                externalCustomerId
                usage(from: \"2026-02-01T00:00:00Z\", to: \"2026-01-01T00:00:00Z\") { value }
            } } } } }",
            json!({ "id": root }),
        )
        .await;

    assert_eq!(
        answer.body["errors"][0]["path"],
        json!(["customer", "children", "edges", 0, "node", "usage"]),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.body["data"]["customer"]["children"]["edges"][0]["node"]["externalCustomerId"], "kid",
        "{}",
        answer.body
    );
}
