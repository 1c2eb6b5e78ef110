//! Credit notes, refunds and the customer credit balance, as a finance team
//! uses them: a negative invoice becomes credit the next invoice spends,
//! credit notes cancel what is due first and refund the rest, and neither
//! racing requests nor retries ever credit more than an invoice charged.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{Gql, TestApp};

const ONE_OFF: &str = "mutation($c: UUID!, $cur: String!, $lines: [OneOffLineInput!]!) {
    createOneOffInvoice(customerId: $c, currency: $cur, lines: $lines) { id lineItems { id description amount } } }";
const FINALIZE: &str = "mutation($id: UUID!) { finalizeInvoice(id: $id) {
    id number status paymentStatus subtotal creditBalanceApplied creditBalanceGranted creditsApplied total amountDue
} }";
const INVOICE: &str = "query($id: UUID!) { invoice(id: $id) {
    status paymentStatus subtotal creditBalanceApplied creditsApplied total amountPaid
    creditNoteTotal amountCredited amountDue
    creditNotes { number total amountCredited refundedAmount refundTo }
} }";
const CREDIT: &str = "mutation($invoice: UUID!, $input: CreateCreditNoteInput!) {
    createCreditNote(invoiceId: $invoice, input: $input) {
        id number currency reason memo total amountCredited refundedAmount refundTo creditedToBalance
        invoice { id } customer { id } wallet { id }
        lines { amount lineItem { id description } }
        refunds { amount method reference }
    }
}";
const PAY: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { invoice { amountDue } } }";
const BALANCE: &str = "query($id: UUID!) { customer(id: $id) { creditBalance { currency amount } } }";

/// A draft one-off invoice of `(description, unit amount)` lines: its id
/// and its line ids, in order.
async fn draft(app: &TestApp, customer: &str, currency: &str, lines: &[(&str, &str)]) -> (String, Vec<String>) {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(description, amount)| json!({ "description": description, "unitAmount": amount }))
        .collect();
    let data = app
        .ok(ONE_OFF, json!({ "c": customer, "cur": currency, "lines": lines }))
        .await;
    let invoice = &data["createOneOffInvoice"];
    let line_ids = invoice["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    (invoice["id"].as_str().unwrap().to_string(), line_ids)
}

async fn finalize(app: &TestApp, invoice: &str) -> Value {
    app.ok(FINALIZE, json!({ "id": invoice })).await["finalizeInvoice"].clone()
}

/// A finalized one-off invoice: its id and line ids.
async fn finalized(app: &TestApp, customer: &str, currency: &str, lines: &[(&str, &str)]) -> (String, Vec<String>) {
    let (id, lines) = draft(app, customer, currency, lines).await;
    finalize(app, &id).await;
    (id, lines)
}

async fn invoice(app: &TestApp, id: &str) -> Value {
    app.ok(INVOICE, json!({ "id": id })).await["invoice"].clone()
}

async fn credit(app: &TestApp, invoice: &str, input: Value) -> Gql {
    app.gql(CREDIT, json!({ "invoice": invoice, "input": input })).await
}

async fn credited(app: &TestApp, invoice: &str, input: Value) -> Value {
    credit(app, invoice, input).await.data()["createCreditNote"].clone()
}

async fn pay(app: &TestApp, invoice: &str, amount: &str, key: &str) {
    app.ok(
        PAY,
        json!({ "input": { "invoiceId": invoice, "amount": amount, "method": "CARD", "idempotencyKey": key } }),
    )
    .await;
}

async fn credit_balance(app: &TestApp, customer: &str) -> Value {
    app.ok(BALANCE, json!({ "id": customer })).await["customer"]["creditBalance"].clone()
}

async fn wallet(app: &TestApp, customer: &str, currency: &str) -> String {
    app.ok(
        "mutation($c: UUID!, $cur: String!) { createWallet(input: { customerId: $c, currency: $cur, name: \"W\" }) { id } }",
        json!({ "c": customer, "cur": currency }),
    )
    .await["createWallet"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn top_up(app: &TestApp, wallet: &str, credits: &str) {
    app.ok(
        "mutation($w: UUID!, $c: Decimal!) { topUpWallet(walletId: $w, input: { credits: $c, idempotencyKey: $c }) { id } }",
        json!({ "w": wallet, "c": credits }),
    )
    .await;
}

/// Picks the named fields of an object, to compare a few at once.
fn pick(value: &Value, fields: &[&str]) -> Value {
    Value::Object(fields.iter().map(|f| (f.to_string(), value[*f].clone())).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_negative_invoice_becomes_credit_that_the_next_invoice_spends_before_wallets() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;

    // The defect: a line of -5.00 used to give a PAID invoice of 0.00 and lose the 5.00.
    let (negative, _) = draft(&app, &customer, "USD", &[("Goodwill", "-5.00")]).await;
    let first = finalize(&app, &negative).await;
    assert_eq!(
        pick(
            &first,
            &[
                "subtotal",
                "total",
                "amountDue",
                "paymentStatus",
                "creditBalanceGranted",
                "creditBalanceApplied"
            ]
        ),
        json!({ "subtotal": "-5.00", "total": "0.00", "amountDue": "0.00", "paymentStatus": "PAID",
                "creditBalanceGranted": "5.00", "creditBalanceApplied": "0.00" })
    );
    assert_eq!(
        credit_balance(&app, &customer).await,
        json!([{ "currency": "USD", "amount": "5.00" }])
    );

    // A balance in USD is not spent on an invoice in EUR.
    let (euros, _) = draft(&app, &customer, "EUR", &[("Other", "4.00")]).await;
    assert_eq!(finalize(&app, &euros).await["creditBalanceApplied"], "0.00");

    // The next USD invoice of 12.00 spends it: 12.00 - 5.00 = 7.00.
    let (next, _) = draft(&app, &customer, "USD", &[("Work", "12.00")]).await;
    let second = finalize(&app, &next).await;
    assert_eq!(
        pick(
            &second,
            &[
                "subtotal",
                "creditBalanceApplied",
                "creditsApplied",
                "total",
                "amountDue",
                "creditBalanceGranted"
            ]
        ),
        json!({ "subtotal": "12.00", "creditBalanceApplied": "5.00", "creditsApplied": "0.00", "total": "7.00",
                "amountDue": "7.00", "creditBalanceGranted": "0.00" })
    );
    assert_eq!(credit_balance(&app, &customer).await, json!([]));

    // The balance goes before wallets: -2.00 of balance, then a wallet of
    // 3 credits, on 10.00: 10.00 - 2.00 - 3.00 = 5.00 left to pay.
    let (small, _) = draft(&app, &customer, "USD", &[("Refund of a fee", "-2.00")]).await;
    finalize(&app, &small).await;
    let wallet = wallet(&app, &customer, "USD").await;
    top_up(&app, &wallet, "3").await;
    let (third, _) = draft(&app, &customer, "USD", &[("Work", "10.00")]).await;
    assert_eq!(
        pick(
            &finalize(&app, &third).await,
            &["creditBalanceApplied", "creditsApplied", "total"]
        ),
        json!({ "creditBalanceApplied": "2.00", "creditsApplied": "3.00", "total": "5.00" })
    );
    assert_eq!(credit_balance(&app, &customer).await, json!([]));

    // Voiding gives back what an invoice spent: the 12.00 invoice's 5.00 returns.
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": next }),
    )
    .await;
    assert_eq!(
        credit_balance(&app, &customer).await,
        json!([{ "currency": "USD", "amount": "5.00" }])
    );
    // ... and takes back what a negative invoice added, while it is still there.
    let (spender, _) = draft(&app, &customer, "USD", &[("Work", "1.00")]).await;
    finalize(&app, &spender).await;
    // 5.00 - 1.00 = 4.00 left: the -5.00 invoice's 5.00 can no longer be taken back.
    let refused = app
        .gql(
            "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
            json!({ "id": negative }),
        )
        .await;
    refused.assert_error("CONFLICT", None);
    assert!(refused.message().contains("has been spent"), "{}", refused.message());
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": spender }),
    )
    .await;
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": negative }),
    )
    .await;
    assert_eq!(credit_balance(&app, &customer).await, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_finalizations_never_spend_a_credit_balance_twice() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (negative, _) = draft(&app, &customer, "USD", &[("Goodwill", "-5.00")]).await;
    finalize(&app, &negative).await;
    let mut drafts = Vec::new();
    for i in 0..6 {
        drafts.push(draft(&app, &customer, "USD", &[(&format!("Work {i}"), "2.00")]).await.0);
    }
    let app = Arc::new(app);
    let tasks: Vec<_> = drafts
        .into_iter()
        .map(|id| {
            let app = app.clone();
            tokio::spawn(async move { finalize(&app, &id).await })
        })
        .collect();
    let mut applied = Vec::new();
    for task in tasks {
        applied.push(
            task.await.unwrap()["creditBalanceApplied"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    applied.sort();
    // 5.00 over invoices of 2.00, in whatever order they finalize: 2.00 + 2.00 + 1.00.
    assert_eq!(applied, ["0.00", "0.00", "0.00", "1.00", "2.00", "2.00"]);
    assert_eq!(credit_balance(&app, &customer).await, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn credit_notes_on_an_unpaid_invoice_lower_what_it_asks_for() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (id, lines) = finalized(&app, &customer, "USD", &[("Seats", "6.00"), ("Setup", "4.00")]).await;

    // Part of one line: 10.00 - 1.50 = 8.50 still due.
    let partial = credited(
        &app,
        &id,
        json!({ "lines": [{ "lineItemId": lines[1], "amount": "1.5" }], "reason": "ORDER_CHANGE", "memo": " Setup shortened " }),
    )
    .await;
    assert_eq!(
        pick(
            &partial,
            &[
                "number",
                "currency",
                "reason",
                "memo",
                "total",
                "amountCredited",
                "refundedAmount",
                "refundTo",
                "creditedToBalance"
            ]
        ),
        json!({ "number": "CN-000001", "currency": "USD", "reason": "ORDER_CHANGE", "memo": "Setup shortened",
                "total": "1.50", "amountCredited": "1.50", "refundedAmount": "0.00", "refundTo": null,
                "creditedToBalance": "0.00" })
    );
    assert_eq!(
        partial["lines"],
        json!([{ "amount": "1.50", "lineItem": { "id": lines[1], "description": "Setup" } }])
    );
    assert_eq!(
        (&partial["invoice"]["id"], &partial["customer"]["id"]),
        (&json!(id), &json!(customer))
    );
    let after = invoice(&app, &id).await;
    assert_eq!(
        pick(
            &after,
            &[
                "creditNoteTotal",
                "amountCredited",
                "amountDue",
                "paymentStatus",
                "total"
            ]
        ),
        json!({ "creditNoteTotal": "1.50", "amountCredited": "1.50", "amountDue": "8.50", "paymentStatus": "PENDING",
                "total": "10.00" })
    );
    let due = "query($id: UUID!) { customer(id: $id) { balanceDue { currency amount } } }";
    assert_eq!(
        app.ok(due, json!({ "id": customer })).await["customer"]["balanceDue"],
        json!([{ "currency": "USD", "amount": "8.50" }])
    );

    // The rest as an amount: 8.50, nothing left due, PAID without a payment.
    let full = credited(&app, &id, json!({ "amount": "8.50", "reason": "DUPLICATE" })).await;
    assert_eq!(
        pick(&full, &["number", "total", "amountCredited", "refundedAmount", "lines"]),
        json!({ "number": "CN-000002", "total": "8.50", "amountCredited": "8.50", "refundedAmount": "0.00", "lines": [] })
    );
    let after = invoice(&app, &id).await;
    assert_eq!(
        pick(
            &after,
            &[
                "creditNoteTotal",
                "amountCredited",
                "amountDue",
                "paymentStatus",
                "amountPaid"
            ]
        ),
        json!({ "creditNoteTotal": "10.00", "amountCredited": "10.00", "amountDue": "0.00", "paymentStatus": "PAID",
                "amountPaid": "0.00" })
    );
    assert_eq!(
        after["creditNotes"],
        json!([
            { "number": "CN-000001", "total": "1.50", "amountCredited": "1.50", "refundedAmount": "0.00", "refundTo": null },
            { "number": "CN-000002", "total": "8.50", "amountCredited": "8.50", "refundedAmount": "0.00", "refundTo": null },
        ])
    );
    assert_eq!(
        app.ok(due, json!({ "id": customer })).await["customer"]["balanceDue"],
        json!([])
    );

    // Nothing is left to credit, to pay, or to void.
    credit(
        &app,
        &id,
        json!({ "amount": "0.01", "reason": "OTHER", "refundTo": "CREDIT_BALANCE" }),
    )
    .await
    .assert_error("CONFLICT", None);
    app.gql(
        PAY,
        json!({ "input": { "invoiceId": id, "amount": "1", "method": "CARD", "idempotencyKey": "late" } }),
    )
    .await
    .assert_error("CONFLICT", None);
    let void = app
        .gql(
            "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    void.assert_error("CONFLICT", None);
    assert!(void.message().contains("credit notes"), "{}", void.message());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partly_paid_invoice_is_credited_unpaid_part_first_then_refunded_to_each_destination() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (id, _) = finalized(&app, &customer, "USD", &[("Work", "20.00")]).await;
    pay(&app, &id, "15.00", "p1").await;
    let wallet = wallet(&app, &customer, "USD").await;

    // 8.00 exceeds the 5.00 still due: the 3.00 already paid needs a destination.
    let missing = credit(
        &app,
        &id,
        json!({ "amount": "8.00", "reason": "PRODUCT_UNSATISFACTORY" }),
    )
    .await;
    missing.assert_error("VALIDATION", Some("input.refundTo"));
    assert!(missing.message().contains("3.00"), "{}", missing.message());

    // CREDIT_BALANCE: 5.00 cancels what is due, 8.00 - 5.00 = 3.00 goes to the balance.
    let to_balance = credited(
        &app,
        &id,
        json!({ "amount": "8.00", "reason": "PRODUCT_UNSATISFACTORY", "refundTo": "CREDIT_BALANCE" }),
    )
    .await;
    assert_eq!(
        pick(
            &to_balance,
            &[
                "total",
                "amountCredited",
                "refundedAmount",
                "refundTo",
                "creditedToBalance",
                "wallet"
            ]
        ),
        json!({ "total": "8.00", "amountCredited": "5.00", "refundedAmount": "3.00", "refundTo": "CREDIT_BALANCE",
                "creditedToBalance": "3.00", "wallet": null })
    );
    assert_eq!(
        pick(
            &invoice(&app, &id).await,
            &["amountDue", "paymentStatus", "amountCredited"]
        ),
        json!({ "amountDue": "0.00", "paymentStatus": "PAID", "amountCredited": "5.00" })
    );
    assert_eq!(
        credit_balance(&app, &customer).await,
        json!([{ "currency": "USD", "amount": "3.00" }])
    );

    // WALLET: nothing is due any more, so all 4.00 goes to the wallet as credits (rate 1).
    let to_wallet = credited(
        &app,
        &id,
        json!({ "amount": "4", "reason": "OTHER", "refundTo": "WALLET", "walletId": wallet }),
    )
    .await;
    assert_eq!(
        pick(
            &to_wallet,
            &[
                "total",
                "amountCredited",
                "refundedAmount",
                "refundTo",
                "creditedToBalance"
            ]
        ),
        json!({ "total": "4.00", "amountCredited": "0.00", "refundedAmount": "4.00", "refundTo": "WALLET",
                "creditedToBalance": "0.00" })
    );
    assert_eq!(to_wallet["wallet"]["id"], wallet.as_str());
    let ledger = app
        .ok(
            "query($w: UUID!) { wallet(id: $w) { balance transactions(first: 5) { edges { node {
                kind reason credits amount reference } } } } }",
            json!({ "w": wallet }),
        )
        .await["wallet"]
        .clone();
    assert_eq!(ledger["balance"], "4.00");
    assert_eq!(
        ledger["transactions"]["edges"][0]["node"],
        json!({ "kind": "CREDIT", "reason": "CREDIT_NOTE_REFUND", "credits": "4", "amount": "4.00",
                "reference": to_wallet["id"] })
    );

    // RECORD_REFUND: 6.00 to pay out by bank transfer.
    let recorded = credited(
        &app,
        &id,
        json!({ "amount": "6.00", "reason": "OTHER", "refundTo": "RECORD_REFUND",
                "refundMethod": "BANK_TRANSFER", "refundReference": "payout-77" }),
    )
    .await;
    assert_eq!(
        pick(&recorded, &["number", "refundedAmount", "refundTo", "refunds"]),
        json!({ "number": "CN-000003", "refundedAmount": "6.00", "refundTo": "RECORD_REFUND",
                "refunds": [{ "amount": "6.00", "method": "BANK_TRANSFER", "reference": "payout-77" }] })
    );

    // 8.00 + 4.00 + 6.00 = 18.00 credited: 2.00 left, 2.01 is too much.
    let over = credit(
        &app,
        &id,
        json!({ "amount": "2.01", "reason": "OTHER", "refundTo": "CREDIT_BALANCE" }),
    )
    .await;
    over.assert_error("VALIDATION", Some("input.amount"));
    assert!(over.message().contains("at most 2.00"), "{}", over.message());
    assert_eq!(
        pick(
            &invoice(&app, &id).await,
            &["creditNoteTotal", "amountCredited", "amountPaid", "amountDue", "total"]
        ),
        json!({ "creditNoteTotal": "18.00", "amountCredited": "5.00", "amountPaid": "15.00", "amountDue": "0.00",
                "total": "20.00" })
    );

    // Destinations are checked: each field with its destination, a wallet
    // of this customer in the invoice's currency.
    let other = app.create_customer("other", None).await;
    let theirs = self::wallet(&app, &other, "USD").await;
    let euros = self::wallet(&app, &customer, "EUR").await;
    let cases = [
        (json!({ "refundTo": "RECORD_REFUND" }), "input.refundMethod"),
        (json!({ "refundTo": "WALLET" }), "input.walletId"),
        (json!({ "refundTo": "WALLET", "walletId": theirs }), "input.walletId"),
        (json!({ "refundTo": "WALLET", "walletId": euros }), "input.walletId"),
        (
            json!({ "refundTo": "WALLET", "walletId": uuid::Uuid::now_v7().to_string() }),
            "input.walletId",
        ),
        (
            json!({ "refundTo": "CREDIT_BALANCE", "walletId": wallet }),
            "input.walletId",
        ),
        (
            json!({ "refundTo": "WALLET", "walletId": wallet, "refundMethod": "CARD" }),
            "input.refundMethod",
        ),
    ];
    for (destination, field) in cases {
        let mut input = json!({ "amount": "1.00", "reason": "OTHER" });
        input
            .as_object_mut()
            .unwrap()
            .extend(destination.as_object().unwrap().clone());
        credit(&app, &id, input).await.assert_error("VALIDATION", Some(field));
    }

    // The customer's credit notes, newest first, by pages.
    let page = "query($id: UUID!, $after: String) { customer(id: $id) { creditNotes(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { number invoice { id } } } } } }";
    let first = app.ok(page, json!({ "id": customer })).await["customer"]["creditNotes"].clone();
    assert_eq!(first["totalCount"], 3);
    let numbers = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["number"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(numbers(&first), ["CN-000003", "CN-000002"]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = app
        .ok(page, json!({ "id": customer, "after": first["pageInfo"]["endCursor"] }))
        .await["customer"]["creditNotes"]
        .clone();
    assert_eq!(numbers(&second), ["CN-000001"]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // The next invoice spends the 3.00 balance first, then the wallet's
    // 4.00 of refunded credits: 10.00 - 3.00 - 4.00 = 3.00.
    let (next, _) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
    assert_eq!(
        pick(
            &invoice(&app, &next).await,
            &["creditBalanceApplied", "creditsApplied", "total"]
        ),
        json!({ "creditBalanceApplied": "3.00", "creditsApplied": "4.00", "total": "3.00" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wallet_credits_spent_on_an_invoice_are_paid_money_a_credit_note_refunds() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let wallet = wallet(&app, &customer, "USD").await;
    top_up(&app, &wallet, "4").await;
    // The wallet pays 4.00 of 10.00 at finalization: 6.00 left to pay.
    let (id, _) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
    assert_eq!(
        pick(&invoice(&app, &id).await, &["creditsApplied", "total", "amountDue"]),
        json!({ "creditsApplied": "4.00", "total": "6.00", "amountDue": "6.00" })
    );
    // Crediting all 10.00: 6.00 cancels what is due, the 4.00 the wallet paid goes back to it.
    let note = credited(
        &app,
        &id,
        json!({ "amount": "10", "reason": "FRAUDULENT", "refundTo": "WALLET", "walletId": wallet }),
    )
    .await;
    assert_eq!(
        pick(&note, &["total", "amountCredited", "refundedAmount"]),
        json!({ "total": "10.00", "amountCredited": "6.00", "refundedAmount": "4.00" })
    );
    let balance = app
        .ok(
            "query($w: UUID!) { wallet(id: $w) { balance } }",
            json!({ "w": wallet }),
        )
        .await;
    assert_eq!(balance["wallet"]["balance"], "4.00");
    assert_eq!(
        pick(
            &invoice(&app, &id).await,
            &["amountDue", "paymentStatus", "creditNoteTotal"]
        ),
        json!({ "amountDue": "0.00", "paymentStatus": "PAID", "creditNoteTotal": "10.00" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_crediting_is_refused_by_line_and_in_total() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    // 6.00 + 4.00 - 3.00 = 7.00 charged.
    let (id, lines) = finalized(
        &app,
        &customer,
        "USD",
        &[("Seats", "6.00"), ("Setup", "4.00"), ("Discount", "-3.00")],
    )
    .await;
    let (elsewhere, other_lines) = finalized(&app, &customer, "USD", &[("Other", "1.00")]).await;
    let line = |i: usize, amount: &str| json!({ "lineItemId": lines[i], "amount": amount });
    let cases = [
        // A line's credit is at most its amount.
        (
            json!({ "lines": [line(0, "6.01")] }),
            "input.lines[0].amount",
            "must be at most 6.00",
        ),
        // A discount line cannot be credited.
        (
            json!({ "lines": [line(2, "1.00")] }),
            "input.lines[0].amount",
            "must be at most 0.00",
        ),
        // Each line within itself, but 6.00 + 4.00 = 10.00 is more than the 7.00 charged.
        (
            json!({ "lines": [line(0, "6.00"), line(1, "4.00")] }),
            "input.lines",
            "at most 7.00",
        ),
        (json!({ "amount": "7.01" }), "input.amount", "at most 7.00"),
        (
            json!({ "lines": [{ "lineItemId": other_lines[0], "amount": "1.00" }] }),
            "input.lines[0].lineItemId",
            "is not a line of this invoice",
        ),
        (
            json!({ "lines": [line(0, "1.00"), line(0, "1.00")] }),
            "input.lines[1].lineItemId",
            "already",
        ),
        (
            json!({ "lines": [line(0, "1.00")], "amount": "1.00" }),
            "input.amount",
            "either",
        ),
        (json!({}), "input.lines", "either"),
        (json!({ "lines": [] }), "input.lines", "between 1 and 100"),
        (json!({ "amount": "0" }), "input.amount", "greater than 0"),
        (json!({ "amount": "-1" }), "input.amount", "greater than 0"),
        (json!({ "amount": "0.001" }), "input.amount", "at most 2 decimal places"),
        (
            json!({ "lines": [line(1, "0.005")] }),
            "input.lines[0].amount",
            "at most 2 decimal places",
        ),
    ];
    for (mut input, field, message) in cases {
        input["reason"] = json!("OTHER");
        let refused = credit(&app, &id, input.clone()).await;
        refused.assert_error("VALIDATION", Some(field));
        assert!(refused.message().contains(message), "{input}: {}", refused.message());
    }
    assert_eq!(
        invoice(&app, &id).await["creditNoteTotal"],
        "0.00",
        "nothing half-written"
    );

    // Setup in full, then 0.01 more on it is beyond the line.
    credited(&app, &id, json!({ "lines": [line(1, "4.00")], "reason": "OTHER" })).await;
    credit(&app, &id, json!({ "lines": [line(1, "0.01")], "reason": "OTHER" }))
        .await
        .assert_error("VALIDATION", Some("input.lines[0].amount"));
    // 7.00 - 4.00 = 3.00 left of the invoice, whatever the lines would allow.
    credit(&app, &id, json!({ "lines": [line(0, "3.01")], "reason": "OTHER" }))
        .await
        .assert_error("VALIDATION", Some("input.lines"));
    credited(&app, &id, json!({ "lines": [line(0, "3.00")], "reason": "OTHER" })).await;
    credit(&app, &id, json!({ "amount": "0.01", "reason": "OTHER" }))
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(
        pick(&invoice(&app, &id).await, &["creditNoteTotal", "amountDue"]),
        json!({ "creditNoteTotal": "7.00", "amountDue": "0.00" })
    );
    assert_eq!(invoice(&app, &elsewhere).await["creditNoteTotal"], "0.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_credit_notes_never_exceed_the_invoice_and_keep_numbers_gapless() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (id, _) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { credit(&app, &id, json!({ "amount": "3.00", "reason": "DUPLICATE" })).await })
        })
        .collect();
    let mut numbers = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.body["errors"].is_array() {
            // Once 3 x 3.00 = 9.00 are credited, 1.00 is left: 3.00 is too much.
            answer.assert_error("VALIDATION", Some("input.amount"));
            refused += 1;
        } else {
            numbers.push(
                answer.data()["createCreditNote"]["number"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    numbers.sort();
    assert_eq!(numbers, ["CN-000001", "CN-000002", "CN-000003"]);
    assert_eq!(refused, 5);
    // 10.00 - 3 x 3.00 = 1.00 still due.
    assert_eq!(
        pick(
            &invoice(&app, &id).await,
            &["creditNoteTotal", "amountCredited", "amountDue"]
        ),
        json!({ "creditNoteTotal": "9.00", "amountCredited": "9.00", "amountDue": "1.00" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn amounts_are_whole_minor_units_in_jpy_and_kwd() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (yen, _) = finalized(&app, &customer, "JPY", &[("Work", "1000")]).await;
    let refused = credit(&app, &yen, json!({ "amount": "100.5", "reason": "OTHER" })).await;
    refused.assert_error("VALIDATION", Some("input.amount"));
    assert_eq!(refused.message(), "input.amount: must be a whole number of JPY");
    // 1000 - 300 = 700.
    let note = credited(&app, &yen, json!({ "amount": "300", "reason": "OTHER" })).await;
    assert_eq!(note["total"], "300");
    assert_eq!(invoice(&app, &yen).await["amountDue"], "700");

    let (dinars, lines) = finalized(&app, &customer, "KWD", &[("Work", "1.25")]).await;
    let refused = credit(
        &app,
        &dinars,
        json!({ "lines": [{ "lineItemId": lines[0], "amount": "0.1235" }], "reason": "OTHER" }),
    )
    .await;
    refused.assert_error("VALIDATION", Some("input.lines[0].amount"));
    assert_eq!(
        refused.message(),
        "input.lines[0].amount: must have at most 3 decimal places in KWD"
    );
    // 1.250 - 0.125 = 1.125.
    let note = credited(
        &app,
        &dinars,
        json!({ "lines": [{ "lineItemId": lines[0], "amount": "0.125" }], "reason": "OTHER" }),
    )
    .await;
    assert_eq!(
        (&note["total"], &note["lines"][0]["amount"]),
        (&json!("0.125"), &json!("0.125"))
    );
    assert_eq!(invoice(&app, &dinars).await["amountDue"], "1.125");
    // Pay 1.000 of the 1.125 due, then credit 0.500: 0.125 cancels what is
    // due, 0.500 - 0.125 = 0.375 goes to the KWD balance.
    pay(&app, &dinars, "1.000", "k1").await;
    let note = credited(
        &app,
        &dinars,
        json!({ "amount": "0.5", "reason": "OTHER", "refundTo": "CREDIT_BALANCE" }),
    )
    .await;
    assert_eq!(
        pick(&note, &["amountCredited", "refundedAmount"]),
        json!({ "amountCredited": "0.125", "refundedAmount": "0.375" })
    );
    assert_eq!(
        credit_balance(&app, &customer).await,
        json!([{ "currency": "KWD", "amount": "0.375" }])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_finalized_invoices_of_the_tenant_are_credited() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let input = json!({ "amount": "1.00", "reason": "OTHER" });

    let (open, _) = draft(&app, &customer, "USD", &[("Work", "5.00")]).await;
    let refused = credit(&app, &open, input.clone()).await;
    refused.assert_error("CONFLICT", None);
    assert!(refused.message().contains("DRAFT"), "{}", refused.message());

    let (voided, _) = finalized(&app, &customer, "USD", &[("Work", "5.00")]).await;
    app.ok(
        "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
        json!({ "id": voided }),
    )
    .await;
    let refused = credit(&app, &voided, input.clone()).await;
    refused.assert_error("CONFLICT", None);
    assert!(refused.message().contains("VOIDED"), "{}", refused.message());

    // An invoice with a payment is credited, never voided.
    let (paid, _) = finalized(&app, &customer, "USD", &[("Work", "5.00")]).await;
    pay(&app, &paid, "1.00", "p").await;
    let refused = app
        .gql(
            "mutation($id: UUID!) { voidInvoice(id: $id) { id } }",
            json!({ "id": paid }),
        )
        .await;
    refused.assert_error("CONFLICT", None);
    assert_eq!(
        refused.message(),
        "invoice has payments; issue a credit note (createCreditNote) instead"
    );
    let note = credited(&app, &paid, input.clone()).await;

    // Another tenant sees none of it.
    let other = app.create_key("globex").await;
    let theirs = app
        .gql_as(Some(&other), CREDIT, json!({ "invoice": paid, "input": input }))
        .await;
    theirs.assert_error("NOT_FOUND", None);
    app.gql_as(
        Some(&other),
        "query($id: UUID!) { creditNote(id: $id) { id } }",
        json!({ "id": note["id"] }),
    )
    .await
    .assert_error("NOT_FOUND", None);
    credit(&app, &uuid::Uuid::now_v7().to_string(), input.clone())
        .await
        .assert_error("NOT_FOUND", None);
    assert_eq!(invoice(&app, &paid).await["creditNoteTotal"], "1.00");
    // The other tenant's own numbering starts at 1.
    let mine = app
        .ok(
            "query($id: UUID!) { creditNote(id: $id) { number invoice { id } } }",
            json!({ "id": note["id"] }),
        )
        .await;
    assert_eq!(mine["creditNote"]["number"], "CN-000001");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_never_credits_twice() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme", None).await;
    let (id, _) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
    let input = json!({ "amount": "2.00", "reason": "OTHER", "idempotencyKey": "cn-1" });
    let first = credited(&app, &id, input.clone()).await;
    let again = credited(&app, &id, input).await;
    assert_eq!((&again["id"], &again["number"]), (&first["id"], &first["number"]));
    assert_eq!(invoice(&app, &id).await["creditNoteTotal"], "2.00");
    credit(
        &app,
        &id,
        json!({ "amount": "3.00", "reason": "OTHER", "idempotencyKey": "cn-1" }),
    )
    .await
    .assert_error("CONFLICT", None);
    let (other, _) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
    credit(
        &app,
        &other,
        json!({ "amount": "2.00", "reason": "OTHER", "idempotencyKey": "cn-1" }),
    )
    .await
    .assert_error("CONFLICT", None);
}

const CREDIT_PAGE: &str = "query($first: Int!) { customers(first: $first) { edges { node {
    id
    creditBalance { currency amount }
    creditNotes(first: 3) { totalCount edges { node { number refunds { amount } wallet { id } } } }
    invoices(first: 3) { edges { node {
        number amountDue creditNoteTotal
        creditNotes { number total lines { amount lineItem { id description } } refunds { method } invoice { number } }
    } } }
} } } }";

#[tokio::test(flavor = "multi_thread")]
async fn credit_notes_of_a_page_of_customers_cost_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    for i in 0..12 {
        let customer = app.create_customer(&format!("c-{i}"), None).await;
        let (id, lines) = finalized(&app, &customer, "USD", &[("Work", "10.00")]).await;
        pay(&app, &id, "8.00", &format!("p-{i}")).await;
        // 2.00 due: a line credit of 1.00, then 3.00 = 1.00 due + 2.00 to pay out.
        credited(
            &app,
            &id,
            json!({ "lines": [{ "lineItemId": lines[0], "amount": "1.00" }], "reason": "OTHER" }),
        )
        .await;
        credited(
            &app,
            &id,
            json!({ "amount": "3.00", "reason": "OTHER", "refundTo": "RECORD_REFUND", "refundMethod": "OFFLINE" }),
        )
        .await;
        // And 0.50 to the credit balance.
        credited(
            &app,
            &id,
            json!({ "amount": "0.50", "reason": "OTHER", "refundTo": "CREDIT_BALANCE" }),
        )
        .await;
    }
    let statements = async |first: usize| {
        let before = app.statements();
        let data = app.ok(CREDIT_PAGE, json!({ "first": first })).await;
        (app.statements() - before, data)
    };
    let (small, _) = statements(2).await;
    let (large, data) = statements(12).await;
    assert_eq!(
        small, large,
        "statements grew with the page: {small} for 2, {large} for 12"
    );
    assert!(large <= 12, "{large} statements");
    for edge in data["customers"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        assert_eq!(node["creditBalance"], json!([{ "currency": "USD", "amount": "0.50" }]));
        assert_eq!(node["creditNotes"]["totalCount"], 3);
        let invoice = &node["invoices"]["edges"][0]["node"];
        // 10.00 - 8.00 paid - 1.00 - 1.00 credited = 0.00 due.
        assert_eq!(
            pick(invoice, &["amountDue", "creditNoteTotal"]),
            json!({ "amountDue": "0.00", "creditNoteTotal": "4.50" })
        );
        let notes = invoice["creditNotes"].as_array().unwrap();
        assert_eq!(notes.len(), 3);
        assert_eq!(notes[0]["lines"][0]["lineItem"]["description"], "Work");
        assert_eq!(notes[1]["refunds"], json!([{ "method": "OFFLINE" }]));
        assert_eq!(notes[2]["invoice"]["number"], invoice["number"]);
    }
}
