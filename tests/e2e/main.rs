//! End-to-end tests of the `skiff` binary: real processes, real sockets, real signals.
//! One binary, a module per area.

mod agent;
mod autoscaling;
mod cluster;
mod deployments;
mod hpa;
mod http;
mod jobs;
mod kubectl;
mod nodes;
mod pods;
mod run;
mod scheduling;
mod security;
mod services;
mod top;
mod up;
mod versions;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Every wait is bounded by this, so a hang fails the test instead of the CI job.
pub const WAIT: Duration = Duration::from_secs(60);

/// The `skiff` binary under test, with a private module cache.
pub fn skiff(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skiff"));
    cmd.env("SKIFF_CACHE_DIR", cache).env_remove("SKIFF_LOG");
    cmd
}

/// Runs a command to completion, bounded by [`WAIT`].
pub fn output(cmd: &mut Command) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn skiff");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(out) => out.expect("wait for skiff"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            panic!("skiff did not finish within {WAIT:?}");
        }
    }
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a signal to a process by name (`INT`, `TERM`).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}
