//! Invoice and credit note documents as their readers get them: the PDF and
//! HTML routes an API client calls with its key, and the hosted page (and
//! its PDF) that an invoice's recipient opens through `hostedUrl` without
//! one. Every figure is checked in the text a PDF reader extracts, against
//! amounts worked out by hand below.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use billgraph::domain::hosted_link::{self, LinkClaims};

use crate::pdf_text::pdf_to_text;
use crate::support::TestApp;

/// The worked invoice of these tests, in EUR, for a customer in DE taxed
/// 19% exclusive and holding a 10% ONCE coupon (each line rounded once, half
/// away from zero):
///
/// | line                | amount | 10% off, per line | net   | VAT 19% of the net |
/// |---------------------|--------|-------------------|-------|--------------------|
/// | Widget, 3 × 19.99   | 59.97  | 5.997 -> 6.00     | 53.97 | 10.2543 -> 10.25   |
/// | Setup fee, 1 × 5.05 | 5.05   | 0.505 -> 0.51     | 4.54  | 0.8626 -> 0.86     |
/// | Cable, 2 × 0.75     | 1.50   | 0.15              | 1.35  | 0.2565 -> 0.26     |
///
/// Subtotal 66.52; discounts 6.00 + 0.51 + 0.15 = 6.66; tax 10.25 + 0.86 +
/// 0.26 = 11.37; total 66.52 - 6.66 + 11.37 = 71.23; paid 30.00; amount due
/// 71.23 - 30.00 = 41.23.
mod worked {
    pub const SUBTOTAL: &str = "66.52";
    pub const DISCOUNT_TOTAL: &str = "6.66";
    pub const TAX_TOTAL: &str = "11.37";
    pub const TOTAL: &str = "71.23";
    pub const PAID: &str = "30.00";
    pub const AMOUNT_DUE: &str = "41.23";
    /// (description, quantity, unit price, amount, discount, tax)
    pub const LINES: [(&str, &str, &str, &str, &str, &str); 3] = [
        ("Widget", "3", "19.99", "59.97", "-6.00", "10.25"),
        ("Setup fee", "1", "5.05", "5.05", "-0.51", "0.86"),
        ("Cable", "2", "0.75", "1.50", "-0.15", "0.26"),
    ];
}

const TENANT_NAME: &str = "Acme Billing Ltd";
const TENANT_ADDRESS: [&str; 4] = ["1 Harbour Street", "20457", "Hamburg", "DE"];
const TENANT_EMAIL: &str = "billing@acme.test";
const FOOTER: &str = "Thank you for your business. IBAN DE00 1234 5678 9012";
const CUSTOMER_ADDRESS: [&str; 3] = ["7 Market Square", "10115", "Berlin"];
const CUSTOMER_TAX_ID: &str = "DE123456789";
const PAYMENT_REFERENCE: &str = "wire-2026-0042";

const INVOICE: &str = "query($id: UUID!) { invoice(id: $id) {
    id number status subtotal discountTotal taxTotal total amountPaid amountDue hostedUrl
    lineItems { id description amount }
} }";

struct Invoice {
    id: String,
    number: String,
}

fn dec(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {value}"))
        .parse()
        .unwrap()
}

fn id_in(data: &Value, field: &str) -> String {
    data[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{data}"))
        .to_string()
}

/// GETs `path`, with `key` as X-API-Key when given.
async fn get(app: &TestApp, path: &str, key: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut builder = Request::get(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    app.respond(builder.body(Body::empty()).unwrap()).await
}

/// The path of a hosted link (links carry the public URL's origin).
fn path_of(url: &str) -> String {
    let start = url
        .find("/hosted/")
        .unwrap_or_else(|| panic!("not a hosted link: {url}"));
    url[start..].to_string()
}

/// The token of a hosted link.
fn token_of(url: &str) -> String {
    path_of(url).rsplit('/').next().unwrap().to_string()
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).expect("UTF-8 body")
}

/// The whitespace-separated words of the first line of `text` that starts
/// with `start`.
fn row<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    text.lines()
        .find(|line| line.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{text}"))
        .split_whitespace()
        .collect()
}

/// The words after `start` on the first line of `text` that starts with it.
fn row_after<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    text.lines()
        .map(str::trim_start)
        .find_map(|line| line.strip_prefix(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{text}"))
        .split_whitespace()
        .collect()
}

/// The text between an HTML page's tags, in order, trimmed, without the
/// empty ones.
fn html_cells(html: &str) -> Vec<String> {
    html.split('<')
        .filter_map(|part| part.split_once('>').map(|(_, text)| text.trim()))
        .filter(|text| !text.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `n` cells after the first cell that is exactly `cell`.
fn cells_after<'a>(cells: &'a [String], cell: &str, n: usize) -> Vec<&'a str> {
    let at = cells
        .iter()
        .position(|c| c == cell)
        .unwrap_or_else(|| panic!("no cell {cell:?} in {cells:?}"));
    cells[at + 1..].iter().take(n).map(String::as_str).collect()
}

/// The figure at the end of the summary row labelled `label` ("EUR 1.00").
fn figure(text: &str, label: &str) -> String {
    let words = row(text, label);
    let n = words.len();
    assert_eq!(words[n - 2], "EUR", "{label}: {words:?}");
    words[n - 1].to_string()
}

fn assert_headers_protect(headers: &HeaderMap) {
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
}

async fn set_up_tenant(app: &TestApp) {
    app.ok(
        "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { displayName } }",
        json!({ "input": {
            "displayName": TENANT_NAME,
            "address": { "line1": TENANT_ADDRESS[0], "postalCode": TENANT_ADDRESS[1],
                         "city": TENANT_ADDRESS[2], "country": TENANT_ADDRESS[3] },
            "email": TENANT_EMAIL,
            "invoiceFooter": FOOTER,
        } }),
    )
    .await;
    app.ok(
        "mutation($input: CreateTaxRateInput!) { createTaxRate(input: $input) { id } }",
        json!({ "input": { "name": "VAT", "percentage": "19", "inclusive": false, "country": "DE" } }),
    )
    .await;
    app.ok(
        "mutation($input: CreateCouponInput!) { createCoupon(input: $input) { id } }",
        json!({ "input": { "code": "WELCOME10", "name": "Welcome ten", "percentOff": "10", "duration": "ONCE" } }),
    )
    .await;
}

/// A customer in Berlin with a tax id, holding the WELCOME10 coupon.
async fn taxed_customer(app: &TestApp, external_id: &str, name: &str) -> String {
    let data = app
        .ok(
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": {
                "externalCustomerId": external_id, "name": name, "email": "ap@globex.test",
                "taxId": CUSTOMER_TAX_ID,
                "address": { "line1": CUSTOMER_ADDRESS[0], "postalCode": CUSTOMER_ADDRESS[1],
                             "city": CUSTOMER_ADDRESS[2], "country": "DE" },
            } }),
        )
        .await;
    let customer = id_in(&data, "createCustomer");
    app.ok(
        "mutation($input: ApplyCouponInput!) { applyCoupon(input: $input) { id } }",
        json!({ "input": { "code": "WELCOME10", "customerId": customer } }),
    )
    .await;
    customer
}

/// A draft one-off invoice of `lines` (description, quantity, unit price)
/// as `key`'s tenant.
async fn one_off_as(app: &TestApp, key: &str, customer: &str, lines: &[(String, String, String)]) -> String {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(description, quantity, unit)| json!({ "description": description, "quantity": quantity, "unitAmount": unit }))
        .collect();
    let data = app
        .gql_as(
            Some(key),
            "mutation($c: UUID!, $lines: [OneOffLineInput!]!) {
                createOneOffInvoice(customerId: $c, currency: \"EUR\", lines: $lines) { id } }",
            json!({ "c": customer, "lines": lines }),
        )
        .await
        .data();
    id_in(&data, "createOneOffInvoice")
}

async fn finalize_as(app: &TestApp, key: &str, invoice: &str) -> String {
    let data = app
        .gql_as(
            Some(key),
            "mutation($id: UUID!) { finalizeInvoice(id: $id) { number } }",
            json!({ "id": invoice }),
        )
        .await
        .data();
    data["finalizeInvoice"]["number"].as_str().unwrap().to_string()
}

fn worked_lines() -> Vec<(String, String, String)> {
    worked::LINES
        .iter()
        .map(|(d, q, u, ..)| (d.to_string(), q.to_string(), u.to_string()))
        .collect()
}

/// The worked invoice, finalized and paid in part, for a customer named
/// `customer_name`.
async fn worked_invoice(app: &TestApp, customer_name: &str) -> Invoice {
    set_up_tenant(app).await;
    let customer = taxed_customer(app, "globex", customer_name).await;
    let id = one_off_as(app, &app.key, &customer, &worked_lines()).await;
    let number = finalize_as(app, &app.key, &id).await;
    app.ok(
        "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id } } }",
        json!({ "input": { "invoiceId": id, "amount": worked::PAID, "method": "BANK_TRANSFER",
                           "reference": PAYMENT_REFERENCE, "idempotencyKey": "pay-1" } }),
    )
    .await;
    Invoice { id, number }
}

/// A plain customer (no address, so no tax) of `key`'s tenant.
async fn plain_customer_as(app: &TestApp, key: &str, external_id: &str, name: &str) -> String {
    let data = app
        .gql_as(
            Some(key),
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalCustomerId": external_id, "name": name } }),
        )
        .await
        .data();
    id_in(&data, "createCustomer")
}

fn one_line(description: &str, unit: &str) -> Vec<(String, String, String)> {
    vec![(description.to_string(), "1".to_string(), unit.to_string())]
}

/// Asserts the facts of the worked invoice in `text` (a PDF's text or an
/// HTML page), which must read them word for word.
fn assert_worked_facts(text: &str, number: &str, customer_name: &str) {
    for fact in [
        number,
        TENANT_NAME,
        TENANT_EMAIL,
        FOOTER,
        customer_name,
        CUSTOMER_TAX_ID,
        PAYMENT_REFERENCE,
        "Discount: Welcome ten",
        "VAT 19%",
    ]
    .iter()
    .chain(TENANT_ADDRESS.iter())
    .chain(CUSTOMER_ADDRESS.iter())
    {
        assert!(text.contains(fact), "{fact:?} missing from:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finalized_invoices_pdf_reads_every_figure_of_the_invoice() {
    let app = TestApp::new().await;
    let customer_name = "Globex Trading GmbH";
    let invoice = worked_invoice(&app, customer_name).await;

    let (status, headers, body) = get(&app, &format!("/v1/invoices/{}/pdf", invoice.id), Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(body.starts_with(b"%PDF-"));
    let pdf = pdf_to_text(&body);

    assert_worked_facts(&pdf, &invoice.number, customer_name);
    assert!(pdf.contains("Tax ID: DE123456789"), "{pdf}");
    assert!(pdf.contains("Page 1 of 1") && !pdf.contains("Page 2"), "{pdf}");
    assert!(!pdf.contains("DRAFT") && !pdf.contains("VOID"), "{pdf}");
    for (description, quantity, unit, amount, discount, tax) in worked::LINES {
        assert_eq!(row_after(&pdf, description), [quantity, unit, amount], "{description}");
        // Each line's own discount and tax, printed under it.
        let under = pdf
            .split(&format!("{description} "))
            .nth(1)
            .unwrap_or_else(|| panic!("{description} in {pdf}"));
        assert_eq!(
            row(under, "Discount: Welcome ten").last(),
            Some(&discount),
            "{description}"
        );
        assert_eq!(row(under, "VAT 19%").last(), Some(&tax), "{description}");
    }
    assert_eq!(figure(&pdf, "Subtotal"), worked::SUBTOTAL);
    assert_eq!(figure(&pdf, "Total"), worked::TOTAL);
    assert_eq!(figure(&pdf, "Paid"), format!("-{}", worked::PAID));
    assert_eq!(figure(&pdf, "Amount due"), worked::AMOUNT_DUE);
    // The summary's discount and tax rows come after the lines' rows of
    // the same label: the last row of each label is the summary's.
    let summary = pdf.rsplit("Subtotal").next().unwrap();
    assert_eq!(
        figure(summary, "Discount: Welcome ten"),
        format!("-{}", worked::DISCOUNT_TOTAL)
    );
    assert_eq!(figure(summary, "VAT 19%"), worked::TAX_TOTAL);
    // The payment row: its reference and amount on one line.
    let payment = pdf
        .lines()
        .find(|line| line.contains(PAYMENT_REFERENCE))
        .unwrap_or_else(|| panic!("no payment row in {pdf}"));
    assert!(payment.split_whitespace().any(|w| w == worked::PAID), "{payment}");

    // The API agrees with the document.
    let answer = app.ok(INVOICE, json!({ "id": invoice.id })).await["invoice"].clone();
    for (field, want) in [
        ("subtotal", worked::SUBTOTAL),
        ("discountTotal", worked::DISCOUNT_TOTAL),
        ("taxTotal", worked::TAX_TOTAL),
        ("total", worked::TOTAL),
        ("amountPaid", worked::PAID),
        ("amountDue", worked::AMOUNT_DUE),
    ] {
        assert_eq!(
            dec(&answer[field]),
            want.parse::<Decimal>().unwrap(),
            "{field}: {answer}"
        );
    }
    assert_eq!(answer["number"], invoice.number.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_page_reads_the_same_facts_and_escapes_what_clients_typed() {
    let app = TestApp::new().await;
    let customer_name = "Globex <script>alert(1)</script> & Co";
    let invoice = worked_invoice(&app, customer_name).await;

    let (status, headers, body) = get(&app, &format!("/v1/invoices/{}/html", invoice.id), Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_headers_protect(&headers);
    let html = text(&body);
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("Globex &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
        "{html}"
    );
    assert_worked_facts(&html, &invoice.number, "Globex &lt;script&gt;");
    let cells = html_cells(&html);
    for (description, quantity, unit, amount, discount, tax) in worked::LINES {
        // The line's cells, then its discount and tax rows (empty cells
        // are not text).
        assert_eq!(
            cells_after(&cells, description, 7),
            [
                quantity,
                unit,
                amount,
                "Discount: Welcome ten (WELCOME10)",
                discount,
                "VAT 19%",
                tax
            ],
            "{description}"
        );
    }
    for (label, figure) in [
        ("Subtotal", format!("EUR {}", worked::SUBTOTAL)),
        (
            "Discount: Welcome ten (WELCOME10)",
            format!("EUR -{}", worked::DISCOUNT_TOTAL),
        ),
        ("VAT 19%", format!("EUR {}", worked::TAX_TOTAL)),
        ("Total", format!("EUR {}", worked::TOTAL)),
        ("Paid", format!("EUR -{}", worked::PAID)),
        ("Amount due", format!("EUR {}", worked::AMOUNT_DUE)),
    ] {
        // The summary's row is the last cell of its label.
        let at = cells
            .iter()
            .rposition(|c| c == label)
            .unwrap_or_else(|| panic!("{label}: {cells:?}"));
        assert_eq!(cells[at + 1], figure, "{label}");
    }
    let payment = cells
        .iter()
        .position(|c| c == PAYMENT_REFERENCE)
        .expect("the payment row");
    assert_eq!(cells[payment + 1], worked::PAID);
    // The keyed page is for API clients: it offers no hosted PDF link.
    assert!(!html.contains("Download PDF"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drafts_documents_say_draft_and_a_voided_invoices_say_void() {
    let app = TestApp::new().await;
    let customer = plain_customer_as(&app, &app.key.clone(), "c1", "Initech").await;
    let draft = one_off_as(&app, &app.key, &customer, &one_line("Consulting", "120.00")).await;
    let voided = one_off_as(&app, &app.key, &customer, &one_line("Training", "80.00")).await;
    let number = finalize_as(&app, &app.key, &voided).await;
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { status } }",
        json!({ "id": voided }),
    )
    .await;

    let (status, _, body) = get(&app, &format!("/v1/invoices/{draft}/pdf"), Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    let pdf = pdf_to_text(&body);
    assert!(pdf.contains("DRAFT") && !pdf.contains("VOID"), "{pdf}");
    assert!(pdf.contains("Consulting") && !pdf.contains("INV-"), "{pdf}");
    let (_, _, body) = get(&app, &format!("/v1/invoices/{draft}/html"), Some(&app.key)).await;
    assert!(text(&body).contains("DRAFT"));

    let (status, _, body) = get(&app, &format!("/v1/invoices/{voided}/pdf"), Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    let pdf = pdf_to_text(&body);
    assert!(pdf.contains("VOID") && !pdf.contains("DRAFT"), "{pdf}");
    assert!(pdf.contains(&number) && pdf.contains("Training"), "{pdf}");
    let (_, _, body) = get(&app, &format!("/v1/invoices/{voided}/html"), Some(&app.key)).await;
    assert!(text(&body).contains("VOID"));
}

/// Half of the Widget line, as the invoice charged it (53.97 net + 10.25
/// tax = 64.22): 32.11. Its tax share is 32.11 × 10.25 / 64.22 = 5.125
/// exactly, rounded half away from zero: 5.13.
#[tokio::test(flavor = "multi_thread")]
async fn a_credit_notes_pdf_names_its_invoice_the_credit_and_the_tax_it_reverses() {
    let app = TestApp::new().await;
    let invoice = worked_invoice(&app, "Globex Trading GmbH").await;
    let lines = app.ok(INVOICE, json!({ "id": invoice.id })).await["invoice"]["lineItems"].clone();
    let widget = lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"] == "Widget")
        .unwrap()["id"]
        .clone();
    let data = app
        .ok(
            "mutation($id: UUID!, $input: CreateCreditNoteInput!) {
                createCreditNote(invoiceId: $id, input: $input) { id number total taxAmount hostedUrl } }",
            json!({ "id": invoice.id, "input": {
                "reason": "ORDER_CHANGE", "lines": [{ "lineItemId": widget, "amount": "32.11" }] } }),
        )
        .await;
    let note = &data["createCreditNote"];
    assert_eq!(dec(&note["total"]), "32.11".parse::<Decimal>().unwrap(), "{note}");
    assert_eq!(dec(&note["taxAmount"]), "5.13".parse::<Decimal>().unwrap(), "{note}");
    let note_number = note["number"].as_str().unwrap();

    let (status, headers, body) = get(
        &app,
        &format!("/v1/credit_notes/{}/pdf", note["id"].as_str().unwrap()),
        Some(&app.key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/pdf");
    let pdf = pdf_to_text(&body);
    assert!(pdf.contains(note_number), "{pdf}");
    assert!(pdf.contains(&format!("Credits invoice {}", invoice.number)), "{pdf}");
    assert_eq!(row_after(&pdf, "Widget"), ["3", "32.11"], "{pdf}");
    assert_eq!(figure(&pdf, "VAT 19% (reversed"), "5.13");
    assert_eq!(figure(&pdf, "Total credited"), "32.11");
    assert!(
        pdf.contains(TENANT_NAME) && pdf.contains("Globex Trading GmbH"),
        "{pdf}"
    );

    let (status, _, body) = get(
        &app,
        &format!("/v1/credit_notes/{}/html", note["id"].as_str().unwrap()),
        Some(&app.key),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = text(&body);
    assert!(html.contains(note_number) && html.contains("EUR 5.13") && html.contains("EUR 32.11"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hosted_link_opens_its_own_invoice_without_a_key_and_nothing_else() {
    let app = TestApp::new().await;
    let invoice = worked_invoice(&app, "Globex Trading GmbH").await;
    let url = app.ok(INVOICE, json!({ "id": invoice.id })).await["invoice"]["hostedUrl"]
        .as_str()
        .unwrap()
        .to_string();
    // Another invoice of the same tenant, which A's link must never show.
    let other_customer = plain_customer_as(&app, &app.key.clone(), "hooli", "Hooli Inc").await;
    let b = one_off_as(&app, &app.key, &other_customer, &one_line("Secret project", "999.00")).await;
    let b_number = finalize_as(&app, &app.key, &b).await;

    let (status, headers, body) = get(&app, &path_of(&url), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_headers_protect(&headers);
    let page = text(&body);
    assert_worked_facts(&page, &invoice.number, "Globex Trading GmbH");
    assert!(!page.contains(&b_number) && !page.contains("Secret project") && !page.contains("Hooli"));
    let pdf_link = format!("{}/pdf", path_of(&url));
    assert!(
        page.contains(&format!("<a href=\"{pdf_link}\">Download PDF</a>")),
        "{page}"
    );

    let (status, headers, body) = get(&app, &pdf_link, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_headers_protect(&headers);
    let pdf = pdf_to_text(&body);
    assert!(pdf.contains(&invoice.number) && !pdf.contains(&b_number), "{pdf}");
    assert_eq!(figure(&pdf, "Total"), worked::TOTAL);
    assert_eq!(figure(&pdf, "Amount due"), worked::AMOUNT_DUE);

    // Tokens that must not open anything, all answered alike.
    let token = token_of(&url);
    let key = app.state.secrets.link_key();
    let claims = hosted_link::verify(key, &token, Utc::now().timestamp()).expect("our own link");
    assert_eq!(claims.document_id.to_string(), invoice.id);
    // Valid for the default 30 days from when the link was made (a minute
    // either way covers the test's own duration).
    let thirty_days = Utc::now().timestamp() + 30 * 24 * 3600;
    assert!((claims.expires_at - thirty_days).abs() < 60, "{claims:?}");
    let mut altered: Vec<char> = token.chars().collect();
    altered[40] = if altered[40] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let expired = hosted_link::sign(
        key,
        &LinkClaims {
            expires_at: Utc::now().timestamp() - 60,
            ..claims
        },
    );
    let note = app
        .ok(
            "mutation($id: UUID!, $input: CreateCreditNoteInput!) {
                createCreditNote(invoiceId: $id, input: $input) { hostedUrl } }",
            json!({ "id": invoice.id, "input": { "reason": "OTHER", "amount": "1.00" } }),
        )
        .await["createCreditNote"]["hostedUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(note.contains("/hosted/credit-notes/"), "{note}");
    let beta = app.create_key("beta").await;
    let beta_customer = plain_customer_as(&app, &beta, "b1", "Beta Buyer").await;
    let beta_invoice = one_off_as(&app, &beta, &beta_customer, &one_line("Beta consulting", "77.00")).await;
    finalize_as(&app, &beta, &beta_invoice).await;
    let beta_url = app
        .gql_as(Some(&beta), INVOICE, json!({ "id": beta_invoice }))
        .await
        .data()["invoice"]["hostedUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let beta_claims = hosted_link::verify(key, &token_of(&beta_url), Utc::now().timestamp()).unwrap();
    // Beta's invoice under acme, and acme's invoice under beta: both well
    // signed, neither names a document of the tenant it names.
    let beta_invoice_under_acme = hosted_link::sign(
        key,
        &LinkClaims {
            document_id: beta_claims.document_id,
            ..claims
        },
    );
    let acme_invoice_under_beta = hosted_link::sign(
        key,
        &LinkClaims {
            tenant_id: beta_claims.tenant_id,
            ..claims
        },
    );
    let refused_page = get(&app, "/hosted/invoices/garbage", None).await;
    assert_eq!(refused_page.0, StatusCode::NOT_FOUND);
    assert!(text(&refused_page.2).contains("not valid"));
    assert_headers_protect(&refused_page.1);
    for (what, path) in [
        ("altered", format!("/hosted/invoices/{altered}")),
        ("altered, PDF", format!("/hosted/invoices/{altered}/pdf")),
        ("expired", format!("/hosted/invoices/{expired}")),
        ("expired, PDF", format!("/hosted/invoices/{expired}/pdf")),
        (
            "credit note token on the invoice path",
            format!("/hosted/invoices/{}", token_of(&note)),
        ),
        (
            "invoice token on the credit note path",
            format!("/hosted/credit-notes/{token}"),
        ),
        (
            "beta's invoice under acme",
            format!("/hosted/invoices/{beta_invoice_under_acme}"),
        ),
        (
            "acme's invoice under beta",
            format!("/hosted/invoices/{acme_invoice_under_beta}"),
        ),
        ("garbage PDF", "/hosted/invoices/garbage/pdf".to_string()),
        ("empty-ish", "/hosted/invoices/AAAA".to_string()),
    ] {
        let (status, _, body) = get(&app, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(body, refused_page.2, "{what}: {}", String::from_utf8_lossy(&body));
    }
    assert!(!text(&refused_page.2).contains("INV-"));

    // The credit note's own link opens it on its own path.
    let (status, _, body) = get(&app, &path_of(&note), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = text(&body);
    assert!(page.contains(&format!("Credits invoice {}", invoice.number)), "{page}");
    let note_pdf = format!("{}/pdf", path_of(&note));
    assert!(
        page.contains(&format!("<a href=\"{note_pdf}\">Download PDF</a>")),
        "{page}"
    );
    let (status, headers, body) = get(&app, &note_pdf, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(figure(&pdf_to_text(&body), "Total credited"), "1.00");

    // Beta's link opens beta's invoice only.
    let (status, _, body) = get(&app, &path_of(&beta_url), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = text(&body);
    assert!(
        page.contains("Beta consulting") && page.contains("Beta Buyer"),
        "{page}"
    );
    assert!(!page.contains("Widget") && !page.contains("Globex") && !page.contains(TENANT_NAME));
}

#[tokio::test(flavor = "multi_thread")]
async fn keyed_document_routes_refuse_other_tenants_missing_keys_and_bad_ids() {
    let app = TestApp::new().await;
    let beta = app.create_key("beta").await;
    let beta_customer = plain_customer_as(&app, &beta, "b1", "Beta Buyer").await;
    let theirs = one_off_as(&app, &beta, &beta_customer, &one_line("Beta consulting", "77.00")).await;
    finalize_as(&app, &beta, &theirs).await;
    let their_note = app
        .gql_as(
            Some(&beta),
            "mutation($id: UUID!, $input: CreateCreditNoteInput!) {
                createCreditNote(invoiceId: $id, input: $input) { id } }",
            json!({ "id": theirs, "input": { "reason": "OTHER", "amount": "7.00" } }),
        )
        .await
        .data()["createCreditNote"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Beta's own key opens both.
    for path in [
        format!("/v1/invoices/{theirs}/pdf"),
        format!("/v1/credit_notes/{their_note}/pdf"),
    ] {
        let (status, _, _) = get(&app, &path, Some(&beta)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let ours_customer = plain_customer_as(&app, &app.key.clone(), "a1", "Acme Buyer").await;
    let ours = one_off_as(&app, &app.key, &ours_customer, &one_line("Acme consulting", "10.00")).await;

    for path in [
        format!("/v1/invoices/{theirs}/pdf"),
        format!("/v1/invoices/{theirs}/html"),
        format!("/v1/credit_notes/{their_note}/pdf"),
        format!("/v1/credit_notes/{their_note}/html"),
        format!("/v1/credit_notes/{theirs}/pdf"),
        format!("/v1/credit_notes/{}/html", Uuid::new_v4()),
        "/v1/invoices/not-a-uuid/pdf".to_string(),
        "/v1/invoices/not-a-uuid/html".to_string(),
        "/v1/credit_notes/12345/pdf".to_string(),
    ] {
        let (status, _, body) = get(&app, &path, Some(&app.key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{path}: {}", text(&body)));
        assert_eq!(body["code"], "not_found", "{path}: {body}");
        assert_eq!(body["http_status_code"], 404, "{path}: {body}");
        assert!(!body.to_string().contains("Beta"), "{body}");
    }
    for path in [format!("/v1/invoices/{ours}/pdf"), format!("/v1/invoices/{ours}/html")] {
        let (status, _, body) = get(&app, &path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(!text(&body).contains("Acme consulting"));
        let (status, _, _) = get(&app, &path, Some("bg_not_a_real_key")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        // The same id with the owner's key opens.
        let (status, _, _) = get(&app, &path, Some(&app.key)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

/// Line i (1 to 100) charges 1 × (1.01 × i): 1.01, 2.02, ..., 100 × 1.01 =
/// 101.00. No tax (the customer has no address) and no discount: subtotal =
/// total = 1.01 × (1 + ... + 100) = 1.01 × 5050 = 5100.50.
#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_line_invoice_spans_pages_and_prints_every_line() {
    let app = TestApp::new().await;
    let customer = plain_customer_as(&app, &app.key.clone(), "bulk", "Bulk Buyer").await;
    let amount = |i: u32| Decimal::from(i) * "1.01".parse::<Decimal>().unwrap();
    let lines: Vec<(String, String, String)> = (1..=100)
        .map(|i| (format!("Item {i:03}"), "1".to_string(), format!("{:.2}", amount(i))))
        .collect();
    let invoice = one_off_as(&app, &app.key, &customer, &lines).await;
    let number = finalize_as(&app, &app.key, &invoice).await;

    let (status, _, body) = get(&app, &format!("/v1/invoices/{invoice}/pdf"), Some(&app.key)).await;
    assert_eq!(status, StatusCode::OK);
    let pdf = pdf_to_text(&body);
    let pages = pdf.split('\u{c}').filter(|p| !p.trim().is_empty()).count();
    assert!(pages >= 2, "{pages} pages:\n{pdf}");
    assert!(pdf.contains(&format!("Page 1 of {pages}")), "{pdf}");
    assert!(pdf.contains(&format!("Page {pages} of {pages}")), "{pdf}");
    assert!(pdf.matches(&number).count() >= 1, "{pdf}");
    for i in 1..=100 {
        let figure = format!("{:.2}", amount(i));
        assert_eq!(
            row_after(&pdf, &format!("Item {i:03}")),
            ["1", figure.as_str(), figure.as_str()],
            "line {i}"
        );
    }
    assert_eq!(figure(&pdf, "Subtotal"), "5100.50");
    assert_eq!(figure(&pdf, "Total"), "5100.50");
    assert_eq!(figure(&pdf, "Amount due"), "5100.50");
    let answer = app.ok(INVOICE, json!({ "id": invoice })).await["invoice"].clone();
    assert_eq!(dec(&answer["total"]), "5100.50".parse::<Decimal>().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invoice_finalized_event_carries_a_link_that_opens_the_invoice() {
    let app = TestApp::new().await;
    let customer = plain_customer_as(&app, &app.key.clone(), "c1", "Initech").await;
    let invoice = one_off_as(&app, &app.key, &customer, &one_line("Consulting", "120.00")).await;
    let number = finalize_as(&app, &app.key, &invoice).await;
    let events = app
        .ok(
            "query($filter: WebhookEventFilterInput) {
                webhookEvents(filter: $filter, first: 10) { edges { node { type data } } } }",
            json!({ "filter": { "types": ["invoice.finalized"], "objectId": invoice } }),
        )
        .await;
    let edges = events["webhookEvents"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{events}");
    let url = edges[0]["node"]["data"]["hostedUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("no hostedUrl in {events}"));
    let (status, _, body) = get(&app, &path_of(url), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = text(&body);
    assert!(
        page.contains(&number) && page.contains("Consulting") && page.contains("EUR 120.00"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finalized_invoice_keeps_the_parties_it_was_issued_with_and_a_draft_shows_them_as_they_are() {
    let app = TestApp::new().await;
    let invoice = worked_invoice(&app, "Globex Trading GmbH").await;
    let customer = app
        .ok(
            "query($id: UUID!) { invoice(id: $id) { customer { id } } }",
            json!({ "id": invoice.id }),
        )
        .await["invoice"]["customer"]["id"]
        .clone();
    let draft = one_off_as(&app, &app.key, customer.as_str().unwrap(), &one_line("Extra", "1.00")).await;
    app.ok(
        "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { displayName } }",
        json!({ "input": { "displayName": "Renamed Holdings", "invoiceFooter": "New footer" } }),
    )
    .await;
    app.ok(
        "mutation($id: UUID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id } }",
        json!({ "id": customer, "input": { "name": "Globex Renamed", "taxId": "DE999" } }),
    )
    .await;

    let (_, _, body) = get(&app, &format!("/v1/invoices/{}/pdf", invoice.id), Some(&app.key)).await;
    let issued = pdf_to_text(&body);
    for kept in [TENANT_NAME, FOOTER, "Globex Trading GmbH", "Tax ID: DE123456789"] {
        assert!(issued.contains(kept), "{kept} missing:\n{issued}");
    }
    for changed in ["Renamed Holdings", "New footer", "Globex Renamed", "DE999"] {
        assert!(!issued.contains(changed), "{changed} on the issued invoice:\n{issued}");
    }
    let (_, _, body) = get(&app, &format!("/v1/invoices/{draft}/pdf"), Some(&app.key)).await;
    let current = pdf_to_text(&body);
    for changed in ["Renamed Holdings", "New footer", "Globex Renamed", "Tax ID: DE999"] {
        assert!(
            current.contains(changed),
            "{changed} missing from the draft:\n{current}"
        );
    }
}
