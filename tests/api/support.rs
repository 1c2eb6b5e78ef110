//! Test support: one private PostgreSQL cluster per test run, a migrated
//! template database, and a fresh database cloned from it for every test.
//! Requests go through the real router, in-process, like a client's would.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use billgraph::AppState;
use billgraph::config::{Config, Sharing};
use billgraph::db::{self, StatementCounter, api_keys, tenants};
use billgraph::domain::api_key::ApiKey;
use billgraph::embedded_pg::{Durability, EmbeddedPostgres};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tower::ServiceExt;

const TEMPLATE_DB: &str = "billgraph_template";

static CLUSTER: OnceLock<EmbeddedPostgres> = OnceLock::new();
static TEMPLATE: OnceCell<()> = OnceCell::const_new();

fn cluster() -> &'static EmbeddedPostgres {
    CLUSTER.get_or_init(|| {
        remove_stale_test_clusters();
        let dir = std::env::temp_dir().join(format!("billgraph-test-{}", std::process::id()));
        EmbeddedPostgres::start(&dir, Durability::Ephemeral).expect("starting the test PostgreSQL cluster")
    })
}

/// Folders of earlier test runs whose process is gone.
fn remove_stale_test_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name.strip_prefix("billgraph-test-").and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn template_ready() {
    TEMPLATE
        .get_or_init(|| async {
            let pg = tokio::task::spawn_blocking(cluster).await.unwrap();
            pg.ensure_database(TEMPLATE_DB).await.expect("template database");
            db::run_migrations(&pg.url(TEMPLATE_DB))
                .await
                .expect("migrating the template");
        })
        .await;
}

async fn fresh_database() -> String {
    template_ready().await;
    let pg = cluster();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AsyncPgConnection::establish(&pg.url("postgres"))
        .await
        .expect("admin connection");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        .execute(&mut conn)
        .await
        .expect("cloning the template");
    pg.url(&name)
}

pub struct TestApp {
    router: Router,
    pub state: AppState,
    pub url: String,
    /// An API key of the tenant "acme".
    pub key: String,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let url = fresh_database().await;
        let mut config = Config::from_lookup(|_| None).expect("default config");
        config.database_url = Some(url.clone());
        config.db_pool_size = 8;
        // A fixed key: every instance of a test shares its sealed secrets.
        config.secret_key = Some(billgraph::secrets::TEST_KEY.to_string());
        config.sharing = Sharing::for_pool(config.db_pool_size);
        adjust(&mut config);
        let state = AppState::connect(config, &url, StatementCounter::default()).expect("pools");
        let router = billgraph::build_app(state.clone());
        let mut app = TestApp {
            router,
            state,
            url,
            key: String::new(),
        };
        app.key = app.create_key("acme").await;
        app
    }

    /// The same database and key, served with other settings.
    pub fn reconfigured(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = (*self.state.config).clone();
        adjust(&mut config);
        let state = self.state.reconfigured(config);
        let router = billgraph::build_app(state.clone());
        TestApp {
            router,
            state,
            url: self.url.clone(),
            key: self.key.clone(),
        }
    }

    /// A new API key for the tenant (created when missing).
    pub async fn create_key(&self, tenant: &str) -> String {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        let tenant = tenants::ensure_tenant(&mut conn, tenant).await.unwrap();
        let key = ApiKey::generate();
        api_keys::insert_api_key(&mut conn, tenant.id, &key, None)
            .await
            .unwrap();
        key.secret().to_string()
    }

    pub async fn revoke_key(&self, key: &str) {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        let hash = ApiKey::from_secret(key).hash();
        api_keys::revoke(&mut conn, api_keys::RevokeTarget::Hash(&hash))
            .await
            .unwrap();
    }

    /// Sends a raw HTTP request to the app.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let (status, _, body) = self.respond(request).await;
        (status, body)
    }

    /// Sends a raw HTTP request to the app; the answer with its headers.
    pub async fn respond(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, body.to_vec())
    }

    /// POSTs a GraphQL request with `key` (None: no key header).
    pub async fn gql_as(&self, key: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut builder = Request::post("/graphql").header("content-type", "application/json");
        if let Some(key) = key {
            builder = builder.header("x-api-key", key);
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let (status, bytes) = self.send(builder.body(Body::from(body)).unwrap()).await;
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON response {status}: {}", String::from_utf8_lossy(&bytes)));
        Gql { status, body }
    }

    /// As the "acme" tenant.
    pub async fn gql(&self, query: &str, variables: Value) -> Gql {
        self.gql_as(Some(&self.key), query, variables).await
    }

    /// As the "acme" tenant, expecting success; returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        self.gql(query, variables).await.data()
    }

    /// Runs a mutation that creates something, expecting success; returns
    /// the `id` of its `field`.
    pub async fn created_id(&self, mutation: &str, variables: Value, field: &str) -> String {
        self.ok(mutation, variables).await[field]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{field} has no id"))
            .to_owned()
    }

    /// Statements run by the app's pool so far.
    pub fn statements(&self) -> u64 {
        self.state.statements.get()
    }

    /// Creates a customer as `key`'s tenant and returns its id.
    pub async fn create_customer_as(&self, key: &str, external_id: &str, parent: Option<&str>) -> String {
        let data = self
            .gql_as(
                Some(key),
                "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
                json!({ "input": { "externalCustomerId": external_id, "name": format!("Customer {external_id}"), "parentCustomerId": parent } }),
            )
            .await
            .data();
        data["createCustomer"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_customer(&self, external_id: &str, parent: Option<&str>) -> String {
        self.create_customer_as(&self.key.clone(), external_id, parent).await
    }
}

pub struct Gql {
    pub status: StatusCode,
    pub body: Value,
}

impl Gql {
    pub fn data(&self) -> Value {
        assert!(
            self.body
                .get("errors")
                .is_none_or(|e| e.as_array().is_none_or(|a| a.is_empty())),
            "unexpected errors: {}",
            self.body
        );
        self.body["data"].clone()
    }

    /// The first error's extensions.code.
    pub fn code(&self) -> String {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body))
            .to_string()
    }

    pub fn field(&self) -> Option<String> {
        self.body["errors"][0]["extensions"]["field"]
            .as_str()
            .map(str::to_string)
    }

    pub fn message(&self) -> String {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Asserts the request failed with `code` (and, when given, `field`).
    pub fn assert_error(&self, code: &str, field: Option<&str>) {
        assert_eq!(self.code(), code, "{}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field().as_deref(), Some(field), "{}", self.body);
        }
    }
}

/// `d` before now, to the millisecond (what the API keeps of a timestamp).
pub fn ago(d: chrono::Duration) -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    (chrono::Utc::now() - d)
        .duration_trunc(chrono::Duration::milliseconds(1))
        .unwrap()
}
