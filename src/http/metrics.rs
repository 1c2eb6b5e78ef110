//! GET /metrics: the Prometheus text exposition of the process's counters,
//! the database pools' use and the rollup lag. No authentication: it holds
//! no tenant data (no tenant ids, no paths, only route templates). Serve it
//! on BILLGRAPH_METRICS_LISTEN to keep it off the public listener.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Utc;

use crate::db::{DbPool, connection, usage_rollups};
use crate::domain::usage::{rollup_cutoff, rollup_lag};
use crate::state::AppState;
use crate::telemetry::metrics::{Gauges, METRICS, PoolUse};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape never waits long for the database: the lag is left out instead.
const LAG_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// /metrics alone, for its own listener (BILLGRAPH_METRICS_LISTEN).
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pools = vec![pool_use("main", &state.pool), pool_use("auth", &state.auth_pool)];
    let rollup_lag = tokio::time::timeout(LAG_QUERY_TIMEOUT, oldest_pending_rollup(&state.pool))
        .await
        .ok()
        .flatten()
        .map(|oldest| rollup_lag(Utc::now(), oldest));
    let page = METRICS.render(&Gauges { pools, rollup_lag });
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], page)
}

/// `Some(None)` when nothing waits; None when it could not be read.
async fn oldest_pending_rollup(pool: &DbPool) -> Option<Option<chrono::DateTime<Utc>>> {
    let mut conn = connection(pool).await.ok()?;
    match usage_rollups::oldest_pending(&mut conn, rollup_cutoff(Utc::now())).await {
        Ok(oldest) => Some(oldest),
        Err(e) => {
            tracing::warn!(error = %e, "reading the rollup lag failed");
            None
        }
    }
}

fn pool_use(name: &'static str, pool: &DbPool) -> PoolUse {
    let status = pool.status();
    PoolUse {
        name,
        max_size: status.max_size,
        size: status.size,
        in_use: status.size.saturating_sub(status.available),
        waiting: status.waiting,
    }
}
