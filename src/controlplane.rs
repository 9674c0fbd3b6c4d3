//! The control plane as `skiff server` and `skiff up` run it: [`ControlPlane::start`]
//! binds the API address, opens the redb store and the module store in the data directory,
//! starts the watch cache and the controller manager (which expires graceful deletions), serves
//! the API and writes `DATA_DIR/kubeconfig`; [`ControlPlane::stop`] shuts it all down.

use anyhow::Context;
use skiff_controlplane::apiserver::filters::inflight::InFlight;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::bootstrap;
use skiff_controlplane::module_store::ModuleStore;
use skiff_controlplane::store::{Config as StoreConfig, RedbStore, Store};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running control plane.
pub struct ControlPlane {
    /// The address the API is served on (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// The admin kubeconfig, `DATA_DIR/kubeconfig`.
    pub kubeconfig: PathBuf,
    /// The redb file.
    pub store_path: PathBuf,
    /// API objects in the store when it was opened.
    pub objects: usize,
    /// Stops the API server (it then drains open requests).
    serve_shutdown: CancellationToken,
    /// Stops the watch cache and the background tasks, after the API server.
    background: CancellationToken,
    /// The API server's task; `None` once [`ControlPlane::failed`] has seen it end.
    serve: Option<JoinHandle<std::io::Result<()>>>,
}

impl ControlPlane {
    /// Starts the control plane on `data_dir` (created if missing), serving on `listen`
    /// with the request limits of `inflight`, and the controller manager configured by
    /// `manager`.
    /// The address is bound first, so a port in use fails before anything is opened.
    pub async fn start(
        data_dir: &Path,
        listen: SocketAddr,
        inflight: InFlight,
        manager: skiff_controlplane::machinery::config::Config,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("listener address")?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let store_path = data_dir.join("store.redb");
        let store = {
            let path = store_path.clone();
            tokio::task::spawn_blocking(move || RedbStore::open(&path, StoreConfig::default()))
                .await
                .context("opening the store panicked")?
                .with_context(|| format!("cannot open the store at {}", store_path.display()))?
        };
        let modules_dir = data_dir.join("modules");
        let modules = ModuleStore::open(&modules_dir).with_context(|| {
            format!("cannot open the module store at {}", modules_dir.display())
        })?;

        // Lists and watches are served from memory by the watch cache; writes go through it
        // to the store.
        let background = CancellationToken::new();
        let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), background.clone())
            .await
            .context("cannot start the watch cache")?;
        let objects = cache
            .list("/registry/")
            .await
            .map(|list| list.items.len())
            .unwrap_or_default();
        let mut state = ApiState::new(Arc::new(cache)).with_modules(Arc::new(modules));
        state.inflight = Arc::new(inflight);
        bootstrap::ensure_namespaces(&state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the system namespaces: {}", e.message))?;
        skiff_controlplane::manager::start(state.clone(), manager, background.clone())
            .await
            .context("cannot start the controller manager")?;

        let kubeconfig = data_dir.join("kubeconfig");
        write_private(&kubeconfig, &bootstrap::kubeconfig(addr))
            .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
        let serve_shutdown = CancellationToken::new();
        let serve = tokio::spawn(apiserver::serve(
            listener,
            state.clone(),
            serve_shutdown.clone().cancelled_owned(),
        ));
        Ok(Self {
            addr,
            kubeconfig,
            store_path,
            objects,
            serve_shutdown,
            background,
            serve: Some(serve),
        })
    }

    /// Waits until the API server stops by itself, which only a failure makes it do.
    /// Cancel-safe.
    pub async fn failed(&mut self) -> anyhow::Error {
        let Some(serve) = self.serve.as_mut() else {
            return std::future::pending().await;
        };
        let result = serve.await;
        self.serve = None;
        match result {
            Ok(Ok(())) => anyhow::anyhow!("the API server stopped"),
            Ok(Err(e)) => anyhow::Error::new(e).context("serving the API"),
            Err(e) => anyhow::Error::new(e).context("the API server task failed"),
        }
    }

    /// Stops accepting, drains open requests (bounded by [`apiserver::DRAIN_TIMEOUT`]), then
    /// stops the watch cache and the background tasks.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.serve_shutdown.cancel();
        let served = match self.serve {
            Some(serve) => serve.await,
            // It already ended, and `failed` reported why.
            None => Ok(Ok(())),
        };
        self.background.cancel();
        match served {
            Ok(result) => result.context("serving the API"),
            Err(e) => Err(anyhow::Error::new(e).context("the API server task failed")),
        }
    }
}

/// Writes a file readable by its owner only (it grants admin access).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
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
