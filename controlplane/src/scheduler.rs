//! The scheduler: places every pending pod (unbound, for `default-scheduler`, not being
//! deleted, not finished) on a node, through the `binding` subresource, as kube-scheduler
//! does — reading only from the informers.
//!
//! Handlers on the pod and node informers keep a ledger of every node and the pods counted
//! against it (`ledger`; not to be confused with the API server's watch cache), and put
//! pending pods on a queue (`queue`). The scheduler's loop
//! drains the queue in batches: each batch is decided against one `snapshot` of the
//! nodes — filters (`filter`) say which nodes a pod fits, scores (`score`) which of those
//! is best, and each placed pod counts against its node at once (it is *assumed* there) —
//! and then bound concurrently (`bind`) while the next batch is decided. A pod that fits
//! nowhere is reported (`report`: `FailedScheduling`, `PodScheduled=False`, the message
//! from `diagnosis`) and parked until the cluster changes, or for a while at most.
//!
//! The other parts: `resources` (what pods ask and nodes offer), `taints`
//! and `affinity` (where pods may go), `pod` and `node` (the scheduler's view of each).
//! It is built from the controller machinery's
//! [`Context`](crate::machinery::context::Context) like the controllers, but keeps its own
//! queue (pods wait for the cluster to change, not for a backoff).

mod affinity;
mod bind;
mod diagnosis;
mod filter;
mod ledger;
mod node;
pub(crate) mod pod;
mod queue;
mod report;
mod resources;
mod score;
mod snapshot;
pub(crate) mod taints;
#[cfg(test)]
mod testing;

use crate::machinery::context::Context;
use crate::machinery::informer::{Change, Informer};
use bind::Binder;
use k8s_openapi::api::core::v1::{Node, Pod};
use ledger::Ledger;
use pod::{PodInfo, is_pending};
use queue::Queue;
use report::Reporter;
use score::Scorer;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use pod::SCHEDULER_NAME;

/// Pods decided against one snapshot. Large enough that a burst costs few snapshots,
/// small enough that the first bindings start within milliseconds.
pub const BATCH: usize = 512;

/// The scheduler.
pub struct Scheduler {
    pods: Informer<Pod>,
    ledger: Arc<Ledger>,
    queue: Arc<Queue>,
    binder: Arc<Binder>,
    reporter: Arc<Reporter>,
}

impl Scheduler {
    /// Builds the scheduler, subscribing to the informers it needs.
    pub fn new(ctx: &Context) -> Self {
        let ledger = Arc::new(Ledger::new());
        let queue = Arc::new(Queue::new());
        let permits = Arc::new(Semaphore::new(bind::MAX_IN_FLIGHT));
        let client = ctx.client(SCHEDULER_NAME);
        let events = ctx.events.component(SCHEDULER_NAME);
        let reporter = Arc::new(Reporter::new(
            client.clone(),
            events.clone(),
            Arc::clone(&permits),
        ));
        let binder = Arc::new(Binder::new(
            client,
            events,
            Arc::clone(&ledger),
            Arc::clone(&queue),
            permits,
        ));
        let nodes = ctx.informers.nodes.clone();
        {
            let (ledger, queue) = (Arc::clone(&ledger), Arc::clone(&queue));
            let informer = nodes.clone();
            ctx.informers
                .nodes
                .subscribe(move |change: &Change<'_, Node>| {
                    let node = change.new.and_then(|_| informer.get(change.key));
                    if ledger.node_changed(change.key, node) {
                        queue.cluster_changed();
                    }
                });
        }
        {
            let (ledger, queue, reporter) = (
                Arc::clone(&ledger),
                Arc::clone(&queue),
                Arc::clone(&reporter),
            );
            ctx.informers
                .pods
                .subscribe(move |change: &Change<'_, Pod>| {
                    on_pod_change(change, &ledger, &queue, &reporter);
                });
        }
        Self {
            pods: ctx.informers.pods.clone(),
            ledger,
            queue,
            binder,
            reporter,
        }
    }

    /// Schedules until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut scorer = Scorer::default();
        loop {
            let due = self.queue.flush(Instant::now());
            let batch = self.queue.pop(BATCH);
            if batch.is_empty() {
                let wake = due.unwrap_or_else(|| Instant::now() + queue::RETRY_INTERVAL);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.queue.notified() => {}
                    () = tokio::time::sleep_until(wake) => {}
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.schedule(batch, &mut scorer) => {}
            }
            // Let the informers and the bindings run between batches of a long burst.
            tokio::task::yield_now().await;
        }
    }

    /// Decides a batch against one snapshot, then starts the bindings and reports the
    /// pods that fit nowhere.
    async fn schedule(&self, keys: Vec<String>, scorer: &mut Scorer) {
        let generation = self.queue.generation();
        let mut pods: Vec<PodInfo> = keys
            .iter()
            .filter_map(|key| self.pods.get(key))
            .filter(|pod| is_pending(pod))
            .map(PodInfo::new)
            .filter(|pod| !self.ledger.is_assumed(&pod.key))
            .collect();
        // Higher priority first; otherwise in the order they came.
        pods.sort_by_key(|p| {
            std::cmp::Reverse(p.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0))
        });
        let mut snapshot = self.ledger.snapshot();
        let mut placed = Vec::with_capacity(pods.len());
        let mut failed = Vec::new();
        for pod in pods {
            match snapshot.place(&pod, scorer) {
                Ok(node) => placed.push((pod, node)),
                Err(diagnosis) => failed.push((pod, diagnosis)),
            }
        }
        self.ledger.assume(&placed);
        for (pod, node) in placed {
            self.binder.start(pod, node).await;
        }
        for (pod, diagnosis) in failed {
            self.queue.park(&pod.key, generation, Instant::now());
            let message = diagnosis.message();
            tracing::debug!(pod = %pod.key, reason = %message, "pod fits no node");
            self.reporter.unschedulable(&pod, message).await;
        }
    }
}

/// Keeps the ledger and the queue in step with one pod change.
fn on_pod_change(change: &Change<'_, Pod>, ledger: &Ledger, queue: &Queue, reporter: &Reporter) {
    if ledger.pod_changed(change.key, change.new) {
        queue.cluster_changed();
    }
    match change.new {
        Some(new) if is_pending(new) => {
            let changed = change.old.is_none_or(|old| {
                !is_pending(old)
                    || old.spec != new.spec
                    || old.metadata.labels != new.metadata.labels
            });
            if changed {
                queue.add(change.key);
            }
        }
        _ => {
            if change.old.is_some_and(is_pending) || change.new.is_none() {
                queue.forget(change.key);
                reporter.forget(change.key);
            }
        }
    }
}
