//! PostgreSQL access: the connection pool, migrations, and one module per
//! table group with its rows and queries. SQL lives here and nowhere else.

pub mod api_keys;
pub mod billed_fees;
pub mod coupons;
pub mod credit_balances;
pub mod credit_notes;
pub mod customers;
pub mod errors;
pub mod events;
pub mod generic_plan;
pub mod hierarchy;
pub mod integrations;
pub mod invoice_adjustments;
pub mod invoice_lists;
pub mod invoices;
pub mod json_text;
pub mod meters;
pub mod numeric;
pub mod outbox;
pub mod parties;
pub mod phases;
pub mod plans;
pub mod prepared;
pub mod providers;
pub mod schema;
pub mod statement_counter;
pub mod subscriptions;
pub mod tax_rates;
pub mod tenants;
pub mod usage;
pub mod usage_raw;
pub mod usage_rollups;
pub mod wallets;
pub mod webhooks;

use std::time::Duration;

use deadpool::managed::QueueMode;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncMigrationHarness};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

use crate::error::AppResult;
pub use statement_counter::StatementCounter;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;

/// The bounds of an id range when a page has no cursor: beyond every
/// UUIDv7 (whose version nibble is 7), so `id < COALESCE(after, MAX)`
/// stays an index condition instead of an `after IS NULL OR ...` filter.
pub(crate) const MAX_UUID: &str = "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid";
pub(crate) const MIN_UUID: &str = "'00000000-0000-0000-0000-000000000000'::uuid";

/// Applied to every pooled connection when it is opened. JIT is off: the
/// recursive statements' cost estimates run far above their real cost, and
/// compiling them took ~20 ms for statements that run in ~1 ms.
const SESSION_SETTINGS: &str = "SELECT set_config('work_mem', '64MB', false), set_config('jit', 'off', false)";
pub type DbConn = Object<AsyncPgConnection>;

/// Builds the pool. Connections are not checked on every checkout (that
/// would cost a round trip per request); broken ones are dropped on return.
/// A checkout waits at most `wait`: waiters queue in arrival order, and a
/// wait is bounded by the request's own timeout rather than a shorter one.
/// The connection returned last is handed out first: it has prepared the
/// statements just used and its server process has their catalog entries
/// cached, so a quiet server answers from warm connections instead of
/// preparing every statement again on each of the pool's connections in
/// turn.
pub fn build_pool(url: &str, size: usize, wait: Duration, counter: StatementCounter) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            // Usage aggregation sorts and hashes large sets; the default 4 MB
            // spills them to disk. Its plans look costly to the planner (row
            // estimates of CTEs and set-returning functions), which would
            // compile them with JIT for seconds to save milliseconds.
            diesel_async::RunQueryDsl::execute(diesel::sql_query(SESSION_SETTINGS), &mut conn)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            conn.set_instrumentation(counter);
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Ok(Pool::builder(manager)
        .max_size(size)
        .queue_mode(QueueMode::Lifo)
        .wait_timeout(Some(wait))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

pub async fn connection(pool: &DbPool) -> AppResult<DbConn> {
    Ok(pool.get().await?)
}

/// Applies every pending migration.
pub async fn run_migrations(url: &str) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(url).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut harness = AsyncMigrationHarness::new(conn);
        harness
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        Ok(())
    })
    .await?
}

/// Answers whether the database responds (for /readyz).
pub async fn ping(pool: &DbPool) -> bool {
    use diesel_async::RunQueryDsl;
    match pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.is_ok(),
        Err(_) => false,
    }
}
