//! The rules every request meets whatever its fields: no text input with a
//! refused character (NUL and the other C0 controls but tab, newline and
//! carriage return), and no directive the schema does not declare there.

use std::collections::{HashMap, HashSet};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::support::{Gql, TestApp};

const INTROSPECTION: &str = "{
    __schema {
        queryType { name }
        mutationType { name }
        types {
            name kind
            enumValues { name }
            inputFields { name defaultValue type { ...T } }
            fields { name type { ...T } args { name defaultValue type { ...T } } }
        }
    }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// A type reference as introspection gives it.
#[derive(Clone, Debug)]
enum TypeRef {
    NonNull(Box<TypeRef>),
    List(Box<TypeRef>),
    Named(String),
}

impl TypeRef {
    fn parse(v: &Value) -> TypeRef {
        match v["kind"].as_str().unwrap() {
            "NON_NULL" => TypeRef::NonNull(Box::new(TypeRef::parse(&v["ofType"]))),
            "LIST" => TypeRef::List(Box::new(TypeRef::parse(&v["ofType"]))),
            _ => TypeRef::Named(v["name"].as_str().unwrap().to_string()),
        }
    }

    /// As written in a variable definition, e.g. `[EventInput!]!`.
    fn sdl(&self) -> String {
        match self {
            TypeRef::NonNull(t) => format!("{}!", t.sdl()),
            TypeRef::List(t) => format!("[{}]", t.sdl()),
            TypeRef::Named(n) => n.clone(),
        }
    }

    fn nullable(&self) -> &TypeRef {
        match self {
            TypeRef::NonNull(t) => t,
            t => t,
        }
    }

    fn named(&self) -> &str {
        match self {
            TypeRef::NonNull(t) | TypeRef::List(t) => t.named(),
            TypeRef::Named(n) => n,
        }
    }
}

/// An argument or input field.
#[derive(Clone, Debug)]
struct InputValue {
    name: String,
    ty: TypeRef,
    has_default: bool,
}

impl InputValue {
    fn parse(v: &Value) -> InputValue {
        InputValue {
            name: v["name"].as_str().unwrap().to_string(),
            ty: TypeRef::parse(&v["type"]),
            has_default: !v["defaultValue"].is_null(),
        }
    }

    fn required(&self) -> bool {
        matches!(self.ty, TypeRef::NonNull(_)) && !self.has_default
    }
}

struct RootField {
    operation: &'static str,
    name: String,
    args: Vec<InputValue>,
    /// The named return type, to know whether it needs a selection.
    returns: String,
}

struct Schema {
    kinds: HashMap<String, String>,
    enum_values: HashMap<String, String>,
    input_fields: HashMap<String, Vec<InputValue>>,
    roots: Vec<RootField>,
}

async fn introspect(app: &TestApp) -> Schema {
    let data = app.ok(INTROSPECTION, json!({})).await;
    let schema = &data["__schema"];
    let mut out = Schema {
        kinds: HashMap::new(),
        enum_values: HashMap::new(),
        input_fields: HashMap::new(),
        roots: Vec::new(),
    };
    let roots = [
        ("query", schema["queryType"]["name"].as_str().unwrap()),
        ("mutation", schema["mutationType"]["name"].as_str().unwrap()),
    ];
    for t in schema["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        out.kinds.insert(name.clone(), t["kind"].as_str().unwrap().to_string());
        if let Some(first) = t["enumValues"].as_array().and_then(|v| v.first()) {
            out.enum_values
                .insert(name.clone(), first["name"].as_str().unwrap().to_string());
        }
        if let Some(fields) = t["inputFields"].as_array() {
            out.input_fields
                .insert(name.clone(), fields.iter().map(InputValue::parse).collect());
        }
        for (operation, root) in roots {
            if name != root {
                continue;
            }
            for f in t["fields"].as_array().unwrap() {
                out.roots.push(RootField {
                    operation,
                    name: f["name"].as_str().unwrap().to_string(),
                    args: f["args"].as_array().unwrap().iter().map(InputValue::parse).collect(),
                    returns: TypeRef::parse(&f["type"]).named().to_string(),
                });
            }
        }
    }
    out
}

/// A value to send, written either as a GraphQL literal or as JSON.
#[derive(Clone, Debug)]
enum Lit {
    Str(String),
    Enum(String),
    Int(i64),
    Bool(bool),
    List(Vec<Lit>),
    Object(Vec<(String, Lit)>),
}

impl Lit {
    fn json(&self) -> Value {
        match self {
            Lit::Str(s) | Lit::Enum(s) => json!(s),
            Lit::Int(i) => json!(i),
            Lit::Bool(b) => json!(b),
            Lit::List(items) => Value::Array(items.iter().map(Lit::json).collect()),
            Lit::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.json())).collect()),
        }
    }

    fn graphql(&self) -> String {
        match self {
            // A JSON string is a valid GraphQL string: NUL is sent as \u0000.
            Lit::Str(s) => serde_json::to_string(s).unwrap(),
            Lit::Enum(s) => s.clone(),
            Lit::Int(i) => i.to_string(),
            Lit::Bool(b) => b.to_string(),
            Lit::List(items) => format!("[{}]", items.iter().map(Lit::graphql).collect::<Vec<_>>().join(", ")),
            Lit::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.graphql()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// One step from an argument down to a text input.
#[derive(Clone, Debug)]
enum Step {
    Field(String),
    FirstItem,
}

/// Scalars that carry text a client chooses. JSON values are text too
/// (metadata, event properties): the NUL goes into a string inside them.
fn is_text(named: &str) -> bool {
    matches!(named, "String" | "ID" | "JSON")
}

const BAD: &str = "bad\u{0}text";

impl Schema {
    /// Every path from a value of type `ty` to a text input, through input
    /// objects (each at most once per path) and lists.
    fn text_paths(&self, ty: &TypeRef, on_path: &mut Vec<String>) -> Vec<Vec<Step>> {
        match ty.nullable() {
            TypeRef::List(item) => self
                .text_paths(item, on_path)
                .into_iter()
                .map(|p| [vec![Step::FirstItem], p].concat())
                .collect(),
            TypeRef::Named(named) if is_text(named) => vec![vec![]],
            TypeRef::Named(named) if self.kinds[named] == "INPUT_OBJECT" && !on_path.contains(named) => {
                on_path.push(named.clone());
                let mut paths = Vec::new();
                for field in &self.input_fields[named] {
                    for p in self.text_paths(&field.ty, on_path) {
                        paths.push([vec![Step::Field(field.name.clone())], p].concat());
                    }
                }
                on_path.pop();
                paths
            }
            _ => vec![],
        }
    }

    /// A valid value of `ty`; `name` picks realistic text where a field
    /// has its own rule, so the planted NUL is the only thing wrong.
    fn placeholder(&self, name: &str, ty: &TypeRef) -> Lit {
        match ty.nullable() {
            TypeRef::List(item) => Lit::List(vec![self.placeholder(name, item)]),
            TypeRef::NonNull(_) => unreachable!(),
            TypeRef::Named(named) => match named.as_str() {
                "String" | "ID" => Lit::Str(
                    match name {
                        "currency" => "USD",
                        "country" => "DE",
                        "email" => "someone@example.com",
                        _ => "placeholder",
                    }
                    .into(),
                ),
                "Int" => Lit::Int(1),
                "Float" | "Decimal" => Lit::Str("1".into()),
                "Boolean" => Lit::Bool(false),
                "UUID" => Lit::Str("0190a000-0000-7000-8000-000000000001".into()),
                "DateTime" => Lit::Str("2026-01-01T00:00:00Z".into()),
                "JSON" => Lit::Object(vec![]),
                other => match self.kinds[other].as_str() {
                    "ENUM" => Lit::Enum(self.enum_values[other].clone()),
                    "INPUT_OBJECT" => Lit::Object(
                        self.input_fields[other]
                            .iter()
                            .filter(|f| f.required())
                            .map(|f| (f.name.clone(), self.placeholder(&f.name, &f.ty)))
                            .collect(),
                    ),
                    kind => panic!("no placeholder for {other} ({kind})"),
                },
            },
        }
    }

    /// A valid value of `ty` except for the text input at `path`, which
    /// holds a NUL.
    fn with_nul(&self, ty: &TypeRef, path: &[Step]) -> Lit {
        let Some((step, rest)) = path.split_first() else {
            return match ty.named() {
                "JSON" => Lit::Object(vec![("k".into(), Lit::Str(BAD.into()))]),
                _ => Lit::Str(BAD.into()),
            };
        };
        match (step, ty.nullable()) {
            (Step::FirstItem, TypeRef::List(item)) => Lit::List(vec![self.with_nul(item, rest)]),
            (Step::Field(field), TypeRef::Named(named)) => {
                let mut fields = Vec::new();
                for f in &self.input_fields[named] {
                    if f.name == *field {
                        fields.push((f.name.clone(), self.with_nul(&f.ty, rest)));
                    } else if f.required() {
                        fields.push((f.name.clone(), self.placeholder(&f.name, &f.ty)));
                    }
                }
                Lit::Object(fields)
            }
            (step, ty) => panic!("step {step:?} does not fit {ty:?}"),
        }
    }
}

/// The field path the refusal must name, e.g. `input.prices[0].currency`.
fn expected_field(arg: &str, path: &[Step], named: &str) -> String {
    let mut field = arg.to_string();
    for step in path {
        match step {
            Step::Field(f) => field.push_str(&format!(".{f}")),
            Step::FirstItem => field.push_str("[0]"),
        }
    }
    if named == "JSON" {
        field.push_str(".k");
    }
    field
}

/// The named type at the end of `path`.
fn named_at<'a>(schema: &'a Schema, ty: &'a TypeRef, path: &[Step]) -> &'a str {
    match path.split_first() {
        None => ty.named(),
        Some((Step::FirstItem, rest)) => named_at(schema, ty, rest),
        Some((Step::Field(f), rest)) => {
            let field = schema.input_fields[ty.named()].iter().find(|x| x.name == *f).unwrap();
            named_at(schema, &field.ty, rest)
        }
    }
}

fn refusal_problem(res: &Gql, field: &str) -> Option<String> {
    let error = &res.body["errors"][0];
    let ok = error["extensions"]["code"] == "VALIDATION"
        && error["extensions"]["field"] == field
        && error["message"].as_str().is_some_and(|m| m.contains(field))
        && res.body["data"].is_null();
    (!ok).then(|| format!("expected VALIDATION naming {field}, got {}", res.body))
}

/// Every text input of every Query and Mutation field, found by
/// introspection, refuses a NUL as VALIDATION naming the input, sent both
/// as an inline literal and as a variable. A new text input that bypasses
/// the rule fails here without anyone listing it.
#[tokio::test(flavor = "multi_thread")]
async fn input_every_text_input_of_the_schema_refuses_nul() {
    let app = TestApp::new().await;
    let schema = introspect(&app).await;
    let mut visited = HashSet::new();
    let mut failures = Vec::new();
    for root in &schema.roots {
        let selection = match schema.kinds[&root.returns].as_str() {
            "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
            _ => "",
        };
        for target in &root.args {
            for path in schema.text_paths(&target.ty, &mut Vec::new()) {
                let named = named_at(&schema, &target.ty, &path);
                let field = expected_field(&target.name, &path, named);
                visited.insert(format!("{}.{field}", root.name));
                let args: Vec<(&InputValue, Lit)> = root
                    .args
                    .iter()
                    .filter_map(|a| {
                        if a.name == target.name {
                            Some((a, schema.with_nul(&a.ty, &path)))
                        } else if a.required() {
                            Some((a, schema.placeholder(&a.name, &a.ty)))
                        } else {
                            None
                        }
                    })
                    .collect();

                let inline = args
                    .iter()
                    .map(|(a, v)| format!("{}: {}", a.name, v.graphql()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let query = format!("{} {{ {}({inline}){selection} }}", root.operation, root.name);
                let res = app.gql(&query, json!({})).await;
                if let Some(problem) = refusal_problem(&res, &field) {
                    failures.push(format!("{} inline: {problem}\n  {query}", root.name));
                }

                let definitions = args
                    .iter()
                    .map(|(a, _)| format!("${}: {}", a.name, a.ty.sdl()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let uses = args
                    .iter()
                    .map(|(a, _)| format!("{0}: ${0}", a.name))
                    .collect::<Vec<_>>()
                    .join(", ");
                let query = format!(
                    "{}({definitions}) {{ {}({uses}){selection} }}",
                    root.operation, root.name
                );
                let variables = Value::Object(args.iter().map(|(a, v)| (a.name.clone(), v.json())).collect());
                let res = app.gql(&query, variables.clone()).await;
                if let Some(problem) = refusal_problem(&res, &field) {
                    failures.push(format!("{} variables: {problem}\n  {query}\n  {variables}", root.name));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // So the walk cannot pass by finding nothing to send.
    assert!(
        visited.len() > 40,
        "only {} text inputs found: {visited:?}",
        visited.len()
    );
    for known in [
        "createCustomer.input.metadata.k",
        "createMeter.input.filters[0].values[0]",
        "ingestEvents.events[0].properties.k",
        "customers.filter.search",
        "events.filter.eventName",
        "recordPayment.input.reference",
    ] {
        assert!(visited.contains(known), "{known} not visited: {visited:?}");
    }
    // Nothing reached the database.
    let data = app
        .ok(
            "{ customers { totalCount } plans { totalCount } meters { totalCount } events { totalCount } }",
            json!({}),
        )
        .await;
    for list in ["customers", "plans", "meters", "events"] {
        assert_eq!(data[list]["totalCount"], 0, "{data}");
    }
}

/// A variable anywhere in an argument is checked: inside an inline object,
/// through a fragment, or as its default value.
#[tokio::test(flavor = "multi_thread")]
async fn input_nul_in_variables_is_refused_wherever_the_variable_is_used() {
    let app = TestApp::new().await;
    let cases = [
        (
            "mutation($n: String!) { createCustomer(input: { externalCustomerId: \"c1\", name: $n }) { id } }",
            json!({ "n": "a\u{0}b" }),
            "input.name",
        ),
        (
            "mutation($region: String!) { createCustomer(input: { externalCustomerId: \"c1\", name: \"C\", metadata: { region: $region } }) { id } }",
            json!({ "region": "e\u{0}u" }),
            "input.metadata.region",
        ),
        (
            "mutation($m: JSON) { createCustomer(input: { externalCustomerId: \"c1\", name: \"C\", metadata: $m }) { id } }",
            json!({ "m": { "region": "eu", "tier": "gold\u{0}" } }),
            "input.metadata.tier",
        ),
        (
            "query($s: String) { ...F } fragment F on Query { customers(filter: { search: $s }) { totalCount } }",
            json!({ "s": "\u{0}" }),
            "filter.search",
        ),
        (
            "query($k: String! = \"pro\\u0000\") { planByLookupKey(lookupKey: $k) { id } }",
            json!({}),
            "lookupKey",
        ),
        (
            "query($after: String) { customers { nodes { children(after: $after) { totalCount } } } }",
            json!({ "after": "x\u{1b}" }),
            "after",
        ),
    ];
    for (query, variables, field) in cases {
        let res = app.gql(query, variables.clone()).await;
        res.assert_error("VALIDATION", Some(field));
        assert!(res.message().contains(field), "{}", res.body);
        assert!(res.body["data"].is_null(), "{query}: {}", res.body);
    }
    // The message says which character, and what is allowed.
    let res = app
        .gql(
            "query($k: String!) { customerByExternalId(externalCustomerId: $k) { id } }",
            json!({ "k": "a\u{7}" }),
        )
        .await;
    res.assert_error("VALIDATION", Some("externalCustomerId"));
    assert!(res.message().contains("U+0007"), "{}", res.body);
    assert!(
        res.message().contains("tab, newline and carriage return"),
        "{}",
        res.body
    );
}

const INGEST: &str = "mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted refused } }";

async fn stored_event_count(app: &TestApp) -> i64 {
    app.ok("{ events { totalCount } }", json!({})).await["events"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn rest(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .header("x-api-key", &app.key)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes) = app.send(request).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// `value` written as a GraphQL input literal.
fn graphql_literal(value: &Value) -> String {
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(graphql_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", graphql_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// jsonb cannot store U+0000: a NUL in a property key or value refuses the
/// whole request, on every route, and nothing of it is stored.
#[tokio::test(flavor = "multi_thread")]
async fn input_nul_in_event_properties_refuses_the_whole_batch() {
    let app = TestApp::new().await;
    let valid = json!({ "eventName": "call", "externalCustomerId": "co", "properties": { "n": 1 } });
    let bad_properties = [
        (json!({ "note": "a\u{0}b" }), "properties.note"),
        (json!({ "k\u{0}": 1 }), "properties.k\\u{0}"),
        (
            json!({ "deep": [{ "x": "ok" }, { "y": "\u{0}" }] }),
            "properties.deep[1].y",
        ),
    ];
    for (properties, field) in &bad_properties {
        let bad = json!({ "eventName": "call", "externalCustomerId": "co", "properties": properties });
        let res = app.gql(INGEST, json!({ "events": [valid, bad] })).await;
        res.assert_error("VALIDATION", Some(&format!("events[1].{field}")));

        // The same through an inline literal: a JSON object literal's keys
        // are GraphQL names, so only values can carry the NUL there.
        if !field.contains("\\u") {
            let literal = format!(
                "mutation {{ ingestEvents(events: [{{ eventName: \"call\", externalCustomerId: \"co\", properties: {} }}]) {{ accepted }} }}",
                graphql_literal(properties)
            );
            let res = app.gql(&literal, json!({})).await;
            res.assert_error("VALIDATION", Some(&format!("events[0].{field}")));
        }

        let rest_bad = json!({ "event_name": "call", "external_customer_id": "co", "properties": properties });
        let (status, body) = rest(&app, "/v1/events", &rest_bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error_code"], "VALIDATION", "{body}");
        assert_eq!(body["field"], *field, "{body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");

        let rest_valid = json!({ "event_name": "call", "external_customer_id": "co", "properties": { "n": 1 } });
        let (status, body) = rest(&app, "/v1/events/bulk", &json!({ "events": [rest_valid, rest_bad] })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error_code"], "VALIDATION", "{body}");
        assert_eq!(body["field"], format!("events[1].{field}"), "{body}");
    }
    // The other texts of a REST event follow the same rule.
    for (name, field) in [
        ("event_name", "event_name"),
        ("external_customer_id", "external_customer_id"),
        ("event_id", "event_id"),
        ("source", "source"),
    ] {
        let mut event = json!({ "event_name": "call", "external_customer_id": "co" });
        event[name] = json!("x\u{0}");
        let (status, body) = rest(&app, "/v1/events", &event).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    assert_eq!(
        stored_event_count(&app).await,
        0,
        "nothing of a refused request is stored"
    );
}

/// Only the directives the schema declares, where it declares them.
#[tokio::test(flavor = "multi_thread")]
async fn input_unknown_directives_are_refused_anywhere() {
    let app = TestApp::new().await;
    let cases = [
        "{ plans { totalCount @nope } }",
        "query @nope { plans { totalCount } }",
        "{ ... on Query @nope { plans { totalCount } } }",
        "{ ...F @nope } fragment F on Query { plans { totalCount } }",
        "{ ...F } fragment F on Query @nope { plans { totalCount } }",
        "query($first: Int @nope) { plans(first: $first) { totalCount } }",
        "mutation @nope { archiveMeter(id: \"0190a000-0000-7000-8000-000000000001\") { id } }",
    ];
    for query in cases {
        let res = app.gql(query, json!({})).await;
        res.assert_error("VALIDATION", None);
        assert!(res.message().contains("\"nope\""), "{query}: {}", res.body);
        assert!(res.body["data"].is_null(), "{query}: {}", res.body);
    }
    // Declared directives, in a place the schema does not declare them for.
    for query in [
        "query($first: Int @skip(if: true)) { plans(first: $first) { totalCount } }",
        "query @include(if: true) { plans { totalCount } }",
        "{ plans { totalCount @deprecated } }",
    ] {
        let res = app.gql(query, json!({})).await;
        res.assert_error("VALIDATION", None);
        assert!(res.body["data"].is_null(), "{query}: {}", res.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn input_skip_and_include_still_work() {
    let app = TestApp::new().await;
    let data = app
        .ok(
            "query($yes: Boolean!, $no: Boolean!) {
                a: plans { totalCount @skip(if: true) pageInfo { hasNextPage } }
                b: plans { totalCount @include(if: $yes) }
                c: plans { totalCount @include(if: $no) pageInfo { hasNextPage } }
                ... on Query @skip(if: $no) { d: meters { totalCount } }
                ...F @include(if: false)
            }
            fragment F on Query { e: meters { totalCount } }",
            json!({ "yes": true, "no": false }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "a": { "pageInfo": { "hasNextPage": false } },
            "b": { "totalCount": 0 },
            "c": { "pageInfo": { "hasNextPage": false } },
            "d": { "totalCount": 0 },
        })
    );
}

/// Tabs, line breaks and any non-ASCII text are ordinary text.
#[tokio::test(flavor = "multi_thread")]
async fn input_tabs_newlines_and_non_ascii_round_trip() {
    let app = TestApp::new().await;
    let text = "Zürich\n東京\tà la carte\r\n🦀";
    let customer = app
        .ok(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id name metadata } }",
            json!({ "input": { "externalCustomerId": "zü-東京", "name": "Zürich 東京", "metadata": { "city": text } } }),
        )
        .await["createCustomer"]
        .clone();
    assert_eq!(customer["name"], "Zürich 東京");
    assert_eq!(customer["metadata"]["city"], text);

    let found = app
        .ok(
            "query($m: JSON) { customers(filter: { metadata: $m }) { nodes { externalCustomerId } } }",
            json!({ "m": { "city": text } }),
        )
        .await;
    assert_eq!(
        found["customers"]["nodes"],
        json!([{ "externalCustomerId": "zü-東京" }])
    );
    let found = app
        .ok(
            "{ customerByExternalId(externalCustomerId: \"zü-東京\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(found["customerByExternalId"]["name"], "Zürich 東京");

    let plan = app
        .ok(
            "mutation($d: String) { createPlan(input: { name: \"Pro\", description: $d }) { description } }",
            json!({ "d": text }),
        )
        .await;
    assert_eq!(plan["createPlan"]["description"], text);

    let properties = json!({ "place": text, "tab\tkey": "v" });
    let res = app
        .ok(
            INGEST,
            json!({ "events": [{ "eventId": "gql-1", "eventName": "visit", "externalCustomerId": "zü-東京", "properties": properties }] }),
        )
        .await;
    assert_eq!(res["ingestEvents"]["accepted"], 1);
    let rest_event = json!({ "event_id": "rest-1", "event_name": "visit", "external_customer_id": "zü-東京", "properties": properties });
    let (status, body) = rest(&app, "/v1/events", &rest_event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let events = app
        .ok(
            "{ events(filter: { eventName: \"visit\" }) { edges { node { eventId properties } } } }",
            json!({}),
        )
        .await;
    let edges = events["events"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{events}");
    for edge in edges {
        assert_eq!(edge["node"]["properties"], properties, "{edge}");
    }
}
