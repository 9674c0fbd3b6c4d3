//! [`Binder`]: writes the scheduler's decisions — binds each placed pod to its node
//! through the `binding` subresource, many at once (bounded by [`MAX_IN_FLIGHT`], so a
//! burst becomes a few group commits instead of a round trip per pod) while the scheduler
//! goes on deciding the next batch.
//!
//! A bound pod gets a `Scheduled` event. A binding that fails un-assumes the pod (its room
//! on the node is free again) and the pod is tried again after its backoff if it is still
//! pending — a 409 (already bound, or replaced by a pod with another UID) or a 404 (gone)
//! then finds nothing to do.

use super::ledger::Ledger;
use super::pod::PodInfo;
use super::queue::Queue;
use crate::machinery::client::Client;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::{Involved, Recorder};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Writes (bindings and status updates) in flight at once. The store commits concurrent
/// writes together, one fsync each batch, so a few hundred in flight make few commits;
/// more would only queue behind them, and would make each commit's burst of watch events
/// larger than a watcher's buffer can comfortably absorb.
pub const MAX_IN_FLIGHT: usize = 256;

/// Binds pods. Shared by the scheduler's loop and its binding tasks.
pub struct Binder {
    client: Client,
    events: Recorder,
    ledger: Arc<Ledger>,
    queue: Arc<Queue>,
    permits: Arc<Semaphore>,
}

impl Binder {
    /// A binder writing through `client`, sharing `permits` with the other writers.
    pub fn new(
        client: Client,
        events: Recorder,
        ledger: Arc<Ledger>,
        queue: Arc<Queue>,
        permits: Arc<Semaphore>,
    ) -> Self {
        Self {
            client,
            events,
            ledger,
            queue,
            permits,
        }
    }

    /// Starts binding `pod` to `node`; waits only for room among the writes in flight.
    pub async fn start(self: &Arc<Self>, pod: PodInfo, node: Arc<str>) {
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return; // never closed
        };
        let this = Arc::clone(self);
        tokio::spawn(async move { this.bind(pod, node, permit).await });
    }

    async fn bind(&self, pod: PodInfo, node: Arc<str>, permit: OwnedSemaphorePermit) {
        let meta = &pod.pod.metadata;
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let name = meta.name.as_deref().unwrap_or_default();
        let result = self.client.bind_cached(&pod.pod, &node).await;
        drop(permit);
        match result {
            Ok(()) => {
                self.events.normal(
                    Involved::of::<Pod>(meta),
                    "Scheduled",
                    format!("Successfully assigned {namespace}/{name} to {node}"),
                );
            }
            Err(e) => {
                tracing::debug!(pod = %pod.key, node = %node, error = %e.message, "binding failed");
                if self.ledger.forget(&pod.key, pod.uid()) {
                    self.queue.cluster_changed();
                }
                if e.code != axum::http::StatusCode::NOT_FOUND {
                    self.events.warning(
                        Involved::of::<Pod>(meta),
                        "FailedScheduling",
                        format!("Binding rejected: {}", e.message),
                    );
                }
                self.queue
                    .retry_later(&pod.key, tokio::time::Instant::now());
            }
        }
    }
}
