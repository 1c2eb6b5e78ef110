use std::sync::Arc;

use crate::config::Config;
use crate::db::{self, DbPool, StatementCounter};
use crate::graphql::connections::HeavyStatements;
use crate::hosted_links::HostedLinks;
use crate::http::admission::Admission;
use crate::secrets::SecretBox;

/// Connections kept for API key lookups, so authentication never queues
/// behind the requests it admits.
const AUTH_POOL_SIZE: usize = 2;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    /// A small pool of its own for API key lookups.
    pub auth_pool: DbPool,
    pub config: Arc<Config>,
    /// Statements run by the pool's connections, for tests and the benchmark.
    pub statements: StatementCounter,
    /// Each tenant's running and queued requests.
    pub admission: Arc<Admission>,
    /// The heavy statements running, which decide whether a batch splits.
    pub heavy_statements: HeavyStatements,
    /// Seals and opens the secrets stored in the database.
    pub secrets: SecretBox,
    /// Makes and opens hosted document links.
    pub links: HostedLinks,
    /// The dev tenant's key, written into the GraphiQL page; set only when
    /// the server runs its private cluster.
    pub dev_api_key: Option<String>,
}

impl AppState {
    /// Opens the pools for the database at `url`.
    pub fn connect(config: Config, url: &str, statements: StatementCounter) -> anyhow::Result<Self> {
        // A zero wait would turn checkouts into non-blocking tries.
        let wait = config.limits.request_timeout.max(std::time::Duration::from_secs(1));
        let pool = db::build_pool(url, config.db_pool_size, wait, statements.clone())?;
        let auth_pool = db::build_pool(url, AUTH_POOL_SIZE, wait, statements.clone())?;
        let secrets = SecretBox::for_config(&config)?;
        Ok(AppState {
            links: HostedLinks::new(&secrets, &config.documents),
            secrets,
            pool,
            auth_pool,
            admission: Arc::new(Admission::new(config.sharing)),
            heavy_statements: HeavyStatements::default(),
            config: Arc::new(config),
            statements,
            dev_api_key: None,
        })
    }

    /// The same pools, served with other settings.
    pub fn reconfigured(&self, config: Config) -> Self {
        AppState {
            links: HostedLinks::new(&self.secrets, &config.documents),
            admission: Arc::new(Admission::new(config.sharing)),
            config: Arc::new(config),
            ..self.clone()
        }
    }
}
