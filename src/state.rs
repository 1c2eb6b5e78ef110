use std::sync::Arc;

use crate::config::Config;
use crate::db::{DbPool, StatementCounter};

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub config: Arc<Config>,
    /// Statements run by the pool's connections, for tests and the benchmark.
    pub statements: StatementCounter,
}
