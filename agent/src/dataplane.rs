//! The node's HTTP data plane: every request to a Service passes through an agent, which
//! delivers it to a ready pod of the Service — a local one, or one on a peer agent.
//!
//! Parts: [`local`] (the HTTP servers of this node's pods); [`ready`] (the pods this node
//! sees ready, routed to ahead of their EndpointSlices); `table` (the routing table, built
//! from Services, EndpointSlices, Nodes and ready pods) kept current by `cluster`
//! (reflectors);
//! `balancer` (least outstanding requests, ties to local pods); `proxy` (one request's
//! way: choose, deliver or forward, retry); `forward` (the hop between agents, both
//! ends); [`activator`] (holding requests for Services at zero while they scale up,
//! and telling the control plane); `listeners` (node ports and LoadBalancer ports);
//! `outbound` (what guests may call: Services by name, allowed hosts); `stats` and
//! `metrics` (counters and their Prometheus text); `body` ([`ProxyBody`]); `shared` (what
//! the data plane's tasks share).

pub mod activator;
mod balancer;
mod body;
mod cluster;
mod forward;
mod listeners;
pub mod local;
mod metrics;
mod outbound;
mod proxy;
pub mod ready;
mod shared;
mod stats;
mod table;

pub use activator::activate::{Activate, ActivateError, KubeActivate};
pub use body::ProxyBody;
pub use forward::{FORWARD_TO, NOT_SERVED};
pub use metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
pub use outbound::{ALLOWED_OUTBOUND_HOSTS, DeniedHook};
pub use table::{ClusterObjects, SERVICE_NAME_LABEL};

use crate::AgentConfig;
use http::{Request, Response};
use hyper::body::Incoming;
use k8s_openapi::api::core::v1::Pod;
use shared::Core;
use skiff_model::stats::{HeldRequests, RequestCounters};
use skiff_runtime::http::outbound::Outbound;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The node's data plane.
pub struct DataPlane {
    /// The HTTP servers of this node's pods.
    pub local: local::LocalPods,
    /// The pods this node sees ready (routed to before their EndpointSlices list them).
    pub ready: ready::ReadyPods,
    core: Arc<Core>,
}

impl DataPlane {
    /// Starts following the cluster's Services and endpoints, and listening on their
    /// node ports, until `shutdown`.
    pub fn start(
        client: kube::Client,
        config: &AgentConfig,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let activate = Arc::new(KubeActivate::new(client.clone(), config.name.clone()));
        let dataplane = Self::new(config, Some(activate), shutdown.clone());
        tokio::spawn(cluster::follow(client, dataplane.core.clone(), shutdown));
        dataplane
    }

    /// A data plane routing by `objects` instead of following the cluster (for tests);
    /// [`set_objects`](Self::set_objects) changes them. It listens like any other, and
    /// holds no requests (a request finding no ready endpoint gets 503).
    pub fn with_objects(
        config: &AgentConfig,
        objects: &ClusterObjects,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let dataplane = Self::new(config, None, shutdown);
        dataplane.set_objects(objects);
        dataplane
    }

    /// [`with_objects`](Self::with_objects), holding requests for Services without a
    /// ready endpoint and telling `activate` of them.
    pub fn with_objects_activating(
        config: &AgentConfig,
        objects: &ClusterObjects,
        activate: Arc<dyn Activate>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let dataplane = Self::new(config, Some(activate), shutdown);
        dataplane.set_objects(objects);
        dataplane
    }

    fn new(
        config: &AgentConfig,
        activate: Option<Arc<dyn Activate>>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let local = local::LocalPods::default();
        let ready = ready::ReadyPods::default();
        let routes = watch::Sender::new(Arc::default());
        let activator = activate.map(|activate| {
            activator::Activator::new(
                activate,
                routes.subscribe(),
                config.activator,
                shutdown.clone(),
            )
        });
        let core = Arc::new(Core {
            node: config.name.clone(),
            routes,
            registry: Mutex::default(),
            proxy: proxy::Proxy::new(local.clone(), forward::Forwarder::new(), activator),
            received: AtomicU64::new(0),
            listening: watch::Sender::new(BTreeSet::new()),
            ready: ready.clone(),
        });
        tokio::spawn(listeners::run(core.clone(), config.listen.ip(), shutdown));
        Arc::new(Self { local, ready, core })
    }

    /// Routes by `objects` from now on.
    pub fn set_objects(&self, objects: &ClusterObjects) {
        self.core.rebuild(objects);
    }

    /// The outbound policy of `pod`'s HTTP containers: in-cluster Services by name, other
    /// hosts as the pod allows them; `denied` hears of every refused request.
    pub fn outbound_for(self: &Arc<Self>, pod: &Pod, denied: DeniedHook) -> Outbound {
        let allow = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ALLOWED_OUTBOUND_HOSTS))
            .map(|value| outbound::AllowList::parse(value))
            .unwrap_or_default();
        let namespace = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        Outbound::routed(Arc::new(outbound::PodOutbound::new(
            Arc::downgrade(&self.core),
            namespace,
            allow,
            denied,
        )))
    }

    /// Whether `request` was forwarded by a peer agent (it names a pod in [`FORWARD_TO`]);
    /// the agent's endpoint hands such requests to
    /// [`serve_forwarded`](Self::serve_forwarded) before its own routes.
    pub fn is_forwarded<B>(request: &Request<B>) -> bool {
        request.headers().contains_key(FORWARD_TO)
    }

    /// Serves a request a peer forwarded, from this node's pods.
    pub async fn serve_forwarded(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let table = self.core.table();
        let here = forward::ServeForwarded {
            local: &self.local,
            node: &self.core.node,
            received: &self.core.received,
            table: &table,
            registry: &self.core.registry,
        };
        forward::serve_forwarded(here, request).await
    }

    /// The requests delivered to each pod of this node that serves HTTP (or did while
    /// its counters were kept: they go with the pod's last EndpointSlice entry), keyed by
    /// (namespace, pod). Counted where the data plane hands a request to the pod, whether
    /// it came in here or from a peer, so each request is counted once, by the pod's node.
    pub fn pod_requests(&self) -> Vec<((String, String), RequestCounters)> {
        let pods: Vec<_> = stats::lock(&self.core.registry)
            .requests
            .iter()
            .map(|(pod, requests)| (pod.clone(), requests.clone()))
            .collect();
        let mut out: Vec<_> = pods
            .into_iter()
            .map(|(pod, requests)| (pod, requests.snapshot()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The requests this agent holds now for Services without a ready endpoint, by
    /// Service (Services holding none are left out).
    pub fn held(&self) -> Vec<HeldRequests> {
        self.core
            .proxy
            .activator()
            .map(activator::Activator::held)
            .unwrap_or_default()
    }

    /// The data plane's metrics, in the Prometheus text format.
    pub fn metrics(&self) -> String {
        let registry = stats::lock(&self.core.registry);
        metrics::render(
            &registry,
            &self.local,
            self.core.received.load(Ordering::Relaxed),
        )
    }

    /// The addresses the data plane listens on for Services, as they change.
    pub fn listening(&self) -> watch::Receiver<BTreeSet<SocketAddr>> {
        self.core.listening.subscribe()
    }
}
