//! `skiff`: Kubernetes' model and API, with pods that are WebAssembly sandboxes.
//!
//! One binary, one subcommand per file: [`run`] (try a module locally), [`server`] (the
//! API server), [`agent`] (a node), [`up`] (a whole local cluster), [`apply`] (apply
//! manifests, uploading their local modules). Shared helpers: [`signal`] (SIGINT/SIGTERM),
//! [`controlplane`] (starting the control plane), [`client`] (kube clients from
//! kubeconfigs), [`manifests`] (reading manifests and rewriting local images).

mod agent;
mod apiserver_flags;
mod apply;
mod autoscaler_flags;
mod client;
mod controlplane;
mod manager_flags;
mod manifests;
mod run;
mod server;
mod signal;
mod up;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: the control plane's write path and the
/// agent's pod bookkeeping allocate and free many small JSON values, and glibc's malloc
/// and free took a third of the API server's CPU under a burst (BENCHMARKS.md, issue 13).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Skiff: an orchestrator whose pods are WebAssembly sandboxes.
#[derive(Parser)]
#[command(name = "skiff", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI module or component locally, as a pod's container would run.
    Run(run::RunCommand),
    /// Run the API server (the control plane) on a redb store.
    Server(server::ServerCommand),
    /// Join this machine to a cluster as a node.
    Agent(agent::AgentCommand),
    /// Run a cluster — control plane and one node — in the foreground.
    Up(up::UpCommand),
    /// Apply manifests to a cluster, uploading the local wasm modules they name.
    Apply(apply::ApplyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Run(command) => command.execute(),
        Command::Server(command) => command.execute(),
        Command::Agent(command) => command.execute(),
        Command::Up(command) => command.execute(),
        Command::Apply(command) => command.execute(),
    }
}

/// Runs a long-lived subcommand on a fresh tokio runtime; an error is printed as one
/// `skiff: ...` line and exits 1.
fn block_on(run: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
        .and_then(|rt| rt.block_on(run));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skiff: {e:#}");
            ExitCode::FAILURE
        }
    }
}
