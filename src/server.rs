//! `skiff server`: runs the control plane's API server on a redb store in `--data-dir`,
//! writes `DATA_DIR/kubeconfig` for an admin user, and stops cleanly on SIGINT/SIGTERM.
//! Started again on the same directory, it serves the same data.

use crate::signal::ShutdownSignals;
use anyhow::Context;
use clap::Args;
use skiff_controlplane::api::{self, ApiState};
use skiff_controlplane::bootstrap;
use skiff_controlplane::cache::{CachedStore, Config as CacheConfig};
use skiff_controlplane::store::{Config as StoreConfig, RedbStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Default API address: loopback, on the port Kubernetes API servers use.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6443";

/// Run the API server.
#[derive(Args, Debug)]
pub struct ServerCommand {
    /// Directory for the store and the kubeconfig (created if missing).
    #[arg(long, value_name = "DIR", default_value = "skiff-data")]
    data_dir: PathBuf,

    /// Address to serve the API on; port 0 picks a free one (the kubeconfig names it).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
}

impl ServerCommand {
    /// Runs the server until SIGINT or SIGTERM.
    pub fn execute(self) -> ExitCode {
        crate::block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<()> {
        let mut signals = ShutdownSignals::install().context("cannot install signal handlers")?;
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        let store_path = self.data_dir.join("store.redb");
        let store = {
            let path = store_path.clone();
            tokio::task::spawn_blocking(move || RedbStore::open(&path, StoreConfig::default()))
                .await
                .context("opening the store panicked")?
                .with_context(|| format!("cannot open the store at {}", store_path.display()))?
        };
        // Lists and watches are served from memory by the watch cache; writes go through it
        // to the store.
        let shutdown_cache = CancellationToken::new();
        let cache = CachedStore::start(
            Arc::new(store),
            CacheConfig::default(),
            shutdown_cache.clone(),
        )
        .await
        .context("cannot start the watch cache")?;
        let state = ApiState::new(Arc::new(cache));
        bootstrap::ensure_namespaces(&state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the system namespaces: {}", e.message))?;

        tokio::spawn(skiff_controlplane::grace::expire_graceful_deletions(
            state.clone(),
            shutdown_cache.clone(),
        ));

        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let addr = listener.local_addr().context("listener address")?;
        let kubeconfig = self.data_dir.join("kubeconfig");
        write_private(&kubeconfig, &bootstrap::kubeconfig(addr))
            .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
        eprintln!("Skiff API server listening on http://{addr}");
        eprintln!("  export KUBECONFIG={}", kubeconfig.display());
        eprintln!("  kubectl get namespaces");

        let shutdown = async move {
            let signal = signals.recv().await;
            eprintln!("{}: shutting down", signal.name());
        };
        api::serve(listener, state, shutdown)
            .await
            .context("serving the API")?;
        shutdown_cache.cancel();
        Ok(())
    }
}

/// Writes a file readable by its owner only (it grants admin access).
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}
