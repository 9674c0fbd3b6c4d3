//! `skiff up`: a whole cluster in one foreground process — the control plane
//! ([`crate::controlplane`]) and one local agent — on a data directory: `DIR/store.redb`,
//! `DIR/modules`, `DIR/agent` and the admin kubeconfig `DIR/kubeconfig`. Once the node is
//! Ready it applies the `-f` manifests (as `skiff apply` does), prints how to use the
//! cluster, and runs until SIGINT/SIGTERM, when the agent and then the API server stop.
//! Started again on the same directory, it brings the same cluster back.
//!
//! Bad input (a missing or invalid manifest, a missing module, a port in use) fails with
//! one line and exit status 1 before anything is started, where it can be told then.

use crate::agent::NodeOptions;
use crate::apiserver_flags::ApiServerArgs;
use crate::autoscaler_flags::AutoscalerArgs;
use crate::controlplane::ControlPlane;
use crate::manager_flags::ManagerArgs;
use crate::manifests::{self, Manifests};
use crate::server::{DEFAULT_DATA_DIR, DEFAULT_LISTEN};
use crate::signal::ShutdownSignals;
use anyhow::{Context, bail};
use clap::Args;
use kube::api::{Api, ApiResource, DynamicObject};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long the node may take to register and report Ready: the agent is local, so this
/// only passes if something is wrong, and then the user hears about it.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the agent may take to stop its pods at shutdown before it is abandoned.
pub const AGENT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the node's Ready condition is polled while starting.
const READY_POLL: Duration = Duration::from_millis(100);

/// The node name when the machine's hostname is not a valid one.
const FALLBACK_NODE_NAME: &str = "skiff-node";

/// Run a cluster — control plane and one node — in the foreground.
#[derive(Args, Debug)]
pub struct UpCommand {
    /// Directory for the store, the modules, the node's files and the kubeconfig (created
    /// if missing; started again on it, the cluster comes back as it was).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    /// Address to serve the API on; port 0 picks a free one (the kubeconfig names it).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// A manifest file, or a directory of them, to apply once the node is Ready;
    /// repeatable. Images that start with ./ or ../ are local wasm files.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// The node's name [default: the machine's hostname].
    #[arg(long, value_name = "NAME")]
    node_name: Option<String>,

    /// Address of the agent's endpoints (logs); port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    agent_listen: SocketAddr,

    /// The node's tunables.
    #[command(flatten)]
    node: NodeOptions,

    /// Node failure and pod garbage collection timings.
    #[command(flatten)]
    manager: ManagerArgs,

    /// Requests worked on at once.
    #[command(flatten)]
    api: ApiServerArgs,

    /// Request-driven autoscaling defaults (Knative's config-autoscaler keys).
    #[command(flatten)]
    autoscaler: AutoscalerArgs,
}

impl UpCommand {
    /// Runs the cluster until SIGINT or SIGTERM.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut signals = ShutdownSignals::install().context("cannot install signal handlers")?;
        // Everything that can be checked before starting is checked first.
        let node_name = match self.node_name {
            Some(name) if is_node_name(&name) => name,
            Some(name) => bail!(
                "invalid node name {name:?}: use lowercase letters, digits, '-' and '.', \
                 starting and ending with a letter or digit"
            ),
            None => default_node_name(),
        };
        let mut manifests = manifests::load(&self.paths)?;
        manifests.order();
        let agent_listener = tokio::net::TcpListener::bind(self.agent_listen)
            .await
            .with_context(|| format!("cannot listen on {} (agent)", self.agent_listen))?;
        let agent_addr = agent_listener
            .local_addr()
            .context("cannot read the agent's address")?;

        let stop = CancellationToken::new();
        let stopping = stop.clone();
        tokio::spawn(async move {
            let signal = signals.recv().await;
            eprintln!("{}: shutting down", signal.name());
            stopping.cancel();
        });

        let mut manager: skiff_controlplane::machinery::config::Config =
            self.manager.clone().into();
        manager.autoscaler = self.autoscaler.config()?;
        let mut control =
            ControlPlane::start(&self.data_dir, self.listen, &self.api, manager).await?;
        eprintln!(
            "Skiff: store {} opened ({} objects)",
            control.store_path.display(),
            control.objects
        );
        eprintln!("Skiff: API server listening on {}", control.url);

        let client = match crate::client::from_kubeconfig(&control.kubeconfig).await {
            Ok(client) => client,
            Err(e) => {
                control.stop().await?;
                return Err(e);
            }
        };
        let config = self
            .node
            .config(node_name.clone(), agent_addr, self.data_dir.join("agent"));
        let since = SystemTime::now();
        let mut agent = Agent::start(client.clone(), config, agent_listener);
        eprintln!("Skiff: node {node_name} starting (agent on {agent_addr})");

        let outcome = async {
            tokio::select! {
                ready = wait_ready(&client, &node_name, since) => ready?,
                () = stop.cancelled() => return Ok(()),
                error = control.failed() => return Err(error),
                error = agent.ended() => return Err(error),
            }
            eprintln!("Skiff: node {node_name} registered and Ready");
            if !manifests.objects.is_empty() {
                tokio::select! {
                    applied = apply(&client, &manifests) => applied?,
                    () = stop.cancelled() => return Ok(()),
                    error = control.failed() => return Err(error),
                    error = agent.ended() => return Err(error),
                }
            }
            let kubeconfig = std::path::absolute(&control.kubeconfig)
                .unwrap_or_else(|_| control.kubeconfig.clone());
            eprintln!("Cluster ready: API {}, node {node_name}", control.url);
            eprintln!("  export KUBECONFIG={}", kubeconfig.display());
            eprintln!("  kubectl get pods");
            eprintln!("Press Ctrl-C to stop.");
            tokio::select! {
                () = stop.cancelled() => Ok(()),
                error = control.failed() => Err(error),
                error = agent.ended() => Err(error),
            }
        }
        .await;

        agent.stop().await;
        let stopped = control.stop().await;
        eprintln!("Skiff: stopped");
        outcome.and(stopped)
    }
}

/// Uploads the manifests' modules and applies their objects, one line per object.
async fn apply(client: &kube::Client, manifests: &Manifests) -> anyhow::Result<()> {
    if !manifests.modules.is_empty() {
        crate::apply::upload(client, &manifests.modules).await?;
        eprintln!(
            "Skiff: {} module(s) in the module store",
            manifests.modules.len()
        );
    }
    crate::apply::apply(client, manifests, |line| eprintln!("  {line}")).await
}

/// The in-process agent.
struct Agent {
    /// Its task; `None` once [`Agent::ended`] has seen it end.
    task: Option<JoinHandle<skiff_agent::Result<()>>>,
    shutdown: CancellationToken,
}

impl Agent {
    fn start(
        client: kube::Client,
        config: skiff_agent::AgentConfig,
        listener: tokio::net::TcpListener,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(skiff_agent::run(client, config, listener, shutdown.clone()));
        Self {
            task: Some(task),
            shutdown,
        }
    }

    /// Waits until the agent stops by itself, which only a failure makes it do.
    /// Cancel-safe.
    async fn ended(&mut self) -> anyhow::Error {
        let Some(task) = self.task.as_mut() else {
            return std::future::pending().await;
        };
        let result = task.await;
        self.task = None;
        match result {
            Ok(Ok(())) => anyhow::anyhow!("the agent stopped"),
            Ok(Err(e)) => anyhow::Error::new(e).context("the agent stopped"),
            Err(e) => anyhow::Error::new(e).context("the agent's task failed"),
        }
    }

    /// Stops the agent, waiting up to [`AGENT_STOP_TIMEOUT`] for its pods to stop.
    async fn stop(mut self) {
        self.shutdown.cancel();
        let Some(task) = self.task.take() else {
            return;
        };
        let abort = task.abort_handle();
        match tokio::time::timeout(AGENT_STOP_TIMEOUT, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("Skiff: the agent stopped with an error: {e}"),
            Ok(Err(e)) => eprintln!("Skiff: the agent's task failed: {e}"),
            Err(_) => {
                eprintln!("Skiff: the agent did not stop within {AGENT_STOP_TIMEOUT:?}");
                abort.abort();
            }
        }
    }
}

/// Waits until node `name` reports Ready with a heartbeat from this run (at or after
/// `since`, to the second), bounded by [`DEFAULT_READY_TIMEOUT`].
async fn wait_ready(client: &kube::Client, name: &str, since: SystemTime) -> anyhow::Result<()> {
    let nodes: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Node".into(),
            plural: "nodes".into(),
        },
    );
    let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let poll = async {
        loop {
            if let Ok(Some(node)) = nodes.get_opt(name).await
                && ready_since(&node.data, since)
            {
                return;
            }
            tokio::time::sleep(READY_POLL).await;
        }
    };
    tokio::time::timeout(DEFAULT_READY_TIMEOUT, poll)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "node {name} did not become Ready within {}s",
                DEFAULT_READY_TIMEOUT.as_secs()
            )
        })
}

/// Whether a Node's data has a Ready=True condition with a heartbeat at or after `since`
/// (seconds since the epoch).
fn ready_since(node: &serde_json::Value, since: u64) -> bool {
    let Some(conditions) = node
        .pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
    else {
        return false;
    };
    conditions.iter().any(|c| {
        c["type"] == "Ready"
            && c["status"] == "True"
            && c["lastHeartbeatTime"]
                .as_str()
                .and_then(|t| humantime::parse_rfc3339(t).ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .is_some_and(|t| t.as_secs() >= since)
    })
}

/// The machine's hostname, lowercased, if it is a valid node name; else
/// [`FALLBACK_NODE_NAME`].
fn default_node_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(Path::new(path)).ok())
        .map(|name| name.trim().to_ascii_lowercase())
        .find(|name| is_node_name(name))
        .unwrap_or_else(|| FALLBACK_NODE_NAME.to_owned())
}

/// Whether `name` is a DNS subdomain (RFC 1123), as Node names must be.
fn is_node_name(name: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && label.len() <= 63
                && bytes.first().copied().is_some_and(alnum)
                && bytes.last().copied().is_some_and(alnum)
                && bytes.iter().all(|&b| alnum(b) || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn node_names_are_dns_subdomains() {
        for good in ["node-a", "a", "skiff.local", "n1.example.com"] {
            assert!(is_node_name(good), "{good}");
        }
        for bad in ["", "Node", "-a", "a-", "a..b", "a_b", &"x".repeat(64)] {
            assert!(!is_node_name(bad), "{bad}");
        }
        assert!(is_node_name(&default_node_name()));
    }

    #[test]
    fn ready_needs_a_fresh_heartbeat() {
        let node = |status: &str, heartbeat: &str| {
            json!({"status": {"conditions": [
                {"type": "Ready", "status": status, "lastHeartbeatTime": heartbeat}
            ]}})
        };
        let since = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert!(ready_since(&node("True", "2026-01-01T00:00:00Z"), since));
        assert!(ready_since(&node("True", "2026-01-01T00:00:05Z"), since));
        assert!(!ready_since(&node("True", "2025-12-31T23:59:59Z"), since));
        assert!(!ready_since(&node("False", "2026-01-01T00:00:05Z"), since));
        assert!(!ready_since(&json!({"status": {}}), since));
    }
}
