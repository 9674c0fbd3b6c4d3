//! [`AgentConfig`]: the node's name, where it serves and keeps its files, how often it
//! reports, the knobs of its pod lifecycle (restart backoff, allowed host paths) and the
//! bounds of the requests its data plane holds for Services at zero ([`ActivatorConfig`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Lease renewal (and status) interval: 2 s, a fifth of the control plane's default node
/// monitor grace (the kubelet renews every 10 s against a 50 s grace). Wasm pods restart in
/// milliseconds, so how soon a dead node is noticed bounds recovery; a renewal is cheap.
pub const DEFAULT_LEASE_INTERVAL: Duration = Duration::from_secs(2);

/// Lease duration as a multiple of the renewal interval (the kubelet renews a 40 s lease
/// every 10 s).
pub const LEASE_DURATION_FACTOR: u32 = 4;

/// First delay before restarting a container that ended: the kubelet's 10 s.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(10);

/// Longest restart delay: the kubelet's 5 minutes.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A container that ran this long before ending restarts with the backoff reset to its
/// base: the kubelet's 10 minutes.
pub const DEFAULT_BACKOFF_RESET: Duration = Duration::from_secs(600);

/// Requests held per Service with no ready endpoint before new ones get 503: Knative's
/// activator queues up to 10,000 per revision (`breakerQueueDepth`). A held request costs
/// its connection and a parked task (a few kilobytes), so a full queue stays in the tens
/// of megabytes while absorbing any realistic burst that arrives during a cold start.
pub const DEFAULT_ACTIVATOR_QUEUE_DEPTH: u32 = 10_000;

/// How long a request is held for a ready endpoint before 504. Knative holds up to the
/// revision timeout (300 s); a wasm pod starts in milliseconds, and a scale from zero
/// (autoscaler, scheduler, agent, endpoints) takes well under a second, seconds with an
/// image pull — 30 s covers that with room, and ends before the 60 s after which common
/// proxies and clients give up, so the client hears why rather than losing the connection.
pub const DEFAULT_ACTIVATOR_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds of the requests the data plane holds for Services with no ready endpoint.
#[derive(Clone, Copy, Debug)]
pub struct ActivatorConfig {
    /// Requests held per Service at most; further ones get 503.
    pub queue_depth: u32,
    /// How long a request is held at most; then it gets 504.
    pub timeout: Duration,
}

impl Default for ActivatorConfig {
    fn default() -> Self {
        Self {
            queue_depth: DEFAULT_ACTIVATOR_QUEUE_DEPTH,
            timeout: DEFAULT_ACTIVATOR_TIMEOUT,
        }
    }
}

/// How a container's restarts are delayed.
#[derive(Clone, Copy, Debug)]
pub struct BackoffConfig {
    /// First delay; each further restart doubles it.
    pub base: Duration,
    /// Cap on the delay.
    pub max: Duration,
    /// Run time after which the delay starts over from `base`.
    pub reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            base: DEFAULT_BACKOFF_BASE,
            max: DEFAULT_BACKOFF_MAX,
            reset_after: DEFAULT_BACKOFF_RESET,
        }
    }
}

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The Node's name.
    pub name: String,
    /// Address the agent serves logs and the data plane on; its IP is the node's address.
    pub listen: SocketAddr,
    /// Where the agent keeps pod directories, logs, images and compiled modules.
    pub data_dir: PathBuf,
    /// How often the lease and status are renewed.
    pub lease_interval: Duration,
    /// Pods the node accepts (its instance pool).
    pub max_pods: u32,
    /// Restart backoff of containers.
    pub backoff: BackoffConfig,
    /// Host directories (and everything under them) that `hostPath` volumes may mount.
    pub host_path_allow: Vec<PathBuf>,
    /// Registries (`host[:port]`) pulled from over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Bounds of the requests held for Services at zero.
    pub activator: ActivatorConfig,
}

impl AgentConfig {
    /// A config for `name` with defaults, keeping its files under `data_dir`.
    pub fn new(name: impl Into<String>, listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            listen,
            data_dir: data_dir.into(),
            lease_interval: DEFAULT_LEASE_INTERVAL,
            max_pods: skiff_runtime::DEFAULT_MAX_INSTANCES,
            backoff: BackoffConfig::default(),
            host_path_allow: Vec::new(),
            insecure_registries: Vec::new(),
            activator: ActivatorConfig::default(),
        }
    }

    /// The node's address as peers reach it: the listen address's IP, or loopback when the
    /// agent listens on every interface (`0.0.0.0`, `::`), which is no address to give out.
    pub fn node_ip(&self) -> std::net::IpAddr {
        match self.listen.ip() {
            ip if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            ip => ip,
        }
    }

    /// Directory of pod directories (volumes).
    pub fn pods_dir(&self) -> PathBuf {
        self.data_dir.join("pods")
    }

    /// Directory of container logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// Directory of pulled images.
    pub fn images_dir(&self) -> PathBuf {
        self.data_dir.join("images")
    }

    /// Directory of precompiled modules.
    pub fn modules_dir(&self) -> PathBuf {
        self.data_dir.join("modules")
    }
}
