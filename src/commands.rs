//! What the `billgraph` binary does: serve, migrate, bill, print the
//! schema, manage API keys. Each command finds its database the same way.

use std::time::Duration;

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::config::Config;
use crate::db::{self, StatementCounter, api_keys, tenants};
use crate::domain::api_key::ApiKey;
use crate::embedded_pg::{Durability, EmbeddedPostgres};
use crate::state::AppState;

const DATABASE_NAME: &str = "billgraph";
const DEV_TENANT: &str = "dev";

/// The database a command works on, with the private cluster when one runs.
pub struct Database {
    pub url: String,
    cluster: Option<EmbeddedPostgres>,
}

impl Database {
    /// Uses DATABASE_URL, or starts (or attaches to) the private cluster.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.database_url {
            return Ok(Database {
                url: url.clone(),
                cluster: None,
            });
        }
        let data_dir = config.data_dir.clone();
        let cluster =
            tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&data_dir, Durability::Durable)).await??;
        cluster.ensure_database(DATABASE_NAME).await?;
        tracing::info!(port = cluster.port(), data_dir = %config.data_dir.display(), "private PostgreSQL cluster running");
        Ok(Database {
            url: cluster.url(DATABASE_NAME),
            cluster: Some(cluster),
        })
    }

    /// Stops the private cluster if this process started it.
    pub async fn close(self) {
        if let Some(cluster) = self.cluster {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
        }
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let result = serve_on(&config, &database).await;
    database.close().await;
    result
}

async fn serve_on(config: &Config, database: &Database) -> anyhow::Result<()> {
    db::run_migrations(&database.url).await?;
    let statements = StatementCounter::default();
    let mut state = AppState::connect(config.clone(), &database.url, statements)?;
    if let Some(interval) = config.rollup_interval {
        crate::usage::rollups::spawn_worker(state.pool.clone(), interval);
    }
    if let Some(interval) = config.billing_interval {
        crate::billing::run::spawn_worker(state.pool.clone(), config.billing, state.links.clone(), interval);
    }
    crate::outbox::retention::spawn_worker(state.pool.clone(), config.event_retention_days);
    crate::webhooks::worker::spawn_worker(state.clone());
    if let Some(interval) = config.provider_interval {
        let settings = config.providers.clone();
        crate::providers::worker::spawn_worker(state.pool.clone(), state.secrets.clone(), settings, interval);
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "binding {} (set BILLGRAPH_LISTEN to use another address)",
            config.listen
        )
    })?;
    let addr = listener.local_addr()?;
    println!("billgraph listening on http://{addr}");
    println!("  GraphiQL:  http://{addr}/graphql  (asks for the API key, sent as X-API-Key)");
    let header_read_timeout = config.limits.header_read_timeout;
    if let Some(metrics_addr) = config.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("binding {metrics_addr} (BILLGRAPH_METRICS_LISTEN)"))?;
        println!("  metrics:   http://{}/metrics", metrics_listener.local_addr()?);
        let metrics_app = crate::http::metrics::router(state.clone());
        // Ends with the process; a scrape in flight at shutdown is simply cut.
        tokio::spawn(crate::http::server::serve(
            metrics_listener,
            metrics_app,
            header_read_timeout,
            std::future::pending(),
        ));
    } else {
        println!("  metrics:   http://{addr}/metrics");
    }
    if config.dev_tenant {
        let key = dev_api_key(config, &database.url).await?;
        println!("  dev API key (tenant \"{DEV_TENANT}\"): {key}");
        // A private cluster is a developer's own machine: GraphiQL may
        // offer the key. With a shared database it is never put in a page.
        if database.cluster.is_some() {
            state.dev_api_key = Some(key);
        }
    }
    crate::http::server::serve(
        listener,
        crate::build_app(state),
        header_read_timeout,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("in-flight requests finished; shutting down");
    Ok(())
}

/// The dev tenant's key: kept in the data folder so every start prints the
/// same key; a new one is made when the file is missing or the key revoked.
async fn dev_api_key(config: &Config, url: &str) -> anyhow::Result<String> {
    let path = config.data_dir.join("dev-api-key");
    let mut conn = AsyncPgConnection::establish(url).await?;
    let tenant = tenants::ensure_tenant(&mut conn, DEV_TENANT).await?;
    if let Ok(saved) = std::fs::read_to_string(&path) {
        let key = ApiKey::from_secret(&saved);
        if api_keys::tenant_for_key_hash(&mut conn, &key.hash()).await? == Some(tenant.id) {
            return Ok(key.secret().to_string());
        }
    }
    let key = ApiKey::generate();
    api_keys::insert_api_key(&mut conn, tenant.id, &key, Some("dev")).await?;
    std::fs::create_dir_all(&config.data_dir)?;
    write_private_file(&path, key.secret())?;
    Ok(key.secret().to_string())
}

pub(crate) fn write_private_file(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Bills the subscription boundaries up to `until` (default now), at most
/// BILLGRAPH_MAX_BOUNDARIES_PER_RUN per subscription, finalizes the drafts
/// whose grace is over and expires due wallet credits; safe to run beside
/// servers doing the same.
pub async fn bill(config: Config, until: Option<chrono::DateTime<chrono::Utc>>) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let result = bill_on(&config, &database, until).await;
    database.close().await;
    let summary = result?;
    println!(
        "billed {} boundaries: {} invoices created, {} finalized, {} found overdue, {} wallet credit expiries",
        summary.boundaries,
        summary.invoices_created,
        summary.invoices_finalized,
        summary.invoices_overdue,
        summary.credits_expired
    );
    if summary.subscriptions_deferred > 0 {
        println!(
            "{} subscriptions still have boundaries due; run again to continue",
            summary.subscriptions_deferred
        );
    }
    if summary.refused > 0 {
        println!(
            "{} boundaries or drafts refused: a charge exceeds the amount bound (see the log)",
            summary.refused
        );
    }
    Ok(())
}

async fn bill_on(
    config: &Config,
    database: &Database,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<crate::billing::run::RunSummary> {
    db::run_migrations(&database.url).await?;
    let pool = db::build_pool(&database.url, 2, Duration::from_secs(10), StatementCounter::default())?;
    let until = until.unwrap_or_else(chrono::Utc::now);
    let links =
        crate::hosted_links::HostedLinks::new(&crate::secrets::SecretBox::for_config(config)?, &config.documents);
    Ok(crate::billing::run::run(&pool, &config.billing, &links, until).await?)
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let result = db::run_migrations(&database.url).await;
    database.close().await;
    result?;
    println!("migrations applied");
    Ok(())
}

pub async fn create_api_key(config: Config, tenant_name: &str, label: Option<&str>) -> anyhow::Result<()> {
    let tenant_name = tenant_name.trim();
    if tenant_name.is_empty() || tenant_name.chars().count() > 100 {
        bail!("--tenant must be 1 to 100 characters");
    }
    let database = Database::open(&config).await?;
    let result = async {
        db::run_migrations(&database.url).await?;
        let mut conn = AsyncPgConnection::establish(&database.url).await?;
        let tenant = tenants::ensure_tenant(&mut conn, tenant_name).await?;
        let key = ApiKey::generate();
        let id = api_keys::insert_api_key(&mut conn, tenant.id, &key, label).await?;
        anyhow::Ok((tenant, key, id))
    }
    .await;
    database.close().await;
    let (tenant, key, id) = result?;
    println!("tenant: {} ({})", tenant.name, tenant.id);
    println!("key id: {id}");
    println!("api key: {}", key.secret());
    println!("Store the key now: only its hash is kept.");
    Ok(())
}

pub enum RevokeBy {
    Key(String),
    Id(Uuid),
}

pub async fn revoke_api_key(config: Config, by: RevokeBy) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let result = async {
        let mut conn = AsyncPgConnection::establish(&database.url).await?;
        let revoked = match &by {
            RevokeBy::Key(secret) => {
                let hash = ApiKey::from_secret(secret).hash();
                api_keys::revoke(&mut conn, api_keys::RevokeTarget::Hash(&hash)).await?
            }
            RevokeBy::Id(id) => api_keys::revoke(&mut conn, api_keys::RevokeTarget::Id(*id)).await?,
        };
        anyhow::Ok(revoked)
    }
    .await;
    database.close().await;
    match result? {
        0 => bail!("no live API key matched"),
        _ => println!("API key revoked"),
    }
    Ok(())
}

pub async fn list_api_keys(config: Config, tenant_name: &str) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let result = async {
        let mut conn = AsyncPgConnection::establish(&database.url).await?;
        anyhow::Ok(api_keys::list_live(&mut conn, tenant_name).await?)
    }
    .await;
    database.close().await;
    for (id, prefix, label, created) in result? {
        println!("{id}  {prefix}…  {}  {created}", label.unwrap_or_default());
    }
    Ok(())
}
