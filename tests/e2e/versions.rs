//! The kubectl versions the end-to-end tests check with — the oldest and newest supported
//! (1.27 and 1.33) — and where their binaries are: beside the `kubectl` on `PATH` (and on
//! `PATH`) as `kubectl.1.27`, `kubectl-1.27` or `kubectl1.27`, as the gcloud SDK installs
//! them.

use crate::cluster::Server;
use crate::output;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The kubectl minor versions checked with.
pub const VERSIONS: [&str; 2] = ["1.27", "1.33"];

/// The kubectl binary of `version`, or the `kubectl` on PATH on a machine without
/// versioned binaries (said on stderr).
pub fn kubectl_binary(version: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    // The directory the `kubectl` on PATH really lives in (often a symlink's target).
    let resolved: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::canonicalize(d.join("kubectl")).ok())
        .filter_map(|k| k.parent().map(Path::to_path_buf))
        .collect();
    dirs.extend(resolved);
    let names = [
        format!("kubectl.{version}"),
        format!("kubectl-{version}"),
        format!("kubectl{version}"),
    ];
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            eprintln!("no kubectl {version} beside kubectl or on PATH; using kubectl");
            PathBuf::from("kubectl")
        })
}

/// Runs kubectl `version` against `server` with `kubeconfig` (and a discovery cache of
/// that version's own), bounded as every command of the tests is.
pub fn kubectl(server: &Server, version: &str, kubeconfig: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(kubectl_binary(version));
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(server.dir().join(format!("kube-cache-{version}")))
        .args(args);
    output(&mut cmd)
}
