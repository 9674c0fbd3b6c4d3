//! `skiff agent`: joins this machine to a cluster as a node — registers the Node, keeps
//! its Lease and status fresh, runs the pods bound to it, serves their logs — until
//! SIGINT/SIGTERM.

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

    /// How often the node's lease and status are renewed (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration,
          default_value = "10s")]
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
}

impl AgentCommand {
    /// Runs the agent until SIGINT or SIGTERM.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut signals = ShutdownSignals::install().context("cannot install signal handlers")?;
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .with_context(|| format!("cannot read {}", self.kubeconfig.display()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .with_context(|| format!("cannot use {}", self.kubeconfig.display()))?;
        let client = kube::Client::try_from(config).context("cannot create the API client")?;
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let listen = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let mut agent = AgentConfig::new(self.name, listen, self.data_dir);
        agent.lease_interval = self.lease_interval;
        agent.max_pods = self.max_pods;
        agent.backoff = BackoffConfig {
            base: self.restart_backoff,
            ..BackoffConfig::default()
        };
        agent.host_path_allow = self.host_path_allow;
        agent.insecure_registries = self.insecure_registries;
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
