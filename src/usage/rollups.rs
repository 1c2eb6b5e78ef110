//! The rollup worker: rolls up each tenant's usage day once it has ended, so
//! usage queries read a few bucket rows per meter and customer instead of
//! every event. Safe to run in several server processes at once: each day is
//! claimed under a row lock and rolled up once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::usage_rollups::{self, lock_ingestion};
use crate::db::{DbPool, connection};
use crate::domain::usage::rollup_cutoff;
use crate::error::{AppError, AppResult};

const DAYS_PER_ROUND: i64 = 100;

/// Rolls up every ended day not rolled up yet; returns how many.
pub async fn roll_up_ended_days(pool: &DbPool, now: DateTime<Utc>) -> AppResult<usize> {
    let cutoff = rollup_cutoff(now);
    let mut rolled = 0;
    loop {
        let mut conn = connection(pool).await?;
        let days = usage_rollups::pending_days(&mut conn, cutoff, DAYS_PER_ROUND).await?;
        if days.is_empty() {
            return Ok(rolled);
        }
        for day in days {
            // Ingestion waits only for this one-row update; from its commit
            // on, ingestion adds the day's new events to the buckets itself.
            if !day.ingest_rolls_up {
                conn.transaction(async |conn| {
                    lock_ingestion(conn, day.tenant_id, true).await?;
                    usage_rollups::start_rolling_up(conn, day).await
                })
                .await
                .map_err(AppError::from)?;
            }
            // One transaction per day: a crash loses at most the day in hand,
            // which the next round rolls up again.
            let done = conn
                .transaction(async |conn| {
                    lock_ingestion(conn, day.tenant_id, false).await?;
                    usage_rollups::roll_up_day(conn, day).await
                })
                .await
                .map_err(AppError::from)?;
            rolled += usize::from(done);
        }
    }
}

/// Runs [`roll_up_ended_days`] every `interval` until the process ends.
pub fn spawn_worker(pool: DbPool, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            match roll_up_ended_days(&pool, Utc::now()).await {
                Ok(0) => {}
                Ok(days) => tracing::info!(days, "usage days rolled up"),
                Err(e) => tracing::error!(error = ?e, "rolling up usage failed; will retry"),
            }
        }
    });
}
