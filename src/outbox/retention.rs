//! Retention: events are kept for the configured number of days (at least
//! 30), then deleted in bounded batches so no statement holds many locks
//! or runs long.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::outbox::delete_older_than;
use crate::db::{DbPool, connection};
use crate::error::AppResult;
use crate::telemetry::error_detail;

/// Events deleted per statement.
const BATCH: i64 = 1_000;

/// How often the retention worker looks for old events.
const INTERVAL: Duration = Duration::from_secs(3600);

/// The shortest retention the setting accepts: receivers and replays rely
/// on events being there for a month.
pub const MIN_RETENTION_DAYS: u32 = 30;

/// The instant before which events are deleted.
pub fn cutoff(now: DateTime<Utc>, retention_days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(retention_days.max(MIN_RETENTION_DAYS)))
}

/// Deletes every event older than `retention_days` at `now`, in batches;
/// returns how many.
pub async fn delete_expired(pool: &DbPool, retention_days: u32, now: DateTime<Utc>) -> AppResult<u64> {
    let before = cutoff(now, retention_days);
    let mut deleted = 0u64;
    loop {
        let mut conn = connection(pool).await?;
        let n = delete_older_than(&mut conn, before, BATCH).await?;
        deleted += n as u64;
        if (n as i64) < BATCH {
            return Ok(deleted);
        }
    }
}

/// Deletes expired events every hour until the process ends; failures are
/// logged and retried on the next tick.
pub fn spawn_worker(pool: DbPool, retention_days: u32) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match delete_expired(&pool, retention_days, Utc::now()).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!("outbox retention: {deleted} events older than {retention_days} days deleted")
                }
                Err(e) => tracing::error!("outbox retention failed, will retry: {}", error_detail(&e)),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_never_less_than_thirty_days_back() {
        let now = Utc::now();
        assert_eq!(cutoff(now, 30), now - chrono::Duration::days(30));
        assert_eq!(cutoff(now, 90), now - chrono::Duration::days(90));
        assert_eq!(cutoff(now, 1), now - chrono::Duration::days(30));
    }
}
