//! The pod garbage collector (Kubernetes' `pkg/controller/podgc`): deletes pods nobody
//! else will.
//!
//! - **Orphans**: pods bound to a node that no longer exists. After [`ORPHAN_QUARANTINE`]
//!   (a node being created, or an informer lagging, must not cost a pod) and a direct read
//!   confirming the node is gone, they are marked `Failed` and force-deleted.
//! - **Terminated pods** beyond `terminated_pod_threshold` cluster-wide: the oldest by
//!   creation (evicted ones first) are deleted. A threshold of 0 keeps them all.
//! - **Terminating pods on an out-of-service node**: an operator taints a dead node
//!   `node.kubernetes.io/out-of-service`; its pods stuck `Terminating` are marked `Failed`
//!   and force-deleted (`gracePeriodSeconds: 0`), as nobody will confirm them.
//!
//! Work is triggered by the informers (a node deleted, a pod bound to an unknown node, a
//! pod ending, a pod deleted on an out-of-service node) and, as a safety net, by a sweep
//! every [`GC_PERIOD`]. Pods terminating on a node that is merely unreachable are not this
//! controller's: the graceful-deletion sweeper removes them when their grace runs out.

use crate::apiserver::error::ApiError;
use crate::controllers::nodelifecycle::taints::{self, OUT_OF_SERVICE};
use crate::machinery::client::{Client, Propagation};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, key_of};
use crate::machinery::informers::BY_NODE;
use crate::machinery::workqueue::WorkQueue;
use k8s_openapi::api::core::v1::{Node, Pod, PodCondition};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often every rule is checked regardless of events (Kubernetes: 20 s). The events
/// do the prompt work; this only catches what they could miss.
pub const GC_PERIOD: Duration = Duration::from_secs(20);

/// How long a pod bound to a missing node is left alone (Kubernetes: 40 s). Long enough
/// for a node being registered to appear; short, because until then the pod's controller
/// counts it and does not replace it.
pub const ORPHAN_QUARANTINE: Duration = Duration::from_secs(10);

/// Workers.
const WORKERS: usize = 2;

/// What the pod garbage collector fails at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a node to confirm it is gone failed.
    #[error("cannot read node {node}")]
    ReadNode {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: ApiError,
    },
    /// Marking or deleting a pod failed.
    #[error("cannot delete pod {pod}")]
    Delete {
        /// The pod (`namespace/name`).
        pod: String,
        /// Why.
        #[source]
        source: ApiError,
    },
}

/// One piece of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Work {
    /// Delete the oldest terminated pods beyond the threshold.
    Terminated,
    /// Delete the pods of a node that may no longer exist.
    Orphans(String),
    /// Delete the terminating pods of a node that may be out of service.
    OutOfService(String),
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Work::Terminated => f.write_str("terminated pods"),
            Work::Orphans(node) => write!(f, "pods of missing node {node}"),
            Work::OutOfService(node) => write!(f, "terminating pods of out-of-service node {node}"),
        }
    }
}

/// The pod garbage collector.
pub struct PodGc {
    controller: Controller<Work>,
    inner: Arc<Inner>,
}

struct Inner {
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    client: Client,
    threshold: usize,
    /// The collector's queue, for the periodic sweep.
    queue: WorkQueue<Work>,
    /// Terminated pods in the informer, kept by its watch.
    terminated: Arc<AtomicUsize>,
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn terminated(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the node is not Ready and an operator declared it out of service.
fn out_of_service(node: &Node) -> bool {
    taints::ready_status(node) != Some("True")
        && taints::taints_of(node)
            .iter()
            .any(|t| t.key == OUT_OF_SERVICE)
}

impl PodGc {
    /// Builds the collector, watching pods and nodes.
    pub fn new(ctx: &Context) -> Self {
        let threshold = ctx.config.terminated_pod_threshold;
        let terminated_count = Arc::<AtomicUsize>::default();
        let (nodes, count) = (ctx.informers.nodes.clone(), terminated_count.clone());
        let controller = Controller::new("pod-gc", WORKERS)
            .watches_with(&ctx.informers.pods, move |change, queue| {
                let was = change.old.is_some_and(terminated);
                let is = change.new.is_some_and(terminated);
                if is && !was {
                    let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                    if threshold > 0 && n > threshold {
                        queue.add(Work::Terminated);
                    }
                } else if was && !is {
                    count.fetch_sub(1, Ordering::Relaxed);
                }
                let Some(pod) = change.new else { return };
                let Some(node) = node_name(pod) else { return };
                let newly_bound = change.old.is_none_or(|old| node_name(old) != Some(node));
                let newly_deleting = pod.metadata.deletion_timestamp.is_some()
                    && change
                        .old
                        .is_none_or(|old| old.metadata.deletion_timestamp.is_none());
                match nodes.get(node) {
                    None if newly_bound => {
                        queue.add_after(Work::Orphans(node.to_string()), ORPHAN_QUARANTINE)
                    }
                    Some(n) if newly_deleting && out_of_service(&n) => {
                        queue.add(Work::OutOfService(node.to_string()))
                    }
                    _ => {}
                }
            })
            .watches_with(&ctx.informers.nodes, |change, queue| match change.new {
                None => queue.add_after(Work::Orphans(change.key.to_string()), ORPHAN_QUARANTINE),
                Some(node) if out_of_service(node) => {
                    queue.add(Work::OutOfService(change.key.to_string()))
                }
                Some(_) => {}
            });
        let inner = Arc::new(Inner {
            pods: ctx.informers.pods.clone(),
            nodes: ctx.informers.nodes.clone(),
            client: ctx.client("pod-garbage-collector"),
            threshold,
            queue: controller.queue(),
            terminated: terminated_count,
        });
        Self { controller, inner }
    }

    /// Runs the workers and the periodic sweep until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let sweeper = {
            let inner = self.inner.clone();
            let shutdown = shutdown.clone();
            async move {
                let mut tick = tokio::time::interval(GC_PERIOD);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = tick.tick() => inner.sweep(),
                    }
                }
            }
        };
        let workers = self.controller.run(self.inner, shutdown);
        tokio::join!(sweeper, workers);
    }
}

impl Reconciler for Inner {
    type Key = Work;
    type Error = Error;

    async fn reconcile(&self, work: &Work) -> Result<Action, Error> {
        match work {
            Work::Terminated => self.terminated_pods().await?,
            Work::Orphans(node) => self.orphans(node).await?,
            Work::OutOfService(node) => self.out_of_service(node).await?,
        }
        Ok(Action::await_change())
    }
}

impl Inner {
    /// Queues every rule's work that the informers show is due.
    fn sweep(&self) {
        if self.threshold > 0 && self.terminated.load(Ordering::Relaxed) > self.threshold {
            self.queue.add(Work::Terminated);
        }
        let bound: BTreeSet<String> = self
            .pods
            .list()
            .iter()
            .filter_map(|p| node_name(p).map(String::from))
            .collect();
        for node in bound {
            match self.nodes.get(&node) {
                None => self.queue.add_after(Work::Orphans(node), ORPHAN_QUARANTINE),
                Some(n) if out_of_service(&n) => self.queue.add(Work::OutOfService(node)),
                Some(_) => {}
            }
        }
    }

    /// Deletes the oldest terminated pods beyond the threshold.
    async fn terminated_pods(&self) -> Result<(), Error> {
        if self.threshold == 0 {
            return Ok(());
        }
        let mut done: Vec<Arc<Pod>> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| terminated(p) && p.metadata.deletion_timestamp.is_none())
            .collect();
        let Some(excess) = done.len().checked_sub(self.threshold).filter(|n| *n > 0) else {
            return Ok(());
        };
        // Evicted pods first, then the oldest (Kubernetes' byEvictionAndCreationTimestamp).
        done.sort_by(|a, b| {
            let evicted =
                |p: &Pod| p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted");
            evicted(b)
                .cmp(&evicted(a))
                .then_with(|| {
                    a.metadata
                        .creation_timestamp
                        .cmp(&b.metadata.creation_timestamp)
                })
                .then_with(|| key_of(&a.metadata).cmp(&key_of(&b.metadata)))
        });
        tracing::info!(
            count = done.len(),
            threshold = self.threshold,
            deleting = excess,
            "too many terminated pods"
        );
        for pod in done.iter().take(excess) {
            self.delete(pod, false).await?;
        }
        Ok(())
    }

    /// Deletes the pods of `node` if it is confirmed gone.
    async fn orphans(&self, node: &str) -> Result<(), Error> {
        if self.nodes.get(node).is_some() {
            return Ok(());
        }
        let pods = self.pods.indexed(BY_NODE, node);
        if pods.is_empty() {
            return Ok(());
        }
        match self.client.get::<Node>(None, node).await {
            Ok(_) => return Ok(()),
            Err(e) if e.reason == "NotFound" => {}
            Err(source) => {
                return Err(Error::ReadNode {
                    node: node.to_string(),
                    source,
                });
            }
        }
        for pod in pods {
            tracing::info!(pod = %key_of(&pod.metadata), node, "deleting pod bound to a node that no longer exists");
            self.mark_failed(&pod, "PodGC: node no longer exists")
                .await?;
            self.delete(&pod, true).await?;
        }
        Ok(())
    }

    /// Force-deletes the terminating pods of `node` if it is out of service.
    async fn out_of_service(&self, node: &str) -> Result<(), Error> {
        if !self.nodes.get(node).is_some_and(|n| out_of_service(&n)) {
            return Ok(());
        }
        for pod in self.pods.indexed(BY_NODE, node) {
            if pod.metadata.deletion_timestamp.is_none() {
                continue;
            }
            tracing::info!(pod = %key_of(&pod.metadata), node, "force-deleting terminating pod on an out-of-service node");
            self.mark_failed(&pod, "PodGC: node is out of service")
                .await?;
            self.delete(&pod, true).await?;
        }
        Ok(())
    }

    /// Sets a running pod's phase to Failed, with a `DisruptionTarget` condition saying
    /// why, so that its Job counts it as failed.
    async fn mark_failed(&self, pod: &Pod, message: &'static str) -> Result<(), Error> {
        if terminated(pod) {
            return Ok(());
        }
        let uid = pod.metadata.uid.clone();
        let namespace = pod.metadata.namespace.as_deref();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let result = self
            .client
            .update_status::<Pod>(namespace, name, |pod| {
                if pod.metadata.uid != uid || terminated(pod) {
                    return false;
                }
                let status = pod.status.get_or_insert_default();
                status.phase = Some("Failed".into());
                let conditions = status.conditions.get_or_insert_default();
                conditions.retain(|c| c.type_ != "DisruptionTarget");
                conditions.push(PodCondition {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                    reason: Some("DeletionByPodGC".into()),
                    message: Some(message.into()),
                    last_transition_time: Some(skiff_model::time::now_time()),
                    ..PodCondition::default()
                });
                true
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(source) => Err(Error::Delete {
                pod: key_of(&pod.metadata),
                source,
            }),
        }
    }

    /// Deletes the pod (if it is still this incarnation); `force` skips the grace period.
    async fn delete(&self, pod: &Pod, force: bool) -> Result<(), Error> {
        let namespace = pod.metadata.namespace.as_deref();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let uid = pod.metadata.uid.as_deref();
        let result = if force {
            self.client.force_delete::<Pod>(namespace, name, uid).await
        } else {
            self.client
                .delete::<Pod>(namespace, name, uid, Propagation::Background)
                .await
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(source) => Err(Error::Delete {
                pod: key_of(&pod.metadata),
                source,
            }),
        }
    }
}
