//! A request's connections. A GraphQL request may run a few statements at
//! once (one per relation of a level), but never more than its budget, so
//! one request cannot take the whole pool. Every statement runs in a future
//! the request's driver keeps polling ([`crate::graphql::batching`]) and
//! holds its connection only while it runs; nothing ever waits for a
//! connection while holding one that cannot make progress, so the pool
//! cannot deadlock however many aliases or levels a query has.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::{DbConn, DbPool, connection};
use crate::error::AppResult;

pub struct RequestConnections {
    pool: DbPool,
    budget: Arc<Semaphore>,
    size: usize,
}

/// A pooled connection counted against the request's budget.
pub struct RequestConn {
    // Declared first: returned to the pool before the budget slot frees.
    conn: DbConn,
    _budget: OwnedSemaphorePermit,
}

impl RequestConnections {
    pub fn new(pool: DbPool, budget: usize) -> Self {
        RequestConnections {
            pool,
            budget: Arc::new(Semaphore::new(budget)),
            size: budget,
        }
    }

    /// How many statements the request may run at once.
    pub fn budget(&self) -> usize {
        self.size
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
