//! `skiff-agent`: Skiff's node agent (its kubelet). It talks to the API server only through
//! the `kube` client, as it would to any Kubernetes API server.
//!
//! [`run`] registers the node and keeps it alive, runs the pods bound to it and serves its
//! endpoint. Parts: [`config`] (what the agent is told), [`node`] (the Node object and its
//! status), [`lease`] (the heartbeat Lease), [`pods`] (the pods: admission, workers,
//! containers, status), [`image`] (pulling images), [`compiled`] (compiled modules by
//! digest), [`sources`] (ConfigMaps and Secrets), [`logs`] (container logs on disk),
//! [`events`] (the node's Event recorder), [`stats`] (CPU and memory per container, pod and
//! node: the stats stream and the resource metrics), [`endpoint`] (the node's HTTP
//! endpoint: container logs, metrics, the stats stream, requests forwarded by peers),
//! [`dataplane`] (Service traffic: node ports, routing, forwarding to peers, metrics) and
//! [`http_server`] (the HTTP/1.1 serving both of those run on); [`host`] checks that the
//! host's kernel allows the pods asked for; `watched` trims what the watches keep.
//! Kubernetes vocabulary (quantities, events, times) comes from `skiff-model`.

pub mod compiled;
pub mod config;
pub mod dataplane;
pub mod endpoint;
pub mod events;
pub mod host;
pub mod http_server;
pub mod image;
pub mod lease;
pub mod logs;
pub mod node;
pub mod pods;
pub mod sources;
pub mod stats;
pub(crate) mod watched;

pub use config::AgentConfig;

use kube::Client;
use pods::context::Context;
use skiff_runtime::{Runtime, RuntimeConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Talking to the API server failed.
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
    /// The kubeconfig could not be used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The agent's data directory could not be set up.
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The wasm runtime could not start.
    #[error("wasm runtime: {0}")]
    Runtime(#[from] skiff_runtime::Error),
    /// `--max-pods` asks for more instance slots than the machine's address space holds.
    #[error(
        "--max-pods {requested} is more than this machine can hold: its address space fits at most {max} pods"
    )]
    TooManyPods {
        /// The pods asked for.
        requested: u32,
        /// The most that fit.
        max: u32,
    },
    /// `--max-pods` asks for more memory mappings than the host allows a process.
    #[error(transparent)]
    TooManyMappings(#[from] host::TooManyMappings),
    /// The image store could not start.
    #[error("image store: {0}")]
    Images(#[from] image::PullError),
}

/// Result alias for the agent.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest wait between attempts to register while the API server is unreachable.
const REGISTER_RETRY_MAX: Duration = Duration::from_secs(5);

/// Registers the node, runs its pods, serves its endpoint on `listener` and renews its
/// lease and status every `config.lease_interval`, until `shutdown` is cancelled.
/// Transient API failures are logged and retried: running pods outlive an API server
/// outage, and the agent catches up when it returns.
pub async fn run(
    client: Client,
    config: AgentConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let data_dir = |path: &std::path::Path| {
        std::fs::create_dir_all(path).map_err(|source| Error::DataDir {
            path: path.to_path_buf(),
            source,
        })
    };
    data_dir(&config.pods_dir())?;
    data_dir(&config.modules_dir())?;
    host::check_mappings(config.max_pods)?;
    let runtime = Runtime::new(RuntimeConfig {
        max_instances: config.max_pods.max(1),
        cache_dir: Some(config.modules_dir()),
        ..RuntimeConfig::default()
    })
    .map_err(|error| match error {
        skiff_runtime::Error::TooManyInstances { requested, max } => {
            Error::TooManyPods { requested, max }
        }
        other => Error::Runtime(other),
    })?;
    match runtime.memory_layout() {
        skiff_runtime::MemoryLayout::Guarded => tracing::info!(
            max_pods = config.max_pods,
            "instance pool: guard regions (no bounds checks in compiled code)"
        ),
        skiff_runtime::MemoryLayout::Compact => tracing::info!(
            max_pods = config.max_pods,
            "instance pool: compact memories with bounds checks (a guarded pool this large \
             does not fit in the address space)"
        ),
    }
    let images = image::ImageStore::with_client(
        config.images_dir(),
        config.insecure_registries.clone(),
        client.clone(),
    )?;
    let logs = logs::LogRegistry::new(config.logs_dir()).map_err(|source| Error::DataDir {
        path: config.logs_dir(),
        source,
    })?;

    let mut delay = Duration::from_millis(100);
    loop {
        match node::register(&client, &config).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(node = %config.name, error = %e, "cannot register the node; retrying")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(REGISTER_RETRY_MAX);
    }
    tracing::info!(node = %config.name, "node registered");

    let dataplane = dataplane::DataPlane::start(client.clone(), &config, shutdown.clone());
    let usage = stats::UsageRegistry::new();
    let ctx = Arc::new(Context {
        client: client.clone(),
        host_ip: config.node_ip().to_string(),
        images,
        modules: compiled::Modules::new(runtime),
        sources: sources::Sources::start(client.clone(), shutdown.clone()),
        logs: logs.clone(),
        events: events::start_recorder(client.clone(), config.name.clone(), shutdown.clone()),
        reporter: pods::report::StatusReporter::start(client.clone(), shutdown.clone()),
        dataplane: dataplane.clone(),
        stats: usage.clone(),
        config: config.clone(),
    });
    let node_stats = stats::NodeStats {
        node: config.name.clone(),
        usage,
        dataplane: Some(dataplane),
    };
    let server = tokio::spawn(endpoint::serve_node(
        listener,
        logs,
        node_stats,
        shutdown.clone(),
    ));
    let pods = tokio::spawn(pods::manager::run(
        ctx,
        node::allocatable(&config),
        shutdown.clone(),
    ));

    let mut tick = tokio::time::interval(config.lease_interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = lease::renew(&client, &config).await {
            tracing::warn!(node = %config.name, error = %e, "lease renewal failed; retrying");
        }
        if let Err(e) = node::report_status(&client, &config).await {
            tracing::warn!(node = %config.name, error = %e, "node status update failed; retrying");
        }
    }
    let _ = pods.await;
    if let Ok(Err(e)) = server.await {
        tracing::warn!(error = %e, "agent endpoint failed");
    }
    Ok(())
}
