//! `skiff agent`: joins this machine to a cluster as a node — registers the Node, keeps
//! its Lease and status fresh, runs the pods bound to it, serves their logs — until
//! SIGINT/SIGTERM. [`NodeOptions`] are the node's tunables, shared with `skiff up`.

use crate::signal::ShutdownSignals;
use anyhow::Context;
use clap::Args;
use skiff_agent::AgentConfig;
use skiff_agent::config::BackoffConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Join a node to the cluster.
#[derive(Args, Debug)]
pub struct AgentCommand {
    /// Kubeconfig of the API server to join.
    #[arg(long, value_name = "FILE")]
    kubeconfig: PathBuf,

    /// The node's name.
    #[arg(long, value_name = "NODE")]
    name: String,

    /// Where the node keeps pod volumes, logs, images and compiled modules.
    #[arg(long, value_name = "DIR", default_value = "skiff-agent-data")]
    data_dir: PathBuf,

    /// Address for the agent's endpoints (logs); its IP is reported as the node's
    /// InternalIP (loopback when it is 0.0.0.0). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:10250")]
    listen: SocketAddr,

    /// The node's tunables.
    #[command(flatten)]
    options: NodeOptions,
}

/// What `skiff agent` and `skiff up` tune of the node they run.
#[derive(Args, Debug)]
pub struct NodeOptions {
    /// How often the node's lease and status are renewed (e.g. 2s, 500ms). The control
    /// plane marks a node NotReady after five missed renewals at this default (its
    /// --node-monitor-grace-period, 10 s); Kubernetes renews every 10 s and waits 50 s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration,
          default_value = "2s")]
    lease_interval: Duration,

    /// Pods the node accepts: the size of its wasm instance pool.
    #[arg(long, value_name = "N", default_value_t = skiff_runtime::DEFAULT_MAX_INSTANCES)]
    max_pods: u32,

    /// First delay before restarting a container that ended (doubles per restart up to
    /// 5 minutes).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration,
          default_value = "10s")]
    restart_backoff: Duration,

    /// A host directory that hostPath volumes may mount (and anything under it);
    /// repeatable. Without it, hostPath volumes are refused.
    #[arg(long = "allow-host-path", value_name = "DIR")]
    host_path_allow: Vec<PathBuf>,

    /// A registry (host[:port]) to pull from over plain HTTP; repeatable. Registries on
    /// localhost always are.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    insecure_registries: Vec<String>,

    /// Requests held per Service with no ready endpoint (the activator role, while the
    /// Service scales from zero); further ones get 503. Knative queues 10,000 per revision.
    #[arg(long, value_name = "N",
          default_value_t = skiff_agent::config::DEFAULT_ACTIVATOR_QUEUE_DEPTH)]
    activator_queue_depth: u32,

    /// How long a request is held for a Service with no ready endpoint before it gets 504
    /// (e.g. 30s). Knative holds up to the revision timeout (300 s); a wasm pod starts in
    /// milliseconds, so 30 s leaves room for an image pull and ends before common client
    /// and proxy timeouts (60 s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration,
          default_value = "30s")]
    activator_timeout: Duration,
}

impl AgentCommand {
    /// Runs the agent until SIGINT or SIGTERM.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut signals = ShutdownSignals::install().context("cannot install signal handlers")?;
        let client = crate::client::from_kubeconfig(&self.kubeconfig).await?;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let listen = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let agent = self.options.config(self.name, listen, self.data_dir);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let signal = signals.recv().await;
            eprintln!("{}: shutting down", signal.name());
            stop.cancel();
        });
        eprintln!(
            "Skiff agent: node {} joining, serving on {listen}",
            agent.name
        );
        skiff_agent::run(client, agent, listener, shutdown).await?;
        Ok(())
    }
}

impl NodeOptions {
    /// The agent's configuration for node `name`, serving on `listen` (the bound address)
    /// and keeping its files in `data_dir`.
    pub fn config(self, name: String, listen: SocketAddr, data_dir: PathBuf) -> AgentConfig {
        let mut agent = AgentConfig::new(name, listen, data_dir);
        agent.lease_interval = self.lease_interval;
        agent.max_pods = self.max_pods;
        agent.backoff = BackoffConfig {
            base: self.restart_backoff,
            ..BackoffConfig::default()
        };
        agent.host_path_allow = self.host_path_allow;
        agent.insecure_registries = self.insecure_registries;
        agent.activator = skiff_agent::config::ActivatorConfig {
            queue_depth: self.activator_queue_depth,
            timeout: self.activator_timeout,
        };
        agent
    }
}
