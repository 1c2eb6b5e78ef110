/// The committed schema.graphql is the code's schema; regenerate it with
/// `cargo run -- schema > schema.graphql`.
#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let current = billgraph::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

/// Every type, field, argument, enum value and input field is described
/// (graphql-schema-linter, pinned in tests/js), and names follow the
/// conventions and the Relay connection spec.
#[test]
fn the_schema_passes_the_linter() {
    let rules = [
        "types-have-descriptions",
        "fields-have-descriptions",
        "arguments-have-descriptions",
        "enum-values-have-descriptions",
        "input-object-values-have-descriptions",
        "descriptions-are-capitalized",
        "deprecations-have-a-reason",
        "defined-types-are-used",
        "types-are-capitalized",
        "fields-are-camel-cased",
        "input-object-values-are-camel-cased",
        "enum-values-all-caps",
        "relay-connection-types-spec",
        "relay-connection-arguments-spec",
        "relay-page-info-spec",
    ];
    let mut linter = std::process::Command::new(crate::js_env::bin("graphql-schema-linter"))
        .args(["--stdin", "--format", "compact", "--rules", &rules.join(",")])
        // The Stripe connection is an account link, not a Relay list.
        .args([
            "--ignore",
            r#"{"relay-connection-types-spec":["StripeConnection"],"relay-connection-arguments-spec":["Query.stripeConnection","Mutation.connectStripe"]}"#,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting graphql-schema-linter");
    use std::io::Write;
    linter
        .stdin
        .take()
        .unwrap()
        .write_all(billgraph::graphql::sdl().as_bytes())
        .unwrap();
    let out = linter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "graphql-schema-linter found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
