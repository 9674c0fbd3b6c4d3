//! `skiff-agent`: Skiff's node agent (its kubelet). It talks to the API server only through
//! the `kube` client, as it would to any Kubernetes API server.
//!
//! Parts so far: [`config`] (what the agent is told), [`node`] (registering the Node and
//! reporting its status: capacity, addresses, node info, the Ready condition), [`lease`]
//! (the node's heartbeat Lease in `kube-node-lease`), and [`run`], which keeps both fresh
//! until shutdown. Running pods comes next.

pub mod config;
pub mod lease;
pub mod node;

pub use config::AgentConfig;

use kube::Client;
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
}

/// Result alias for the agent.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Registers the node, then renews its lease and status every `config.lease_interval`
/// until `shutdown` is cancelled. Transient API failures are logged and retried at the
/// next interval (running pods must outlive an API server outage).
pub async fn run(client: Client, config: AgentConfig, shutdown: CancellationToken) -> Result<()> {
    node::register(&client, &config).await?;
    tracing::info!(node = %config.name, "node registered");
    let mut tick = tokio::time::interval(config.lease_interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        if let Err(e) = lease::renew(&client, &config).await {
            tracing::warn!(node = %config.name, error = %e, "lease renewal failed; retrying");
        }
        if let Err(e) = node::report_status(&client, &config).await {
            tracing::warn!(node = %config.name, error = %e, "node status update failed; retrying");
        }
    }
}
