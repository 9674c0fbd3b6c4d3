//! The controller manager: everything that runs beside the API server and keeps the
//! declared state true — the scheduler and the controllers. They read from shared
//! [`Informers`] over the watch cache and write through the API's own write path
//! ([`Client`]: admission, validation, field ownership), as an out-of-process
//! kube-controller-manager would over HTTP.
//!
//! Start-up is two-phase so that nobody acts on a half-loaded cache: every component is
//! built first (subscribing its handlers to the informers), then the informers load their
//! listings, and only then do the components' workers run.

use crate::apiserver::ApiState;
use crate::client::Client;
use crate::controllers;
use crate::controllers::endpointslice::SERVICE_NAME_LABEL;
use crate::events::Recorder;
use crate::informer::{Informer, MetaOnly};
use crate::scheduler;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Default [`Config::node_monitor_grace`]: 10 s, five of the agent's lease renewals at
/// its recommended 2 s interval (Kubernetes: 50 s, five renewals of 10 s). Wasm pods
/// restart in milliseconds, so noticing a dead node is what bounds recovery, and a
/// heartbeat every 2 s is cheap (two small writes and a read per node). Five missed renewals, not
/// one or two, keep a slow API server or a busy agent from marking nodes down; a control
/// plane that restarts gives every node a fresh grace.
pub const DEFAULT_NODE_MONITOR_GRACE: Duration = Duration::from_secs(10);

/// Default [`Config::default_toleration`]: 5 s (Kubernetes: 300 s). Kubernetes waits five
/// minutes because evicting a container is expensive (image pulls, warm-up); a wasm pod's
/// replacement runs in milliseconds on a node that has its module, so waiting mostly
/// prolongs the outage. The cost of a false positive is a second copy running while a
/// partitioned node still runs the first; the 10 s grace already guards against that, and
/// a pod that must never run twice says so with its own toleration (no `tolerationSeconds`:
/// it stays forever). So a dead node's pods run elsewhere about 15 s after it died.
pub const DEFAULT_TOLERATION: Duration = Duration::from_secs(5);

/// Default [`Config::terminated_pod_threshold`]: Kubernetes' 12,500. A finished pod is a
/// few kilobytes in the store and the caches and is how `kubectl logs` reaches a finished
/// Job's output; at thousands of short pods per node that is hours of history, while
/// still bounding the store.
pub const DEFAULT_TERMINATED_POD_THRESHOLD: usize = 12_500;

/// Timings and switches of the controller manager.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a node's lease and Ready heartbeat may stay unrenewed before the node is
    /// marked Ready=Unknown and tainted unreachable (Kubernetes'
    /// `--node-monitor-grace-period`). Must be several of the agents' `--lease-interval`.
    pub node_monitor_grace: Duration,
    /// How long pods that do not tolerate `node.kubernetes.io/unreachable` or `not-ready`
    /// themselves stay on such a node before eviction (Kubernetes'
    /// `--default-unreachable-toleration-seconds` and `--default-not-ready-toleration-seconds`).
    pub default_toleration: Duration,
    /// Terminated pods kept cluster-wide before the oldest are deleted
    /// (`--terminated-pod-gc-threshold`; 0 keeps them all).
    pub terminated_pod_threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            node_monitor_grace: DEFAULT_NODE_MONITOR_GRACE,
            default_toleration: DEFAULT_TOLERATION,
            terminated_pod_threshold: DEFAULT_TERMINATED_POD_THRESHOLD,
        }
    }
}

/// Index of pods by `spec.nodeName` (unbound pods are under "").
pub const BY_NODE: &str = "node";
/// Index of objects by the UID of each of their owners (`metadata.ownerReferences`).
pub const BY_OWNER: &str = "owner";
/// Index of EndpointSlices by the `namespace/name` of their Service (their
/// `kubernetes.io/service-name` label).
pub const BY_SERVICE: &str = "service";
/// Index of pods without a controller (`ownerReferences` with `controller: true`) by
/// namespace: what a ReplicaSet or Job may adopt, without scanning every pod.
pub const ORPHANS: &str = "orphans";

/// The informers the components share: one list and one watch per kind.
#[derive(Clone)]
pub struct Informers {
    /// Pods, indexed [`BY_NODE`] and [`BY_OWNER`].
    pub pods: Informer<Pod>,
    /// Nodes.
    pub nodes: Informer<Node>,
    /// Leases (the nodes' heartbeats are in `kube-node-lease`), indexed [`BY_OWNER`].
    pub leases: Informer<Lease>,
    /// Namespaces.
    pub namespaces: Informer<Namespace>,
    /// ReplicaSets, indexed [`BY_OWNER`].
    pub replicasets: Informer<ReplicaSet>,
    /// Deployments, indexed [`BY_OWNER`].
    pub deployments: Informer<Deployment>,
    /// Jobs, indexed [`BY_OWNER`].
    pub jobs: Informer<Job>,
    /// Services, indexed [`BY_OWNER`].
    pub services: Informer<Service>,
    /// Endpoints, indexed [`BY_OWNER`].
    pub endpoints: Informer<Endpoints>,
    /// EndpointSlices, indexed [`BY_OWNER`] and [`BY_SERVICE`].
    pub endpointslices: Informer<EndpointSlice>,
    /// Every other namespaced kind, metadata only, indexed [`BY_OWNER`]: what the garbage
    /// collector needs to find dependents of any kind.
    pub others: Vec<Informer<MetaOnly>>,
}

fn owners(meta: &ObjectMeta) -> Vec<String> {
    meta.owner_references
        .iter()
        .flatten()
        .map(|o| o.uid.clone())
        .collect()
}

impl Informers {
    /// Informers of every kind, not started.
    pub fn new() -> Self {
        let typed = [
            "Pod",
            "Node",
            "Lease",
            "Namespace",
            "ReplicaSet",
            "Deployment",
            "Job",
            "Service",
            "Endpoints",
            "EndpointSlice",
        ];
        let others = skiff_model::kinds::KINDS
            .iter()
            .filter(|k| k.namespaced && !typed.contains(&k.kind) && k.kind != "Event")
            .map(|k| {
                Informer::builder_for(k)
                    .index(BY_OWNER, |o: &MetaOnly| owners(&o.metadata))
                    .build()
            })
            .collect();
        Self {
            pods: Informer::builder()
                .index(BY_NODE, |p: &Pod| {
                    vec![
                        p.spec
                            .as_ref()
                            .and_then(|s| s.node_name.clone())
                            .unwrap_or_default(),
                    ]
                })
                .index(BY_OWNER, |p: &Pod| owners(&p.metadata))
                .index(ORPHANS, |p: &Pod| {
                    let controlled = p
                        .metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.controller == Some(true));
                    if controlled {
                        Vec::new()
                    } else {
                        vec![p.metadata.namespace.clone().unwrap_or_default()]
                    }
                })
                .build(),
            nodes: Informer::new(),
            leases: Informer::builder()
                .index(BY_OWNER, |l: &Lease| owners(&l.metadata))
                .build(),
            namespaces: Informer::new(),
            replicasets: Informer::builder()
                .index(BY_OWNER, |r: &ReplicaSet| owners(&r.metadata))
                .build(),
            deployments: Informer::builder()
                .index(BY_OWNER, |d: &Deployment| owners(&d.metadata))
                .build(),
            jobs: Informer::builder()
                .index(BY_OWNER, |j: &Job| owners(&j.metadata))
                .build(),
            services: Informer::builder()
                .index(BY_OWNER, |s: &Service| owners(&s.metadata))
                .build(),
            endpoints: Informer::builder()
                .index(BY_OWNER, |e: &Endpoints| owners(&e.metadata))
                .build(),
            endpointslices: Informer::builder()
                .index(BY_OWNER, |e: &EndpointSlice| owners(&e.metadata))
                .index(BY_SERVICE, |e: &EndpointSlice| {
                    let meta = &e.metadata;
                    meta.labels
                        .as_ref()
                        .and_then(|l| l.get(SERVICE_NAME_LABEL))
                        .map(|name| {
                            vec![format!(
                                "{}/{name}",
                                meta.namespace.as_deref().unwrap_or_default()
                            )]
                        })
                        .unwrap_or_default()
                })
                .build(),
            others,
        }
    }

    /// Loads every informer's listing and starts following the store.
    pub async fn start(
        &self,
        state: &ApiState,
        shutdown: &CancellationToken,
    ) -> crate::store::Result<()> {
        let store = state.store.clone();
        self.pods.start(store.clone(), shutdown.clone()).await?;
        self.nodes.start(store.clone(), shutdown.clone()).await?;
        self.leases.start(store.clone(), shutdown.clone()).await?;
        self.namespaces
            .start(store.clone(), shutdown.clone())
            .await?;
        self.replicasets
            .start(store.clone(), shutdown.clone())
            .await?;
        self.deployments
            .start(store.clone(), shutdown.clone())
            .await?;
        self.jobs.start(store.clone(), shutdown.clone()).await?;
        self.services.start(store.clone(), shutdown.clone()).await?;
        self.endpoints
            .start(store.clone(), shutdown.clone())
            .await?;
        self.endpointslices
            .start(store.clone(), shutdown.clone())
            .await?;
        for other in &self.others {
            other.start(store.clone(), shutdown.clone()).await?;
        }
        Ok(())
    }
}

impl Default for Informers {
    fn default() -> Self {
        Self::new()
    }
}

/// What every component is built from.
#[derive(Clone)]
pub struct Context {
    /// The shared informers.
    pub informers: Informers,
    /// The API state (for the few direct reads a component needs).
    pub state: ApiState,
    /// The manager's configuration.
    pub config: Config,
    /// The event recorder (use [`Recorder::component`] to name yourself).
    pub events: Recorder,
}

impl Context {
    /// The context of components over `state`, with fresh informers (not started) and an
    /// event recorder writing until `shutdown`.
    pub fn new(state: ApiState, config: Config, shutdown: &CancellationToken) -> Self {
        Self {
            informers: Informers::new(),
            events: Recorder::start(Client::new(state.clone(), "skiff-events"), shutdown.clone()),
            state,
            config,
        }
    }

    /// A client writing as `manager`.
    pub fn client(&self, manager: &'static str) -> Client {
        Client::new(self.state.clone(), manager)
    }
}

/// Starts the scheduler and every controller as tasks that run until `shutdown`. Returns
/// once the informers are loaded and the components running.
pub async fn start(
    state: ApiState,
    config: Config,
    shutdown: CancellationToken,
) -> crate::store::Result<()> {
    let ctx = Context::new(state, config, &shutdown);
    // Phase 1: build (handlers subscribe).
    let scheduler = scheduler::Scheduler::new(&ctx);
    let controllers = controllers::Controllers::new(&ctx);
    // Phase 2: load the caches.
    ctx.informers.start(&ctx.state, &shutdown).await?;
    // Phase 3: run.
    tokio::spawn(scheduler.run(shutdown.clone()));
    controllers.spawn(&shutdown);
    Ok(())
}
