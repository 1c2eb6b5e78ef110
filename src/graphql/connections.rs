//! A request's connections. A GraphQL request may run a few statements at
//! once (one per relation of a level), but never more than its budget, so
//! one request cannot take the whole pool. Every statement runs in a future
//! the request's driver keeps polling ([`crate::graphql::batching`]) and
//! holds its connection only while it runs; nothing ever waits for a
//! connection while holding one that cannot make progress, so the pool
//! cannot deadlock however many aliases or levels a query has.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::AsyncPgConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::{DbConn, DbPool, connection};
use crate::error::AppResult;

pub struct RequestConnections {
    pool: DbPool,
    budget: Arc<Semaphore>,
    size: usize,
    heavy: HeavyStatements,
}

/// A pooled connection counted against the request's budget.
pub struct RequestConn {
    // Declared first: returned to the pool before the budget slot frees.
    conn: DbConn,
    _budget: OwnedSemaphorePermit,
}

impl RequestConnections {
    pub fn new(pool: DbPool, budget: usize, heavy: HeavyStatements) -> Self {
        RequestConnections {
            pool,
            budget: Arc::new(Semaphore::new(budget)),
            size: budget,
            heavy,
        }
    }

    /// How many statements the request may run at once.
    pub fn budget(&self) -> usize {
        self.size
    }

    /// Claims the parts a heavy batch runs as: up to `wanted` (and the
    /// budget) while no other heavy statement runs server-wide, else one.
    pub fn claim_heavy(&self, wanted: usize) -> HeavyClaim {
        self.heavy.claim(wanted.min(self.size))
    }

    /// Waits for a slot of the request's budget, then for the pool.
    pub async fn get(&self) -> AppResult<RequestConn> {
        let permit = self
            .budget
            .clone()
            .acquire_owned()
            .await
            .expect("the budget semaphore is never closed");
        let conn = connection(&self.pool).await?;
        Ok(RequestConn { conn, _budget: permit })
    }
}

/// The heavy statements running server-wide: those that keep one database
/// core busy for tens of milliseconds (usage aggregation). A batch may run
/// as several such statements side by side, each on a part of its keys:
/// on an idle database that divides its latency by the cores it uses. Under
/// load the cores are busy anyway, and each extra part only repeats the
/// statement's fixed work (planning the subtrees, the horizon, committing):
/// about 2.5 ms of database CPU per usage dashboard page, measured. So a
/// batch is split only while no other heavy statement runs.
#[derive(Clone, Default)]
pub struct HeavyStatements(Arc<AtomicUsize>);

impl HeavyStatements {
    /// `wanted` parts when nothing else heavy runs, else one; counted as
    /// running until the claim is dropped.
    pub fn claim(&self, wanted: usize) -> HeavyClaim {
        // Two batches claiming at the same instant may both split: the
        // rule only needs to hold under sustained load.
        let parts = if self.0.load(Ordering::Relaxed) == 0 {
            wanted.max(1)
        } else {
            1
        };
        self.0.fetch_add(parts, Ordering::Relaxed);
        HeavyClaim {
            running: self.0.clone(),
            parts,
        }
    }

    #[cfg(test)]
    fn running(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Heavy statements counted as running, until dropped.
pub struct HeavyClaim {
    running: Arc<AtomicUsize>,
    parts: usize,
}

impl HeavyClaim {
    /// How many statements the batch runs as.
    pub fn parts(&self) -> usize {
        self.parts
    }
}

impl Drop for HeavyClaim {
    fn drop(&mut self) {
        self.running.fetch_sub(self.parts, Ordering::Relaxed);
    }
}

impl Deref for RequestConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl DerefMut for RequestConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_only_while_nothing_else_heavy_runs() {
        let heavy = HeavyStatements::default();
        let first = heavy.claim(2);
        assert_eq!(first.parts(), 2);
        let second = heavy.claim(2);
        assert_eq!(second.parts(), 1, "the first batch's parts still run");
        assert_eq!(heavy.running(), 3);
        drop(first);
        assert_eq!(heavy.claim(2).parts(), 1, "the second batch still runs");
        drop(second);
        assert_eq!(heavy.running(), 0);
        assert_eq!(heavy.claim(2).parts(), 2);
        assert_eq!(heavy.claim(0).parts(), 1, "a batch runs as one statement at least");
    }
}
