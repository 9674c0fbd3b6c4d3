//! The `kube` client of the subcommands that talk to an API server (`agent`, `apply`,
//! `up`): [`from_kubeconfig`] builds it from a kubeconfig file, and [`default_kubeconfig`]
//! says which file a command uses when it is given none.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The kubeconfig `skiff server` and `skiff up` write with their default `--data-dir`.
pub const DEFAULT_KUBECONFIG: &str = "skiff-data/kubeconfig";

/// The kubeconfig to use when none is given: the first file of `$KUBECONFIG` (a
/// colon-separated list, as kubectl reads it), else [`DEFAULT_KUBECONFIG`].
pub fn default_kubeconfig() -> PathBuf {
    std::env::var_os("KUBECONFIG")
        .and_then(|list| std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KUBECONFIG))
}

/// A client for the API server (with the address, TLS and credentials) of `kubeconfig`.
pub async fn from_kubeconfig(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    if !kubeconfig.exists() {
        anyhow::bail!(
            "cannot read {}: no such file (`skiff up` and `skiff server` write one in their \
             data directory)",
            kubeconfig.display()
        );
    }
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
        .await
        .with_context(|| format!("cannot use {}", kubeconfig.display()))?;
    kube::Client::try_from(config).context("cannot create the API client")
}
