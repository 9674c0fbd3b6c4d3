//! [`Config`]: the timings and switches of the controller manager — how fast a dead node is
//! noticed and its pods moved ([`DEFAULT_NODE_MONITOR_GRACE`], [`DEFAULT_TOLERATION`]) and
//! how many finished pods are kept ([`DEFAULT_TERMINATED_POD_THRESHOLD`]), how the
//! HorizontalPodAutoscaler samples and decides ([`DEFAULT_HPA_SYNC_PERIOD`],
//! [`DEFAULT_HPA_TOLERANCE`], [`DEFAULT_HPA_DOWNSCALE_STABILIZATION`],
//! [`DEFAULT_HPA_CPU_INITIALIZATION_PERIOD`], [`DEFAULT_HPA_INITIAL_READINESS_DELAY`]) —
//! with the reasons for their defaults — and the request-driven autoscaler's defaults
//! ([`autoscaler`](Config::autoscaler)).

use std::time::Duration;

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

/// Default [`Config::hpa_sync_period`]: 1 s (Kubernetes: 15 s). Kubernetes waits 15 s
/// between looks because each one scrapes metrics-server, which itself scrapes kubelets
/// every 15 s, and because a container takes seconds to start, so looking sooner buys
/// nothing. Here the figures are already in the control plane's memory (the agents push
/// them; nothing is scraped), a look costs a cache read per pod and no write unless the
/// status changed, and a wasm pod is serving milliseconds after it is scaled up — so the
/// sync period, not the pods, bounds the reaction to load. One second is half the
/// collector's 2 s resource window: every window is seen at least once, and load is
/// noticed within about a second. Rates of change stay bounded by `behavior`'s policies
/// (per 15 s by default), not by this period.
pub const DEFAULT_HPA_SYNC_PERIOD: Duration = Duration::from_secs(1);

/// Default [`Config::hpa_tolerance`]: Kubernetes' 0.1 — a usage within 10 % of the target
/// changes nothing, which keeps noise from moving the replica count.
pub const DEFAULT_HPA_TOLERANCE: f64 = 0.1;

/// Default [`Config::hpa_downscale_stabilization`]: Kubernetes' 300 s. The highest
/// recommendation of this window is applied on the way down, so a dip in load does not
/// shed pods that the next burst needs; fast pod starts make a wrong scale-down cheaper
/// but not free (requests queue while pods come back), and users who want faster
/// scale-down set `behavior.scaleDown.stabilizationWindowSeconds` per HPA.
pub const DEFAULT_HPA_DOWNSCALE_STABILIZATION: Duration = Duration::from_secs(300);

/// Default [`Config::hpa_cpu_initialization_period`]: 10 s (Kubernetes: 300 s). Within this
/// time of a pod's start, its CPU samples count only if taken wholly while it was ready:
/// Kubernetes guards against JIT warm-up and cache filling, which burn CPU for minutes in
/// a fresh container. A wasm pod's module is compiled ahead on the node and instantiated in
/// microseconds, so there is little warm-up to hide; 10 s is five 2 s resource windows,
/// enough for the first requests' instance pool to settle.
pub const DEFAULT_HPA_CPU_INITIALIZATION_PERIOD: Duration = Duration::from_secs(10);

/// Default [`Config::hpa_initial_readiness_delay`]: 2 s (Kubernetes: 30 s). A pod not
/// ready whose readiness last changed within this time of its start is taken as never
/// ready yet, and its CPU sample is ignored. Kubernetes allows 30 s for a container's
/// readiness to settle after start; a wasm pod is ready within a probe period of
/// starting, and one 2 s window covers that.
pub const DEFAULT_HPA_INITIAL_READINESS_DELAY: Duration = Duration::from_secs(2);

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
    /// How often each HorizontalPodAutoscaler is evaluated
    /// (`--horizontal-pod-autoscaler-sync-period`).
    pub hpa_sync_period: Duration,
    /// The usage-to-target ratio distance from 1 within which the HPA does not scale
    /// (`--horizontal-pod-autoscaler-tolerance`).
    pub hpa_tolerance: f64,
    /// The scale-down stabilization window of HPAs that set none
    /// (`--horizontal-pod-autoscaler-downscale-stabilization`).
    pub hpa_downscale_stabilization: Duration,
    /// How long after a pod starts its CPU samples need a full window of readiness
    /// (`--horizontal-pod-autoscaler-cpu-initialization-period`).
    pub hpa_cpu_initialization_period: Duration,
    /// How long after a pod starts it may turn not-ready and still count as never ready
    /// (`--horizontal-pod-autoscaler-initial-readiness-delay`).
    pub hpa_initial_readiness_delay: Duration,
    /// The request-driven autoscaler's cluster-wide defaults.
    pub autoscaler: crate::controllers::kpa::config::Config,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            node_monitor_grace: DEFAULT_NODE_MONITOR_GRACE,
            default_toleration: DEFAULT_TOLERATION,
            terminated_pod_threshold: DEFAULT_TERMINATED_POD_THRESHOLD,
            hpa_sync_period: DEFAULT_HPA_SYNC_PERIOD,
            hpa_tolerance: DEFAULT_HPA_TOLERANCE,
            hpa_downscale_stabilization: DEFAULT_HPA_DOWNSCALE_STABILIZATION,
            hpa_cpu_initialization_period: DEFAULT_HPA_CPU_INITIALIZATION_PERIOD,
            hpa_initial_readiness_delay: DEFAULT_HPA_INITIAL_READINESS_DELAY,
            autoscaler: Default::default(),
        }
    }
}
