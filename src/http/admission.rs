//! Fair sharing between tenants: each tenant runs a bounded number of
//! requests at once and queues a bounded number more; beyond that its
//! requests are refused at once (RATE_LIMITED) instead of queuing in front
//! of other tenants' requests for connections and CPU.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::config::Sharing;

pub struct Admission {
    sharing: Sharing,
    /// One entry per tenant seen since start: bounded by the tenants that
    /// hold a valid API key, a few hundred bytes each.
    tenants: Mutex<HashMap<Uuid, Arc<TenantSlots>>>,
}

struct TenantSlots {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
}

/// Held while a request runs; dropping it lets the tenant's next one in.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
}

/// The tenant already has as many requests running and queued as allowed.
#[derive(Debug)]
pub struct Saturated;

impl Admission {
    pub fn new(sharing: Sharing) -> Self {
        Admission {
            sharing,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for one of the tenant's running slots, or refuses when its
    /// queue is full. Requests of one tenant are let in in arrival order.
    pub async fn admit(&self, tenant_id: Uuid) -> Result<Admitted, Saturated> {
        let slots = self.slots(tenant_id);
        if let Ok(permit) = slots.running.clone().try_acquire_owned() {
            return Ok(Admitted { _permit: permit });
        }
        if slots.queued.fetch_add(1, Ordering::SeqCst) >= self.sharing.tenant_queued_requests {
            slots.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Saturated);
        }
        // Leaves the queue however the wait ends (answered or cancelled).
        let _in_queue = QueuePlace(&slots.queued);
        let permit = slots.running.clone().acquire_owned().await.map_err(|_| Saturated)?;
        Ok(Admitted { _permit: permit })
    }

    fn slots(&self, tenant_id: Uuid) -> Arc<TenantSlots> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants
            .entry(tenant_id)
            .or_insert_with(|| {
                Arc::new(TenantSlots {
                    running: Arc::new(Semaphore::new(self.sharing.tenant_running_requests)),
                    queued: AtomicUsize::new(0),
                })
            })
            .clone()
    }
}

struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn admission(running: usize, queued: usize) -> Admission {
        Admission::new(Sharing {
            connections_per_request: 1,
            tenant_running_requests: running,
            tenant_queued_requests: queued,
        })
    }

    #[tokio::test]
    async fn a_tenant_beyond_its_running_and_queued_requests_is_refused() {
        let admission = Arc::new(admission(2, 1));
        let tenant = Uuid::now_v7();
        let first = admission.admit(tenant).await.unwrap();
        let _second = admission.admit(tenant).await.unwrap();
        let queued = tokio::spawn({
            let admission = admission.clone();
            async move { admission.admit(tenant).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(admission.admit(tenant).await.is_err(), "the queue holds one");
        // Another tenant is not affected.
        let _other = admission.admit(Uuid::now_v7()).await.unwrap();
        drop(first);
        assert!(
            queued.await.unwrap().is_ok(),
            "the queued request runs when a slot frees"
        );
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_the_queue() {
        let admission = admission(1, 1);
        let tenant = Uuid::now_v7();
        let _running = admission.admit(tenant).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(10), admission.admit(tenant)).await;
        assert!(waited.is_err(), "still waiting");
        // The place is free again: the next request queues instead of being refused.
        let waited = tokio::time::timeout(Duration::from_millis(10), admission.admit(tenant)).await;
        assert!(waited.is_err(), "queued, not refused");
    }
}
