//! [`Config`]: the timings and switches of the controller manager — how fast a dead node is
//! noticed and its pods moved ([`DEFAULT_NODE_MONITOR_GRACE`], [`DEFAULT_TOLERATION`]) and
//! how many finished pods are kept ([`DEFAULT_TERMINATED_POD_THRESHOLD`]) — with the
//! reasons for their defaults — and the request-driven autoscaler's defaults
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
    /// The request-driven autoscaler's cluster-wide defaults.
    pub autoscaler: crate::controllers::kpa::config::Config,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            node_monitor_grace: DEFAULT_NODE_MONITOR_GRACE,
            default_toleration: DEFAULT_TOLERATION,
            terminated_pod_threshold: DEFAULT_TERMINATED_POD_THRESHOLD,
            autoscaler: Default::default(),
        }
    }
}
