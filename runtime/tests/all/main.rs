//! Integration tests of `skiff-runtime` against real guest programs compiled from source
//! (`tests/programs`). One binary, a module per area (`usage`: CPU and memory metering).

mod cache;
mod command;
mod http;
mod layout;
mod limits;
mod load;
mod logs;
mod preopen;
mod stop;
mod usage;

use skiff_runtime::{CommandSpec, Module, Outcome, Output, Runtime, RuntimeConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Every wait in these tests is bounded by this, so a broken build fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(60);

/// A runtime sharing one artifact cache across this test binary (keyed by engine, so safe).
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        max_instances: 64,
        cache_dir: Some(shared_cache()),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

/// The artifact cache shared by this test binary.
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtime-tests-cache")
}

/// Loads a guest program, panicking with the reason if it cannot.
pub fn load(runtime: &Runtime, path: &str) -> Module {
    runtime
        .load_file(path)
        .unwrap_or_else(|e| panic!("load {path}: {e}"))
}

/// `argv` with a program name in front.
pub fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("guest.wasm")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// Runs a command to its end and returns the outcome and its log.
pub async fn run(runtime: &Runtime, path: &str, mut spec: CommandSpec) -> (Outcome, Vec<String>) {
    let module = load(runtime, path);
    let log = skiff_runtime::ContainerLog::in_memory();
    spec.output = Output::Log(log.clone());
    if spec.args.is_empty() {
        spec.args = argv(&[]);
    }
    let instance = runtime.spawn(&module, spec).expect("spawn");
    let outcome = tokio::time::timeout(WAIT, instance.wait())
        .await
        .expect("instance ends");
    let lines = log
        .lines()
        .expect("log lines")
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l.text).into_owned())
        .collect();
    (outcome, lines)
}
