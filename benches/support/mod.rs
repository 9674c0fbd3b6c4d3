//! What the end-to-end benchmarks share: real `skiff server` and `skiff agent` processes
//! (killed when dropped), a kube client for the server, and the machine's description;
//! `load`, a closed-loop HTTP load generator; `memory`, where a process's resident memory
//! is; `observe`, process CPU and agents' stats streams; `timeline`, when a burst's pods
//! reach each stage. Each benchmark uses a part
//! of it.
#![allow(dead_code)]

pub mod load;
pub mod memory;
pub mod observe;
pub mod timeline;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a run's processes write their logs when asked (`SKIFF_BENCH_LOGS=DIR`, with
/// `SKIFF_LOG` for the level): `DIR/NAME.log`. Unset, they are quiet.
pub const LOGS_VAR: &str = "SKIFF_BENCH_LOGS";

/// Another `skiff` binary to measure instead of this build's (`SKIFF_BENCH_BIN=PATH`), so
/// that an older build runs as a peer in the same session as the new one.
pub const BIN_VAR: &str = "SKIFF_BENCH_BIN";

/// The `skiff` binary (this build's, or [`BIN_VAR`]'s), quiet unless [`LOGS_VAR`] names a
/// directory for `name`'s log.
pub fn skiff(name: &str) -> Command {
    let bin = std::env::var_os(BIN_VAR).unwrap_or_else(|| env!("CARGO_BIN_EXE_skiff").into());
    let mut cmd = Command::new(bin);
    cmd.stdout(Stdio::null());
    let log = std::env::var_os(LOGS_VAR).and_then(|dir| {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::File::create(dir.join(format!("{name}.log"))).ok()
    });
    match log {
        Some(file) => cmd.stderr(file),
        None => cmd.stderr(Stdio::null()).env_remove("SKIFF_LOG"),
    };
    cmd
}

/// A running `skiff server` with data in `dir/server`, its kubeconfig and a client.
pub struct Server {
    /// The process.
    pub process: Process,
    /// Its kubeconfig.
    pub kubeconfig: PathBuf,
    /// A client for it.
    pub client: kube::Client,
}

/// Starts `skiff server` on a free port, with `args` added.
pub async fn server(dir: &Path, args: &[&str]) -> Server {
    let data = dir.join("server");
    let process = Process(
        skiff("server")
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .args(args)
            .spawn()
            .expect("spawn skiff server"),
    );
    let kubeconfig = data.join("kubeconfig");
    for _ in 0..600 {
        if kubeconfig.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig"),
        &Default::default(),
    )
    .await
    .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    Server {
        process,
        kubeconfig,
        client,
    }
}

/// Starts `skiff agent NAME` accepting `max_pods` pods, with data in `dir/NAME`.
pub fn agent(kubeconfig: &Path, dir: &Path, name: &str, max_pods: u32, args: &[&str]) -> Process {
    Process(
        skiff(name)
            .args(["agent", "--name", name, "--listen", "127.0.0.1:0"])
            .args(["--max-pods", &max_pods.to_string()])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--data-dir")
            .arg(dir.join(name))
            .args(args)
            .spawn()
            .expect("spawn skiff agent"),
    )
}

/// Waits until node `name` is registered.
pub async fn wait_node(client: &kube::Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    for _ in 0..600 {
        if nodes.get_opt(name).await.ok().flatten().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node {name} did not register");
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// "machine: MODEL, N cores".
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("machine: {model}, {cores} cores")
}

/// How a goal line ends: `met` or `MISSED`.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The value at quantile `q` of `sorted` (nearest rank: the smallest value with at least
/// `q` of the values at or below it).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}
