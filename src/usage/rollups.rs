//! The rollup worker: rolls up each tenant's usage a quarter hour at a time
//! once each has ended (`domain::usage::ROLLUP_SLICE`; past days at once),
//! so usage queries read a few bucket rows per meter and customer instead
//! of every event. Safe to run in several server processes at once: each
//! day is claimed under a row lock and rolled up once.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::usage_rollups::{self, lock_ingestion};
use crate::db::{DbPool, connection};
use crate::domain::usage::rollup_cutoff;
use crate::error::{AppError, AppResult};
use crate::telemetry::error_detail;

const DAYS_PER_ROUND: i64 = 100;
/// How long the first step may wait for the ingestion lock (new batches
/// queue behind it meanwhile), and how often it tries before leaving the
/// day to the next run.
const LOCK_WAIT_MS: u32 = 50;
const LOCK_TRIES: u32 = 20;

/// Rolls up every ended slice not rolled up yet; returns how many days were
/// completed.
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
            let to = cutoff.min(day.day + chrono::Duration::days(1));
            // Ingestion waits only for this one-row update; from its commit
            // on, ingestion adds the day's new events before `to` itself.
            if day.rolling_to < to {
                let mut started = false;
                for _ in 0..LOCK_TRIES {
                    // The transaction is rolled back when the lock was not had.
                    started = conn
                        .transaction(async |conn| {
                            if !usage_rollups::lock_ingestion_within(conn, day.tenant_id, LOCK_WAIT_MS).await? {
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            usage_rollups::start_slice(conn, day, to).await
                        })
                        .await
                        .map(|()| true)
                        .or_else(|e| match e {
                            diesel::result::Error::RollbackTransaction => Ok(false),
                            e => Err(AppError::from(e)),
                        })?;
                    if started {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(u64::from(LOCK_WAIT_MS))).await;
                }
                if !started {
                    tracing::warn!(day = %day.day, "ingestion kept the rollup waiting; will retry");
                    return Ok(rolled);
                }
            }
            // One transaction per slice: a crash loses at most the slice in
            // hand, which the next run rolls up again.
            let done = conn
                .transaction(async |conn| {
                    lock_ingestion(conn, day.tenant_id, false).await?;
                    usage_rollups::roll_up_slice(conn, day).await
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
            let started = Instant::now();
            match roll_up_ended_days(&pool, Utc::now()).await {
                Ok(0) => {}
                Ok(days) => {
                    let ms = started.elapsed().as_millis();
                    tracing::info!("usage rollup: {days} tenant-days completed in {ms} ms");
                }
                Err(e) => tracing::error!("usage rollup failed, will retry: {}", error_detail(&e)),
            }
        }
    });
}
