//! [`AgentConfig`]: the node's name, where it serves, and how often it reports.

use std::net::SocketAddr;
use std::time::Duration;

/// Lease renewal (and status) interval: the kubelet's default.
pub const DEFAULT_LEASE_INTERVAL: Duration = Duration::from_secs(10);

/// Lease duration as a multiple of the renewal interval (the kubelet renews a 40 s lease
/// every 10 s).
pub const LEASE_DURATION_FACTOR: u32 = 4;

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The Node's name.
    pub name: String,
    /// Address the agent serves logs and the data plane on; its IP is the node's address.
    pub listen: SocketAddr,
    /// How often the lease and status are renewed.
    pub lease_interval: Duration,
    /// Pods the node accepts (its instance pool).
    pub max_pods: u32,
}

impl AgentConfig {
    /// A config for `name` with defaults.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        Self {
            name: name.into(),
            listen,
            lease_interval: DEFAULT_LEASE_INTERVAL,
            max_pods: skiff_runtime::DEFAULT_MAX_INSTANCES,
        }
    }
}
