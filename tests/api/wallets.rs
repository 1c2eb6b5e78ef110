//! Wallets through the API: the ledger and the balance always agree, top-ups
//! and debits are idempotent, concurrent debits never overdraw, credits are
//! spent soonest-expiring first and expire, invoices are paid and refunded
//! lot by lot, inputs are checked field by field, and tenants are isolated.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use billgraph::billing::wallets::{expire_due_lots, pay_invoice, refund_invoice};
use billgraph::db::schema::wallet_lots;
use billgraph::db::tenants;
use billgraph::error::AppError;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Gql, TestApp};

const CREATE: &str = "mutation($input: CreateWalletInput!) { createWallet(input: $input) {
    id currency name conversionRate status creditBalance balance customer { id }
} }";
const TOP_UP: &str = "mutation($id: UUID!, $input: TopUpWalletInput!) { topUpWallet(walletId: $id, input: $input) {
    id walletId kind credits amount balanceAfter reason reference createdAt
} }";
const DEBIT: &str = "mutation($id: UUID!, $input: DebitWalletInput!) { debitWallet(walletId: $id, input: $input) {
    id walletId kind credits amount balanceAfter reason reference createdAt
} }";
const WALLET: &str = "query($id: UUID!) { wallet(id: $id) {
    id currency creditBalance balance status
    transactions(first: 100) { totalCount edges { cursor node { id kind credits amount balanceAfter reason reference } } }
} }";

fn d(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a decimal string, got {value}"))
        .parse()
        .unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn create_wallet(app: &TestApp, customer: &str, currency: &str, rate: &str) -> String {
    let input = json!({ "customerId": customer, "currency": currency, "name": "Credits", "conversionRate": rate });
    app.ok(CREATE, json!({ "input": input })).await["createWallet"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn top_up_as(app: &TestApp, key: &str, wallet: &str, input: Value) -> Gql {
    app.gql_as(Some(key), TOP_UP, json!({ "id": wallet, "input": input }))
        .await
}

async fn top_up(app: &TestApp, wallet: &str, credits: &str, idempotency_key: &str) -> Value {
    let input = json!({ "credits": credits, "idempotencyKey": idempotency_key });
    top_up_as(app, &app.key, wallet, input).await.data()["topUpWallet"].clone()
}

/// Tops up credits that expire `expires_in` from now.
async fn top_up_expiring(app: &TestApp, wallet: &str, credits: &str, key: &str, expires_in: Duration) -> Value {
    let input =
        json!({ "credits": credits, "idempotencyKey": key, "expiresAt": (Utc::now() + expires_in).to_rfc3339() });
    top_up_as(app, &app.key, wallet, input).await.data()["topUpWallet"].clone()
}

async fn debit_as(app: &TestApp, key: &str, wallet: &str, credits: &str, idempotency_key: &str) -> Gql {
    let input = json!({ "credits": credits, "reason": "MANUAL", "idempotencyKey": idempotency_key });
    app.gql_as(Some(key), DEBIT, json!({ "id": wallet, "input": input }))
        .await
}

async fn debit(app: &TestApp, wallet: &str, credits: &str, idempotency_key: &str) -> Value {
    debit_as(app, &app.key, wallet, credits, idempotency_key).await.data()["debitWallet"].clone()
}

async fn wallet(app: &TestApp, id: &str) -> Value {
    app.ok(WALLET, json!({ "id": id })).await["wallet"].clone()
}

/// The wallet's ledger, oldest entry first.
fn ledger(wallet: &Value) -> Vec<Value> {
    let mut entries: Vec<Value> = wallet["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    entries.reverse();
    entries
}

/// `(lot id, credits, remaining)` of a wallet's lots, in creation order.
async fn lots(app: &TestApp, wallet: &str) -> Vec<(Uuid, Decimal, Decimal)> {
    let mut conn = billgraph::db::connection(&app.state.pool).await.unwrap();
    wallet_lots::table
        .filter(wallet_lots::wallet_id.eq(Uuid::parse_str(wallet).unwrap()))
        .order(wallet_lots::id)
        .select((wallet_lots::id, wallet_lots::credits, wallet_lots::remaining))
        .load(&mut conn)
        .await
        .unwrap()
}

/// Checks the wallet's invariant and returns its credit balance: every
/// entry's balanceAfter follows from the one before, the last is the
/// cached balance, and the lots hold exactly that many credits.
async fn assert_ledger_adds_up(app: &TestApp, id: &str) -> Decimal {
    let wallet = wallet(app, id).await;
    let entries = ledger(&wallet);
    assert_eq!(wallet["transactions"]["totalCount"], entries.len(), "{wallet}");
    let mut running = Decimal::ZERO;
    for entry in &entries {
        let credits = d(&entry["credits"]);
        assert!(credits > Decimal::ZERO, "{entry}");
        match entry["kind"].as_str() {
            Some("CREDIT") => running += credits,
            Some("DEBIT") => running -= credits,
            other => panic!("kind {other:?}"),
        }
        assert_eq!(d(&entry["balanceAfter"]), running, "{entry}");
    }
    let balance = d(&wallet["creditBalance"]);
    assert_eq!(running, balance, "the ledger sums to the balance");
    let in_lots: Decimal = lots(app, id).await.iter().map(|l| l.2).sum();
    assert_eq!(in_lots, balance, "the lots hold the balance");
    balance
}

async fn tenant_id(app: &TestApp) -> Uuid {
    let mut conn = billgraph::db::connection(&app.state.pool).await.unwrap();
    tenants::ensure_tenant(&mut conn, "acme").await.unwrap().id
}

async fn pay(app: &TestApp, customer: &str, currency: &str, invoice: Uuid, due: &str) -> Decimal {
    let tenant = tenant_id(app).await;
    let customer = Uuid::parse_str(customer).unwrap();
    let currency = billgraph::domain::money::Currency::parse("currency", currency).unwrap();
    let mut conn = billgraph::db::connection(&app.state.pool).await.unwrap();
    conn.transaction::<_, AppError, _>(async |conn| {
        pay_invoice(conn, tenant, customer, currency, invoice, dec(due), Utc::now()).await
    })
    .await
    .unwrap()
}

async fn refund(app: &TestApp, invoice: Uuid) -> Decimal {
    let tenant = tenant_id(app).await;
    let mut conn = billgraph::db::connection(&app.state.pool).await.unwrap();
    conn.transaction::<_, AppError, _>(async |conn| refund_invoice(conn, tenant, invoice, Utc::now()).await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn top_ups_and_debits_keep_the_balance_and_the_ledger_in_agreement() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme-1", None).await;

    // 100 credits buy one dollar; amounts round half away from zero.
    let usd = app
        .ok(
            CREATE,
            json!({ "input": { "customerId": customer, "currency": "usd", "name": "  Prepaid  ", "conversionRate": "0.0100" } }),
        )
        .await["createWallet"]
        .clone();
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["name"], "Prepaid");
    assert_eq!(usd["conversionRate"], "0.01");
    assert_eq!(usd["status"], "ACTIVE");
    assert_eq!(d(&usd["creditBalance"]), Decimal::ZERO);
    assert_eq!(usd["balance"], "0.00");
    assert_eq!(usd["customer"]["id"], customer.as_str());
    let usd = usd["id"].as_str().unwrap().to_string();

    let credit = top_up(&app, &usd, "1000", "t-1").await;
    assert_eq!(
        (
            &credit["kind"],
            &credit["reason"],
            &credit["amount"],
            &credit["walletId"]
        ),
        (&json!("CREDIT"), &json!("TOP_UP"), &json!("10.00"), &json!(usd))
    );
    assert_eq!(d(&credit["credits"]), dec("1000"));
    assert_eq!(d(&credit["balanceAfter"]), dec("1000"));
    let spent = debit(&app, &usd, "250.5", "d-1").await;
    assert_eq!(
        (&spent["kind"], &spent["reason"], &spent["amount"]),
        (&json!("DEBIT"), &json!("MANUAL"), &json!("2.51"))
    );
    assert_eq!(d(&spent["balanceAfter"]), dec("749.5"));
    let shown = wallet(&app, &usd).await;
    assert_eq!(d(&shown["creditBalance"]), dec("749.5"));
    assert_eq!(shown["balance"], "7.50", "7.495 rounds up");
    assert_eq!(assert_ledger_adds_up(&app, &usd).await, dec("749.5"));

    // No minor unit: one credit is 1.5 yen.
    let jpy = create_wallet(&app, &customer, "JPY", "1.5").await;
    assert_eq!(top_up(&app, &jpy, "10", "t-1").await["amount"], "15");
    assert_eq!(
        debit(&app, &jpy, "3.3", "d-1").await["amount"],
        "5",
        "4.95 yen rounds to 5"
    );
    let shown = wallet(&app, &jpy).await;
    assert_eq!(shown["balance"], "10", "6.7 credits are 10.05 yen");
    assert_eq!(assert_ledger_adds_up(&app, &jpy).await, dec("6.7"));

    // Three decimals: 2000 credits buy one dinar.
    let kwd = create_wallet(&app, &customer, "KWD", "0.0005").await;
    assert_eq!(top_up(&app, &kwd, "1001", "t-1").await["amount"], "0.501");
    assert_eq!(debit(&app, &kwd, "0.000001", "d-1").await["amount"], "0.000");
    assert_eq!(wallet(&app, &kwd).await["balance"], "0.500");
    assert_eq!(assert_ledger_adds_up(&app, &kwd).await, dec("1000.999999"));

    // The ledger pages newest first with keyset cursors.
    for i in 0..3 {
        top_up(&app, &usd, "1", &format!("more-{i}")).await;
    }
    let page_query = "query($id: UUID!, $after: String) { wallet(id: $id) { transactions(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id balanceAfter } } } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app.ok(page_query, json!({ "id": usd, "after": after })).await["wallet"]["transactions"].clone();
        assert_eq!(page["totalCount"], 5);
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| d(&e["node"]["balanceAfter"])),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen,
        ["752.5", "751.5", "750.5", "749.5", "1000"].map(dec).to_vec(),
        "newest first, every entry once"
    );

    // The customer lists its wallets in creation order.
    let listed = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { wallets { id currency } } }",
            json!({ "id": customer }),
        )
        .await;
    let currencies: Vec<&str> = listed["customer"]["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["USD", "JPY", "KWD"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_never_moves_credits_twice() {
    let app = Arc::new(TestApp::new().await);
    let customer = app.create_customer("acme-1", None).await;
    let id = create_wallet(&app, &customer, "USD", "1").await;

    let funded = top_up(&app, &id, "100", "order-1").await;
    let again = top_up(&app, &id, "100.00", "order-1").await;
    assert_eq!(funded["id"], again["id"]);
    assert_eq!(d(&wallet(&app, &id).await["creditBalance"]), dec("100"));
    let input = json!({ "credits": "101", "idempotencyKey": "order-1" });
    top_up_as(&app, &app.key, &id, input)
        .await
        .assert_error("CONFLICT", None);

    let spent = debit(&app, &id, "30", "use-1").await;
    let again = debit(&app, &id, "30", "use-1").await;
    assert_eq!(spent["id"], again["id"]);
    assert_eq!(d(&wallet(&app, &id).await["creditBalance"]), dec("70"));
    debit_as(&app, &app.key, &id, "31", "use-1")
        .await
        .assert_error("CONFLICT", None);
    // A key belongs to one request, whatever its kind.
    debit_as(&app, &app.key, &id, "100", "order-1")
        .await
        .assert_error("CONFLICT", None);
    // Keys are per wallet.
    let other = create_wallet(&app, &customer, "USD", "1").await;
    assert_ne!(top_up(&app, &other, "100", "order-1").await["id"], funded["id"]);

    // Twenty identical requests at once credit once and all answer alike.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move { top_up(&app, &id, "5", "burst").await["id"].clone() })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(assert_ledger_adds_up(&app, &id).await, dec("75"));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_debits_never_overdraw() {
    let app = Arc::new(TestApp::new().await);
    let customer = app.create_customer("acme-1", None).await;
    let id = create_wallet(&app, &customer, "USD", "0.01").await;
    top_up(&app, &id, "100", "fund").await;

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move { debit_as(&app, &app.key, &id, "3", &format!("debit-{i}")).await })
        })
        .collect();
    let (mut succeeded, mut refused) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if response.body["errors"].is_array() {
            response.assert_error("INSUFFICIENT_FUNDS", None);
            refused += 1;
        } else {
            succeeded += 1;
        }
    }
    assert_eq!((succeeded, refused), (33, 17));
    assert_eq!(assert_ledger_adds_up(&app, &id).await, dec("1"));
    assert_eq!(wallet(&app, &id).await["transactions"]["totalCount"], 34);
}

#[tokio::test(flavor = "multi_thread")]
async fn credits_expiring_soonest_are_spent_first_and_the_rest_expire() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme-1", None).await;
    let id = create_wallet(&app, &customer, "USD", "0.01").await;
    top_up(&app, &id, "50", "forever").await;
    top_up_expiring(&app, &id, "50", "later", Duration::days(2)).await;
    top_up_expiring(&app, &id, "30", "soon", Duration::milliseconds(1500)).await;
    // Another wallet whose lot expires while a debit waits for it.
    let other = create_wallet(&app, &customer, "USD", "0.01").await;
    top_up(&app, &other, "10", "forever").await;
    top_up_expiring(&app, &other, "25", "soon", Duration::milliseconds(1500)).await;

    // The lot expiring soonest goes first, then the one expiring later.
    debit(&app, &id, "35", "spend").await;
    let remaining: Vec<Decimal> = lots(&app, &id).await.iter().map(|l| l.2).collect();
    assert_eq!(remaining, ["50", "45", "0"].map(dec).to_vec());
    debit(&app, &other, "5", "spend").await;
    let remaining: Vec<Decimal> = lots(&app, &other).await.iter().map(|l| l.2).collect();
    assert_eq!(remaining, ["10", "20"].map(dec).to_vec());
    let soon = lots(&app, &other).await[1].0;

    tokio::time::sleep(StdDuration::from_millis(1700)).await;

    // A debit expires the wallet's due lots first, under the same lock,
    // and cannot spend them.
    debit_as(&app, &app.key, &other, "11", "too-much")
        .await
        .assert_error("INSUFFICIENT_FUNDS", None);
    debit(&app, &other, "4", "after-expiry").await;
    let entries = ledger(&wallet(&app, &other).await);
    let tail: Vec<(&str, Decimal)> = entries[entries.len() - 2..]
        .iter()
        .map(|e| (e["reason"].as_str().unwrap(), d(&e["credits"])))
        .collect();
    assert_eq!(tail, [("EXPIRY", dec("20")), ("MANUAL", dec("4"))]);
    assert_eq!(entries[entries.len() - 2]["reference"], soon.to_string());
    assert_eq!(assert_ledger_adds_up(&app, &other).await, dec("6"));

    // The first wallet's expired lot was emptied by the debit: nothing to expire.
    let before = assert_ledger_adds_up(&app, &id).await;
    assert_eq!(expire_due_lots(&app.state.pool, Utc::now()).await.unwrap(), 0);
    assert_eq!(assert_ledger_adds_up(&app, &id).await, before);

    // A lot expiring unspent: the worker takes exactly its credits away.
    top_up_expiring(&app, &id, "12.5", "brief", Duration::milliseconds(1000)).await;
    let brief = lots(&app, &id).await.last().unwrap().0;
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert_eq!(expire_due_lots(&app.state.pool, Utc::now()).await.unwrap(), 1);
    assert_eq!(assert_ledger_adds_up(&app, &id).await, before);
    let last = ledger(&wallet(&app, &id).await).pop().unwrap();
    assert_eq!(
        (&last["kind"], &last["reason"], &last["reference"], &last["amount"]),
        (
            &json!("DEBIT"),
            &json!("EXPIRY"),
            &json!(brief.to_string()),
            &json!("0.13")
        )
    );
    assert_eq!(d(&last["credits"]), dec("12.5"));
    assert_eq!(
        expire_due_lots(&app.state.pool, Utc::now()).await.unwrap(),
        0,
        "expired once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wallets_pay_invoices_in_whole_cents_and_refunds_restore_the_lots() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme-1", None).await;
    // 500 credits worth 5.00, then 1000 credits worth 70.00.
    let cheap = create_wallet(&app, &customer, "USD", "0.01").await;
    top_up(&app, &cheap, "500", "fund").await;
    let dear = create_wallet(&app, &customer, "USD", "0.07").await;
    top_up(&app, &dear, "400", "fund-a").await;
    top_up_expiring(&app, &dear, "600", "fund-b", Duration::days(30)).await;
    let euros = create_wallet(&app, &customer, "EUR", "1").await;
    top_up(&app, &euros, "1000", "fund").await;

    // The older wallet pays first; the newer pays the rest, 7.34 / 0.07 =
    // 104.857142... credits rounded up, from its soonest-expiring lot.
    let first = Uuid::now_v7();
    assert_eq!(pay(&app, &customer, "USD", first, "12.34").await.to_string(), "12.34");
    assert_eq!(assert_ledger_adds_up(&app, &cheap).await, Decimal::ZERO);
    assert_eq!(assert_ledger_adds_up(&app, &dear).await, dec("895.142857"));
    let dear_lots: Vec<Decimal> = lots(&app, &dear).await.iter().map(|l| l.2).collect();
    assert_eq!(dear_lots, ["400", "495.142857"].map(dec).to_vec());
    let payment = ledger(&wallet(&app, &dear).await).pop().unwrap();
    assert_eq!(
        (
            &payment["kind"],
            &payment["reason"],
            &payment["reference"],
            &payment["amount"]
        ),
        (
            &json!("DEBIT"),
            &json!("INVOICE_PAYMENT"),
            &json!(first.to_string()),
            &json!("7.34")
        )
    );
    assert_eq!(d(&payment["credits"]), dec("104.857143"));
    assert_eq!(
        assert_ledger_adds_up(&app, &euros).await,
        dec("1000"),
        "other currencies pay nothing"
    );

    // Short: 895.142857 credits are worth 62.659... and pay 62.65.
    let second = Uuid::now_v7();
    assert_eq!(pay(&app, &customer, "USD", second, "100.00").await.to_string(), "62.65");
    assert_eq!(assert_ledger_adds_up(&app, &dear).await, dec("0.142857"));
    assert_eq!(
        pay(&app, &customer, "USD", Uuid::now_v7(), "5.00").await.to_string(),
        "0.00"
    );

    // Refunds put the credits back where they came from, once.
    assert_eq!(refund(&app, second).await.to_string(), "62.65");
    assert_eq!(refund(&app, second).await, Decimal::ZERO);
    assert_eq!(assert_ledger_adds_up(&app, &dear).await, dec("895.142857"));
    assert_eq!(refund(&app, first).await.to_string(), "12.34");
    assert_eq!(refund(&app, first).await, Decimal::ZERO);
    for id in [&cheap, &dear] {
        assert_ledger_adds_up(&app, id).await;
        for (lot, credits, remaining) in lots(&app, id).await {
            assert_eq!(credits, remaining, "lot {lot} is whole again");
        }
    }
    let refund_entry = ledger(&wallet(&app, &cheap).await).pop().unwrap();
    assert_eq!(
        (
            &refund_entry["kind"],
            &refund_entry["reason"],
            &refund_entry["reference"],
            &refund_entry["amount"]
        ),
        (
            &json!("CREDIT"),
            &json!("VOID_REFUND"),
            &json!(first.to_string()),
            &json!("5.00")
        )
    );
    assert_eq!(
        refund(&app, Uuid::now_v7()).await,
        Decimal::ZERO,
        "nothing paid, nothing refunded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_inputs_name_their_field() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme-1", None).await;
    let create = |input: Value| {
        let app = &app;
        async move { app.gql(CREATE, json!({ "input": input })).await }
    };
    let base = json!({ "customerId": customer, "currency": "USD", "name": "Credits" });
    let with = |field: &str, value: Value| {
        let mut input = base.clone();
        input[field] = value;
        input
    };
    create(with("currency", json!("XXX")))
        .await
        .assert_error("VALIDATION", Some("input.currency"));
    create(with("conversionRate", json!("0")))
        .await
        .assert_error("VALIDATION", Some("input.conversionRate"));
    create(with("conversionRate", json!("0.0000000000001")))
        .await
        .assert_error("VALIDATION", Some("input.conversionRate"));
    create(with("name", json!("  ")))
        .await
        .assert_error("VALIDATION", Some("input.name"));
    create(with("name", json!("x".repeat(201))))
        .await
        .assert_error("VALIDATION", Some("input.name"));
    create(with("customerId", json!(Uuid::now_v7())))
        .await
        .assert_error("NOT_FOUND", None);
    let defaults = app.ok(CREATE, json!({ "input": base })).await["createWallet"].clone();
    assert_eq!(defaults["conversionRate"], "1");
    let id = defaults["id"].as_str().unwrap().to_string();

    let top_up_with = |input: Value| top_up_as(&app, &app.key, &id, input);
    for credits in ["0", "-5", "0.0000001", "1000000000000001"] {
        top_up_with(json!({ "credits": credits, "idempotencyKey": "k" }))
            .await
            .assert_error("VALIDATION", Some("input.credits"));
    }
    let past = (Utc::now() - Duration::seconds(1)).to_rfc3339();
    top_up_with(json!({ "credits": "1", "idempotencyKey": "k", "expiresAt": past }))
        .await
        .assert_error("VALIDATION", Some("input.expiresAt"));
    for key in ["", "   ", &"k".repeat(256)] {
        top_up_with(json!({ "credits": "1", "idempotencyKey": key }))
            .await
            .assert_error("VALIDATION", Some("input.idempotencyKey"));
    }
    for credits in ["0", "-1", "1.1234567"] {
        debit_as(&app, &app.key, &id, credits, "k")
            .await
            .assert_error("VALIDATION", Some("input.credits"));
    }
    debit_as(&app, &app.key, &id, "1", "")
        .await
        .assert_error("VALIDATION", Some("input.idempotencyKey"));
    let refused = app
        .gql(
            DEBIT,
            json!({ "id": id, "input": { "credits": "1", "reason": "EXPIRY", "idempotencyKey": "k" } }),
        )
        .await;
    refused.assert_error("VALIDATION", None);
    let free = json!({ "credits": "2", "kind": "FREE", "idempotencyKey": "gift" });
    assert_eq!(top_up_with(free).await.data()["topUpWallet"]["reason"], "TOP_UP");
    debit_as(&app, &app.key, &id, "3", "k")
        .await
        .assert_error("INSUFFICIENT_FUNDS", None);
    top_up_as(
        &app,
        &app.key,
        &Uuid::now_v7().to_string(),
        json!({ "credits": "1", "idempotencyKey": "k" }),
    )
    .await
    .assert_error("NOT_FOUND", None);

    // A closed wallet takes nothing in and gives nothing out.
    app.ok(
        "mutation($id: UUID!) { closeWallet(id: $id, forfeitCredits: true) { status } }",
        json!({ "id": id }),
    )
    .await;
    top_up_with(json!({ "credits": "1", "idempotencyKey": "late" }))
        .await
        .assert_error("CONFLICT", None);
    debit_as(&app, &app.key, &id, "1", "late")
        .await
        .assert_error("CONFLICT", None);
    assert_eq!(wallet(&app, &id).await["status"], "CLOSED");

    // Archived customers get no new wallets.
    app.ok(
        "mutation($id: UUID!) { archiveCustomer(id: $id) { id } }",
        json!({ "id": customer }),
    )
    .await;
    create(base.clone()).await.assert_error("CONFLICT", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_cannot_see_or_touch_our_wallets() {
    let app = TestApp::new().await;
    let customer = app.create_customer("acme-1", None).await;
    let id = create_wallet(&app, &customer, "USD", "1").await;
    top_up(&app, &id, "10", "fund").await;
    let other = app.create_key("other-tenant").await;
    let missing = Uuid::now_v7().to_string();

    let foreign = app.gql_as(Some(&other), WALLET, json!({ "id": id })).await;
    let absent = app.gql_as(Some(&other), WALLET, json!({ "id": missing })).await;
    foreign.assert_error("NOT_FOUND", None);
    assert_eq!(
        foreign.body["errors"][0]["message"],
        absent.body["errors"][0]["message"]
    );

    let input = json!({ "credits": "5", "idempotencyKey": "steal" });
    top_up_as(&app, &other, &id, input)
        .await
        .assert_error("NOT_FOUND", None);
    debit_as(&app, &other, &id, "5", "steal")
        .await
        .assert_error("NOT_FOUND", None);
    let input = json!({ "customerId": customer, "currency": "USD", "name": "Mine now" });
    app.gql_as(Some(&other), CREATE, json!({ "input": input }))
        .await
        .assert_error("NOT_FOUND", None);

    assert_eq!(assert_ledger_adds_up(&app, &id).await, dec("10"));
    let listed = app
        .ok(
            "query($id: UUID!) { customer(id: $id) { wallets { id } } }",
            json!({ "id": customer }),
        )
        .await;
    assert_eq!(listed["customer"]["wallets"], json!([{ "id": id }]));
}

#[tokio::test(flavor = "multi_thread")]
async fn wallets_and_ledgers_of_a_page_of_customers_cost_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    for i in 0..12 {
        let customer = app.create_customer(&format!("c-{i}"), None).await;
        let id = create_wallet(&app, &customer, "USD", "0.01").await;
        top_up(&app, &id, "100", "a").await;
        debit(&app, &id, "1", "b").await;
    }
    let query = "query($first: Int!) { customers(first: $first) { edges { node { id
        wallets { id balance transactions(first: 5) { totalCount edges { node { id reason } } } }
    } } } }";
    let mut costs = Vec::new();
    for first in [2, 12] {
        let before = app.statements();
        let data = app.ok(query, json!({ "first": first })).await;
        costs.push(app.statements() - before);
        for edge in data["customers"]["edges"].as_array().unwrap() {
            let wallet = &edge["node"]["wallets"][0];
            assert_eq!(wallet["balance"], "0.99");
            assert_eq!(wallet["transactions"]["totalCount"], 2);
        }
    }
    assert_eq!(costs[0], costs[1], "statements grew with the page size: {costs:?}");
}
