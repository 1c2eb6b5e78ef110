//! Tenant settings through the API: set, partly change, clear, the input
//! rules, and each tenant seeing only its own.

use serde_json::{Value, json};

use crate::support::TestApp;

const SETTINGS: &str = "{ tenantSettings { name displayName address { line1 line2 city state postalCode country }
    email logoUrl invoiceFooter } }";
const UPDATE: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) {
    name displayName address { line1 line2 city state postalCode country } email logoUrl invoiceFooter
} }";

async fn update(app: &TestApp, input: Value) -> Value {
    app.ok(UPDATE, json!({ "input": input })).await["updateTenantSettings"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_change_only_where_given_and_null_clears() {
    let app = TestApp::new().await;
    let empty = app.ok(SETTINGS, json!({})).await["tenantSettings"].clone();
    assert_eq!(
        empty,
        json!({ "name": "acme", "displayName": null, "address": null, "email": null, "logoUrl": null,
                "invoiceFooter": null })
    );

    let full = update(
        &app,
        json!({ "displayName": " Acme GmbH ", "email": "Billing@ACME.example",
                "address": { "line1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "de" },
                "logoUrl": "https://cdn.acme.example/logo.png", "invoiceFooter": "Thank you!\nIBAN DE00 1234" }),
    )
    .await;
    assert_eq!(full["name"], "acme");
    assert_eq!(full["displayName"], "Acme GmbH");
    assert_eq!(full["email"], "Billing@acme.example");
    assert_eq!(
        full["address"],
        json!({ "line1": "Hauptstr. 1", "line2": null, "city": "Berlin", "state": null, "postalCode": "10115",
                "country": "DE" })
    );
    assert_eq!(full["logoUrl"], "https://cdn.acme.example/logo.png");
    assert_eq!(full["invoiceFooter"], "Thank you!\nIBAN DE00 1234");
    assert_eq!(app.ok(SETTINGS, json!({})).await["tenantSettings"], full);

    // Only what is given changes.
    let email_only = update(&app, json!({ "email": "accounts@acme.example" })).await;
    assert_eq!(email_only["email"], "accounts@acme.example");
    assert_eq!(email_only["displayName"], "Acme GmbH");
    assert_eq!(email_only["address"], full["address"]);
    assert_eq!(email_only["invoiceFooter"], full["invoiceFooter"]);
    let nothing = update(&app, json!({})).await;
    assert_eq!(nothing, email_only);

    // null clears.
    let cleared = update(&app, json!({ "displayName": null, "address": null, "logoUrl": null })).await;
    assert_eq!(cleared["displayName"], Value::Null);
    assert_eq!(cleared["address"], Value::Null);
    assert_eq!(cleared["logoUrl"], Value::Null);
    assert_eq!(cleared["email"], "accounts@acme.example");
    let footer = update(&app, json!({ "invoiceFooter": null, "email": null })).await;
    assert_eq!(footer["invoiceFooter"], Value::Null);
    assert_eq!(footer["email"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_are_refused_with_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    update(&app, json!({ "displayName": "Acme" })).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "displayName": " " }), "input.displayName", "must not be empty"),
        (
            json!({ "displayName": "a".repeat(256) }),
            "input.displayName",
            "at most 255",
        ),
        (json!({ "email": "not-an-email" }), "input.email", "'@'"),
        (
            json!({ "logoUrl": "http://acme.example/logo.png" }),
            "input.logoUrl",
            "absolute https URL",
        ),
        (json!({ "logoUrl": "/logo.png" }), "input.logoUrl", "absolute https URL"),
        (
            json!({ "logoUrl": format!("https://acme.example/{}", "a".repeat(2048)) }),
            "input.logoUrl",
            "at most 2048",
        ),
        (
            json!({ "invoiceFooter": "f".repeat(2001) }),
            "input.invoiceFooter",
            "at most 2000",
        ),
        (
            json!({ "address": { "country": "XX" } }),
            "input.address.country",
            "ISO 3166-1",
        ),
        (
            json!({ "address": { "city": "c".repeat(256) } }),
            "input.address.city",
            "at most 255",
        ),
        // A bad field refuses the whole change.
        (json!({ "displayName": "Other", "email": "nope" }), "input.email", "'@'"),
    ];
    for (input, field, message) in cases {
        let gql = app.gql(UPDATE, json!({ "input": input })).await;
        gql.assert_error("VALIDATION", Some(field));
        assert!(gql.message().contains(message), "{input}: {}", gql.body);
    }
    let settings = app.ok(SETTINGS, json!({})).await["tenantSettings"].clone();
    assert_eq!(settings["displayName"], "Acme");
    assert_eq!(settings["email"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tenant_sees_and_changes_only_its_own_settings() {
    let app = TestApp::new().await;
    let other = app.create_key("globex").await;
    update(
        &app,
        json!({ "displayName": "Acme GmbH", "email": "billing@acme.example" }),
    )
    .await;
    let theirs = app.gql_as(Some(&other), SETTINGS, json!({})).await.data()["tenantSettings"].clone();
    assert_eq!(theirs["name"], "globex");
    assert_eq!(theirs["displayName"], Value::Null);
    assert_eq!(theirs["email"], Value::Null);

    app.gql_as(
        Some(&other),
        UPDATE,
        json!({ "input": { "displayName": "Globex Inc." } }),
    )
    .await
    .data();
    let mine = app.ok(SETTINGS, json!({})).await["tenantSettings"].clone();
    assert_eq!(mine["name"], "acme");
    assert_eq!(mine["displayName"], "Acme GmbH");
    let theirs = app.gql_as(Some(&other), SETTINGS, json!({})).await.data()["tenantSettings"].clone();
    assert_eq!(theirs["displayName"], "Globex Inc.");
    assert_eq!(theirs["email"], Value::Null);
}
