//! `skiff agent`: joins this machine to a cluster as a node — registers the Node, keeps
//! its Lease and status fresh — until SIGINT/SIGTERM. Running pods comes next.

use crate::signal::ShutdownSignals;
use anyhow::Context;
use clap::Args;
use skiff_agent::AgentConfig;
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

    /// Address for the agent's endpoints; its IP is reported as the node's InternalIP.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:10250")]
    listen: SocketAddr,

    /// How often the node's lease and status are renewed (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration,
          default_value = "10s")]
    lease_interval: Duration,
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
        let mut agent = AgentConfig::new(self.name, self.listen);
        agent.lease_interval = self.lease_interval;
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let signal = signals.recv().await;
            eprintln!("{}: shutting down", signal.name());
            stop.cancel();
        });
        eprintln!("Skiff agent: node {} joining", agent.name);
        skiff_agent::run(client, agent, shutdown).await?;
        Ok(())
    }
}
