//! Deterministic DataLoader batching.
//!
//! async-graphql's DataLoader hands each batch's dispatch to a spawner after
//! a short timer. On a multi-threaded runtime a spawned dispatch can fire
//! while the resolvers of one list level are still being polled, splitting a
//! batch in two, and more often under load. Here the dispatches run inside
//! the request's own task instead: they start only when the query future
//! waits, i.e. after every sibling resolver has asked for its key, and the
//! query resumes only when every batch in flight has answered. Each relation
//! of each level is therefore one statement, deterministically.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use tokio::sync::mpsc;

/// Queues loader dispatches for [`run_with_dispatches`].
#[derive(Clone)]
pub struct DispatchQueue(mpsc::UnboundedSender<BoxFuture<'static, ()>>);

pub struct DispatchReceiver(mpsc::UnboundedReceiver<BoxFuture<'static, ()>>);

pub fn dispatch_queue() -> (DispatchQueue, DispatchReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (DispatchQueue(tx), DispatchReceiver(rx))
}

impl DispatchQueue {
    /// The spawner given to the DataLoader.
    pub fn spawn(&self, task: BoxFuture<'static, ()>) {
        // The receiver lives as long as the request; a send can only fail
        // after the request finished, when nobody waits for the result.
        let _ = self.0.send(task);
    }
}

/// Runs `query` to completion, driving the loader dispatches it queues in
/// the same task.
pub async fn run_with_dispatches<F: Future>(query: F, receiver: DispatchReceiver) -> F::Output {
    let mut query = pin!(query);
    let mut receiver = receiver.0;
    let mut dispatches: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
    // One flagged waker for the whole request: it forwards to whatever
    // waker the task was last polled with.
    let flag = Arc::new(WakeFlag {
        woken: AtomicBool::new(false),
        inner: AtomicWaker::new(),
    });
    let flagged_waker = Waker::from(flag.clone());
    poll_fn(|cx| {
        let mut flagged_cx = Context::from_waker(&flagged_waker);
        loop {
            // Poll the query only when no dispatch is in flight: answers of
            // concurrent batches then reach the resolvers together, and the
            // next level's keys form one batch however the batches raced.
            if dispatches.is_empty() {
                // Poll until the query waits for something. Lists of more
                // than a few dozen items yield part-way through (cooperative
                // scheduling) and wake themselves at once: keep going, so
                // every sibling has asked for its key before any dispatch.
                let mut rounds = 0;
                loop {
                    // Registered before each poll: a wake-up passed on
                    // consumes the registration.
                    flag.inner.register(cx.waker());
                    flag.woken.store(false, Ordering::SeqCst);
                    if let Poll::Ready(output) = query.as_mut().poll(&mut flagged_cx) {
                        return Poll::Ready(output);
                    }
                    rounds += 1;
                    if !flag.woken.load(Ordering::SeqCst) || rounds >= MAX_QUERY_ROUNDS {
                        break;
                    }
                }
            }
            while let Poll::Ready(Some(task)) = receiver.poll_recv(cx) {
                dispatches.push(task);
            }
            if dispatches.is_empty() {
                // The query waits on something of its own; it will wake us.
                return Poll::Pending;
            }
            while let Poll::Ready(Some(())) = dispatches.poll_next_unpin(cx) {}
            if !dispatches.is_empty() {
                return Poll::Pending;
            }
        }
    })
    .await
}

/// Bounds the polling of a query that keeps waking itself, so the task
/// still yields to the runtime eventually.
const MAX_QUERY_ROUNDS: usize = 10_000;

/// Records that the query woke itself, and passes the wake-up on.
struct WakeFlag {
    woken: AtomicBool,
    inner: AtomicWaker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread")]
    async fn queued_tasks_run_inside_the_driving_task() {
        let (queue, receiver) = dispatch_queue();
        let ran = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let counter = ran.clone();
        let query = async move {
            queue.spawn(Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(42);
            }));
            rx.await.unwrap()
        };
        assert_eq!(run_with_dispatches(query, receiver).await, 42);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
