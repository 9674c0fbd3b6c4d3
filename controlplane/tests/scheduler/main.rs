//! In-process tests of the scheduler: the real API write path over a `MemoryStore` behind
//! the watch cache, the scheduler alone beside it (no controllers, no agent). Nodes are
//! written by the tests with a Ready condition and allocatable, as an agent would report
//! them; pods are created without `nodeName` and watched until the scheduler binds them.
//!
//! - `binding`: pods go to Ready, schedulable nodes; pods of other schedulers and pods
//!   already bound are left alone;
//! - `unschedulable`: a pod that fits nowhere gets `FailedScheduling` and
//!   `PodScheduled=False`, and is bound once a node that fits it arrives;
//! - `placement`: nodeSelector, node affinity, taints and tolerations, spreading;
//! - `burst`: a thousand pods bound without overcommitting any node.

mod binding;
mod burst;
mod placement;
#[path = "../support/mod.rs"]
mod support;
mod unschedulable;

use k8s_openapi::api::core::v1::{
    Container, Event, Node, NodeCondition, NodeStatus, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::Informer;
use skiff_controlplane::scheduler::Scheduler;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a broken scheduler fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(30);

/// An API server's store and write path with the scheduler running beside it.
pub struct Cluster {
    /// Writes as the test.
    pub client: Client,
    /// Every event written so far.
    pub events: Informer<Event>,
    /// Every pod, as the scheduler's informers see them.
    pub pods: Informer<Pod>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    /// Starts the store, the cache and the scheduler.
    pub async fn start() -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let ctx = Context::new(state.clone(), Config::default(), &shutdown);
        let scheduler = Scheduler::new(&ctx);
        ctx.informers
            .start(&state, &shutdown)
            .await
            .expect("informers");
        tokio::spawn(scheduler.run(shutdown.clone()));
        let events = Informer::<Event>::new();
        events
            .start(state.store.clone(), shutdown.clone())
            .await
            .expect("event informer");
        Self {
            client: Client::new(state, "test"),
            events,
            pods: ctx.informers.pods.clone(),
            shutdown,
        }
    }

    /// Registers a Ready node offering `cpu`, `memory` and `pods`.
    pub async fn add_node(&self, name: &str, cpu: &str, memory: &str, pods: u32) {
        self.add_node_with(node(name, cpu, memory, pods)).await;
    }

    /// Registers `node` (its status written as its agent would).
    pub async fn add_node_with(&self, node: Node) {
        let name = node.metadata.name.clone().expect("a name");
        let status = node.status.clone();
        self.client.create(&node).await.expect("create node");
        self.client
            .update_status::<Node>(None, &name, |n| {
                n.status = status.clone();
                true
            })
            .await
            .expect("node status");
    }

    /// Creates `pod` in `default`.
    pub async fn create(&self, pod: &Pod) -> Pod {
        self.client.create(pod).await.expect("create pod")
    }

    /// The pod as stored now.
    pub async fn get(&self, name: &str) -> Pod {
        self.client
            .get::<Pod>(Some("default"), name)
            .await
            .expect("get pod")
    }

    /// Waits until the pod is bound; returns its node.
    pub async fn bound(&self, name: &str) -> String {
        eventually(&format!("pod {name} bound"), || async {
            node_of(&self.get(name).await)
        })
        .await
    }

    /// The events about the pod named `name` with `reason`, as (type, message).
    pub fn events_of(&self, name: &str, reason: &str) -> Vec<(String, String)> {
        self.events
            .list()
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| {
                (
                    e.type_.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// The node a pod is bound to.
pub fn node_of(pod: &Pod) -> Option<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
}

/// A Ready node offering `cpu`, `memory` and `pods`.
pub fn node(name: &str, cpu: &str, memory: &str, pods: u32) -> Node {
    let allocatable = BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
        ("pods".to_string(), Quantity(pods.to_string())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            allocatable: Some(allocatable.clone()),
            capacity: Some(allocatable),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some("KubeletReady".into()),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    }
}

/// A pod in `default` requesting `cpu` and `memory` (`"0"`: nothing).
pub fn pod(name: &str, cpu: &str, memory: &str) -> Pod {
    let requests: BTreeMap<String, Quantity> = [("cpu", cpu), ("memory", memory)]
        .into_iter()
        .filter(|(_, v)| *v != "0")
        .map(|(k, v)| (k.to_string(), Quantity(v.into())))
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some("app.wasm".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(requests).filter(|r| !r.is_empty()),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    support::poll(what, WAIT, Duration::from_millis(10), check).await
}

/// Waits `duration` (for tests that check something does *not* happen: long enough for
/// the scheduler to have acted many times over if it were going to).
pub async fn settle(duration: Duration) {
    tokio::time::sleep(duration).await;
}
