//! The control plane as `skiff server` and `skiff up` run it: [`ControlPlane::start`]
//! binds the API address, opens the redb store and the module store in the data directory,
//! starts the watch cache, sets up security (the cluster CA, serving certificate and
//! ServiceAccount token key in `DATA_DIR/tls`, authentication by client certificate,
//! `--token-auth-file` and ServiceAccount tokens, RBAC with the default policy), starts the controller manager, serves the API over HTTPS and
//! writes `DATA_DIR/kubeconfig` (the CA and an admin client certificate);
//! [`ControlPlane::stop`] shuts it all down. `--insecure-http` serves plain HTTP with no
//! authentication or authorization instead.

use crate::apiserver_flags::ApiServerArgs;
use anyhow::Context;
use skiff_controlplane::apiserver::listener::TlsListener;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::authn::Authenticator;
use skiff_controlplane::authn::authenticator::ServiceAccounts;
use skiff_controlplane::authn::service_account::ServiceAccountTokens;
use skiff_controlplane::authn::token_file::TokenFile;
use skiff_controlplane::bootstrap;
use skiff_controlplane::certificates::{self, ServerCertificates};
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
    /// The API's URL, as the kubeconfig names it (`https://`, or `http://` when insecure).
    pub url: String,
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
    /// with the request limits and security of `api`, and the controller manager
    /// configured by `manager`.
    /// The address is bound first, so a port in use fails before anything is opened.
    pub async fn start(
        data_dir: &Path,
        listen: SocketAddr,
        api: &ApiServerArgs,
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
        state.inflight = Arc::new(api.inflight());
        let (certificates, authenticator) = if api.insecure_http {
            (None, None)
        } else {
            let tokens = match &api.token_auth_file {
                Some(path) => Some(TokenFile::read(path)?),
                None => None,
            };
            let key = skiff_pki::keys::load_or_create(&data_dir.join("tls/sa.key"))
                .context("cannot prepare the ServiceAccount token key")?;
            let service_accounts = ServiceAccounts {
                tokens: Arc::new(
                    ServiceAccountTokens::new(&key)
                        .context("cannot use the ServiceAccount token key")?,
                ),
                store: state.store.clone(),
            };
            let authenticator =
                Authenticator::new(tokens, Some(service_accounts)).anonymous(api.anonymous_auth);
            let tls_dir = data_dir.join("tls");
            let names = certificates::serving_names(addr, &api.tls_san);
            let prepared =
                tokio::task::spawn_blocking(move || ServerCertificates::prepare(&tls_dir, &names))
                    .await
                    .context("preparing the certificates panicked")?
                    .context("cannot prepare the cluster's certificates")?;
            (Some(prepared), Some(authenticator))
        };
        let setup = match authenticator {
            Some(authenticator) => {
                bootstrap::secure(&mut state, authenticator, background.clone()).await
            }
            None => match bootstrap::ensure_namespaces(&state).await {
                Ok(()) => bootstrap::ensure_policy(&state).await,
                Err(e) => Err(e),
            },
        };
        setup.map_err(|e| anyhow::anyhow!("cannot set up the cluster: {}", e.message))?;
        skiff_controlplane::manager::start(state.clone(), manager, background.clone())
            .await
            .context("cannot start the controller manager")?;

        // Clients dial loopback for a server listening on every address.
        let dial = if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        let serve_shutdown = CancellationToken::new();
        let shutdown = serve_shutdown.clone().cancelled_owned();
        let (url, config, serve) = match &certificates {
            None => {
                let url = format!("http://{dial}");
                let config = bootstrap::kubeconfig(&url, None, None);
                (
                    url,
                    config,
                    tokio::spawn(apiserver::serve(listener, state.clone(), shutdown)),
                )
            }
            Some(certs) => {
                let ca = certs.authority.cert_pem();
                let admin = certificates::admin_client(&certs.authority)
                    .context("cannot issue the admin certificate")?;
                let url = format!("https://{dial}");
                let config = bootstrap::kubeconfig(&url, Some(ca), Some(&admin));
                let tls = skiff_pki::tls::server_config(&certs.serving, Some(ca))
                    .context("cannot configure TLS")?;
                let verifier = skiff_pki::tls::ClientVerifier::new(ca)
                    .context("cannot configure client certificates")?;
                let listener = TlsListener::new(listener, tls, Some(verifier))
                    .context("cannot listen for TLS")?;
                (
                    url,
                    config,
                    tokio::spawn(apiserver::serve(listener, state.clone(), shutdown)),
                )
            }
        };
        let kubeconfig = data_dir.join("kubeconfig");
        // Readable by its owner only: it grants admin access.
        skiff_pki::files::write_private(&kubeconfig, config.as_bytes())
            .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
        Ok(Self {
            url,
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
