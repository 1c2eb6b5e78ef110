//! Stripe's side in tests: a localstripe server of the test's own on a
//! free loopback port (killed when dropped), billgraph served on a real
//! socket so localstripe's webhooks reach it, and the calls a frontend
//! makes to save a card.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use billgraph::db::tenants;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::python_env;
use crate::support::TestApp;

pub struct LocalStripe {
    child: Child,
    pub base: String,
    http: reqwest::Client,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub const KEY: &str = "sk_test_billgraph4242";

impl LocalStripe {
    /// Starts a fresh server and waits until it answers.
    pub async fn start() -> LocalStripe {
        let python = tokio::task::spawn_blocking(python_env::python).await.unwrap();
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "localstripe", "--from-scratch", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting localstripe");
        let stripe = LocalStripe {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: billgraph::outbound::client(Duration::from_secs(10)),
        };
        for _ in 0..300 {
            let answer = stripe
                .http
                .get(format!("{}/v1/customers", stripe.base))
                .bearer_auth(KEY)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return stripe;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("localstripe did not answer on {}", stripe.base);
    }

    pub async fn get(&self, path: &str) -> Value {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        answer.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// Sends every event, signed with `secret`, to `url`.
    pub async fn send_webhooks_to(&self, url: &str, secret: &str) {
        let answer = self
            .http
            .post(format!("{}/_config/webhooks/billgraph", self.base))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }

    /// What a frontend does with a setup session: create the card's
    /// PaymentMethod and confirm the SetupIntent with it. localstripe does
    /// not attach the card to the customer on confirmation as Stripe does,
    /// so the test attaches it as Stripe would.
    pub async fn save_card(&self, session: &Value, number: &str) -> String {
        let method = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        let pm = method["id"].as_str().unwrap().to_string();
        let seti = session["setupIntentId"].as_str().unwrap();
        let confirmed = self
            .post(
                &format!("/v1/setup_intents/{seti}/confirm"),
                &[
                    ("payment_method", &pm),
                    ("client_secret", session["clientSecret"].as_str().unwrap()),
                ],
            )
            .await;
        assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
        let customer = session["providerCustomerId"].as_str().unwrap();
        self.post(&format!("/v1/payment_methods/{pm}/attach"), &[("customer", customer)])
            .await;
        pm
    }
}

/// billgraph on a real loopback socket (for localstripe's webhooks); the
/// server task ends with the test's runtime.
pub async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = billgraph::build_app(app.state.clone());
    tokio::spawn(billgraph::http::server::serve(
        listener,
        router,
        Duration::from_secs(10),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

pub async fn tenant_id(app: &TestApp, name: &str) -> uuid::Uuid {
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    tenants::ensure_tenant(&mut conn, name).await.unwrap().id
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The number of rows `sql` (a `SELECT count(*) AS n ...` with one text
/// parameter) counts.
pub async fn count(app: &TestApp, sql: &str, param: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(&app.url).await.unwrap();
    diesel::sql_query(sql)
        .bind::<Text, _>(param)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .n
}

/// Waits until `sql` counts at least `want` rows (a webhook has arrived).
pub async fn wait_for_count(app: &TestApp, sql: &str, param: &str, want: i64) {
    for _ in 0..200 {
        if count(app, sql, param).await >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited in vain for {want} rows of {sql} ({param})");
}
