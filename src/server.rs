//! `skiff server`: runs the control plane — the API server on a redb store and a module
//! store in `--data-dir`, with the controller manager — writes `DATA_DIR/kubeconfig` for an
//! admin user, and stops cleanly on SIGINT/SIGTERM. Started again on the same directory,
//! it serves the same data. The start itself is [`crate::controlplane`], shared with
//! `skiff up`.

use crate::apiserver_flags::ApiServerArgs;
use crate::autoscaler_flags::AutoscalerArgs;
use crate::controlplane::ControlPlane;
use crate::manager_flags::ManagerArgs;
use crate::signal::ShutdownSignals;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Default API address: loopback, on the port Kubernetes API servers use.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6443";

/// Default data directory of `skiff server` and `skiff up`.
pub const DEFAULT_DATA_DIR: &str = "skiff-data";

/// Run the API server.
#[derive(Args, Debug)]
pub struct ServerCommand {
    /// Directory for the store, the modules and the kubeconfig (created if missing).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    /// Address to serve the API on; port 0 picks a free one (the kubeconfig names it).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,

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

impl ServerCommand {
    /// Runs the server until SIGINT or SIGTERM.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut signals = ShutdownSignals::install().context("cannot install signal handlers")?;
        let mut manager: skiff_controlplane::machinery::config::Config =
            self.manager.clone().into();
        manager.autoscaler = self.autoscaler.config()?;
        let mut control =
            ControlPlane::start(&self.data_dir, self.listen, &self.api, manager).await?;
        eprintln!("Skiff API server listening on {}", control.url);
        eprintln!("  export KUBECONFIG={}", control.kubeconfig.display());
        eprintln!("  kubectl get namespaces");
        let failure = tokio::select! {
            signal = signals.recv() => {
                eprintln!("{}: shutting down", signal.name());
                None
            }
            error = control.failed() => Some(error),
        };
        control.stop().await?;
        failure.map_or(Ok(()), Err)
    }
}
