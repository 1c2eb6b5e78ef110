//! Usage of children, worked out by the statement that aggregates their
//! parents' subtrees.
//!
//! A dashboard asks for the usage of a page of subtrees and then of each
//! subtree's children. A child's subtree is part of its parent's, so the
//! statement that reads the parents' events and buckets already holds
//! everything the children's totals need; adding the children as keys costs
//! it only the per-key sums. Without this, a second statement would read
//! the same events and buckets again.
//!
//! The parents' loader promises its children's usage before its statement
//! runs. A child's `usage` field that finds such a promise for its parent
//! and the same query waits for it instead of asking the loader. Anything
//! not promised, or a promise that failed, goes to the loader as usual, so
//! the answers never depend on whether priming happened.
//!
//! Each parent primes its first `db::usage::PRIMED_CHILDREN` children in
//! the children connection's order (the largest page it serves by
//! default); children past them are loaded when asked.
//!
//! Only read-only requests prime: in a mutation, a write between the
//! parents' statement and a child's field could make a primed value stale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::Shared;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::graphql::usage::loaders::{UsageQuery, UsageTotals};

/// A customer's usage per meter, as the usage loader answers it.
pub type MeterTotals = Vec<(Uuid, UsageTotals)>;

/// Per child (keyed by its id), its subtree's usage.
type ChildUsage = Arc<HashMap<Uuid, MeterTotals>>;

/// The children's usage once the parents' statement has run.
type Promised = Shared<oneshot::Receiver<ChildUsage>>;

#[derive(Default)]
pub struct UsagePrimer {
    /// Per parent and query.
    promises: Mutex<HashMap<(Uuid, UsageQuery), Promised>>,
}

/// What the parents' loader keeps to keep its promise; dropping it unkept
/// sends the waiting children to the loader.
pub struct Promise(oneshot::Sender<ChildUsage>);

impl Promise {
    pub fn keep(self, usage: HashMap<Uuid, MeterTotals>) {
        let _ = self.0.send(Arc::new(usage));
    }
}

impl UsagePrimer {
    /// Promises the usage of the children of `parents` under `query`.
    pub fn promise(&self, parents: &[Uuid], query: &UsageQuery) -> Promise {
        let (sender, receiver) = oneshot::channel();
        let receiver = receiver.shared();
        let mut promises = self.promises.lock().unwrap_or_else(|e| e.into_inner());
        for parent in parents {
            promises.insert((*parent, query.clone()), receiver.clone());
        }
        Promise(sender)
    }

    /// The usage of `child` under `query`, when its parent's loader
    /// promised it; waits for that loader's statement.
    pub async fn primed(&self, parent: Uuid, child: Uuid, query: &UsageQuery) -> Option<MeterTotals> {
        let promised = {
            let promises = self.promises.lock().unwrap_or_else(|e| e.into_inner());
            promises.get(&(parent, query.clone())).cloned()
        }?;
        promised.await.ok()?.get(&child).cloned()
    }
}
