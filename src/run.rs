//! `skiff run`: runs one WASI module or component locally — a command to completion, or an
//! HTTP component served with `--listen` — under the same runtime and limits a pod gets.
//!
//! Exit status: the guest's own exit code when it exits; otherwise one of the
//! `EXIT_*` constants below, with one line on stderr naming the cause.

use crate::signal::{ShutdownSignals, Signal};
use clap::Args;
use skiff_model::quantity::ByteQuantity;
use skiff_runtime::{
    CommandSpec, HttpConfig, Limits, ModuleKind, Outcome, Output, Preopen, Runtime, RuntimeConfig,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit status when the `--timeout` deadline passes (as `timeout(1)`).
pub const EXIT_DEADLINE: u8 = 124;
/// Exit status when skiff cannot run the file at all (missing, not wasm, cannot link).
pub const EXIT_LOAD_FAILED: u8 = 125;
/// Exit status when the guest traps (128 + SIGABRT, as for an aborted process).
pub const EXIT_TRAP: u8 = 134;
/// Exit status when the guest exceeds `--memory` (128 + SIGKILL, as for an OOM kill).
pub const EXIT_MEMORY_LIMIT: u8 = 137;

/// Instance-pool size for running one command: the guest plus headroom, so that start-up
/// does not reserve address space for a thousand instances it will never use.
const COMMAND_POOL_INSTANCES: u32 = 16;

/// Run a WASI module or component locally.
///
/// A command (WASI preview 1 module or preview 2 component) runs to completion and skiff
/// exits with its exit code. A wasi:http/proxy component is served with --listen until
/// SIGINT or SIGTERM. Other exit statuses: 124 deadline exceeded, 125 the file could not
/// be loaded, 134 trap, 137 memory limit exceeded, 130/143 stopped by SIGINT/SIGTERM.
#[derive(Args, Debug)]
pub struct RunCommand {
    /// The .wasm file to run.
    file: PathBuf,

    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,

    /// Give the guest a host directory, read-write, at GUEST (default: the same path).
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    dirs: Vec<(PathBuf, String)>,

    /// Give the guest a host directory, read-only, at GUEST (default: the same path).
    #[arg(long = "dir-ro", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    read_only_dirs: Vec<(PathBuf, String)>,

    /// Cap the guest's linear memory (a Kubernetes quantity: 64Mi, 1Gi, 500M).
    #[arg(long, value_name = "SIZE")]
    memory: Option<ByteQuantity>,

    /// Wall-clock deadline (500ms, 2s, 1m); for HTTP, the per-request timeout.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,

    /// Bound CPU use, in millicores (1000 = one core).
    #[arg(long, value_name = "MILLICORES")]
    cpu: Option<u32>,

    /// Serve a wasi:http/proxy component on this address until SIGINT/SIGTERM.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// Directory of precompiled modules [default: $SKIFF_CACHE_DIR or ~/.cache/skiff/modules].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Arguments for the guest (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

impl RunCommand {
    /// Runs the command; returns the process's exit status.
    pub fn execute(self) -> ExitCode {
        let tokio = match tokio::runtime::Runtime::new() {
            Ok(tokio) => tokio,
            Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
        };
        tokio.block_on(self.run())
    }

    async fn run(self) -> ExitCode {
        let signals = match ShutdownSignals::install() {
            Ok(signals) => signals,
            Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
        };
        let config = RuntimeConfig {
            max_instances: if self.listen.is_some() {
                skiff_runtime::DEFAULT_MAX_INSTANCES
            } else {
                COMMAND_POOL_INSTANCES
            },
            cache_dir: self
                .cache_dir
                .clone()
                .or_else(skiff_runtime::default_cache_dir),
            ..RuntimeConfig::default()
        };
        let runtime = match Runtime::new(config) {
            Ok(runtime) => runtime,
            Err(e) => return fail(&e.to_string()),
        };
        let loaded = {
            let runtime = runtime.clone();
            let file = self.file.clone();
            tokio::task::spawn_blocking(move || runtime.load_file(file)).await
        };
        let module = match loaded {
            Ok(Ok(module)) => module,
            Ok(Err(e @ skiff_runtime::Error::Read { .. })) => return fail(&e.to_string()),
            Ok(Err(e)) => return fail(&format!("{}: {e}", self.file.display())),
            Err(e) => return fail(&format!("loading failed: {e}")),
        };
        let limits = Limits {
            memory: self.memory.as_ref().map(ByteQuantity::bytes),
            deadline: self.timeout,
            cpu_millis: self.cpu,
            ..Limits::default()
        };

        match (module.kind(), self.listen) {
            (ModuleKind::HttpProxy, Some(addr)) => {
                self.serve(&runtime, &module, limits, addr, signals).await
            }
            (ModuleKind::HttpProxy, None) => fail(&format!(
                "{} is a wasi:http/proxy component: pass --listen ADDR to serve it",
                self.file.display()
            )),
            (kind, Some(_)) => fail(&format!(
                "{} is a {kind}, not an HTTP component: drop --listen to run it",
                self.file.display()
            )),
            (_, None) => self.run_command(&runtime, &module, limits, signals).await,
        }
    }

    async fn run_command(
        &self,
        runtime: &Runtime,
        module: &skiff_runtime::Module,
        limits: Limits,
        mut signals: ShutdownSignals,
    ) -> ExitCode {
        let program = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "main.wasm".into());
        let mut preopens = Vec::new();
        for (dirs, read_only) in [(&self.dirs, false), (&self.read_only_dirs, true)] {
            preopens.extend(dirs.iter().map(|(host, guest)| Preopen {
                host: host.clone(),
                guest: guest.clone(),
                read_only,
            }));
        }
        let spec = CommandSpec {
            args: std::iter::once(program)
                .chain(self.args.iter().cloned())
                .collect(),
            env: self.env.clone(),
            stdin: None,
            preopens,
            output: Output::Inherit,
            limits,
            ..CommandSpec::default()
        };
        let instance = match runtime.spawn(module, spec) {
            Ok(instance) => instance,
            Err(e) => return fail(&e.to_string()),
        };
        let stop = instance.stop_handle();
        let wait = instance.wait();
        tokio::pin!(wait);
        let (outcome, signal) = tokio::select! {
            outcome = &mut wait => (outcome, None),
            signal = signals.recv() => {
                stop.force();
                (wait.await, Some(signal))
            }
        };
        self.report(outcome, signal)
    }

    /// Maps an outcome to the exit status, printing the cause when it is not an exit.
    fn report(&self, outcome: Outcome, signal: Option<Signal>) -> ExitCode {
        match outcome {
            Outcome::Exited(code) => ExitCode::from((code & 0xff) as u8),
            Outcome::Trapped(kind) => cause(EXIT_TRAP, &format!("guest trapped: {kind}")),
            Outcome::MemoryLimitExceeded { limit } => {
                let limit = self
                    .memory
                    .as_ref()
                    .map_or_else(|| format!("{limit} bytes"), ToString::to_string);
                cause(
                    EXIT_MEMORY_LIMIT,
                    &format!("memory limit of {limit} exceeded"),
                )
            }
            Outcome::DeadlineExceeded { deadline } => cause(
                EXIT_DEADLINE,
                &format!(
                    "deadline of {} exceeded",
                    humantime::format_duration(deadline)
                ),
            ),
            Outcome::Stopped => {
                let signal = signal.unwrap_or(Signal::Terminate);
                cause(
                    signal.exit_status(),
                    &format!("stopped by {}", signal.name()),
                )
            }
        }
    }

    async fn serve(
        &self,
        runtime: &Runtime,
        module: &skiff_runtime::Module,
        limits: Limits,
        addr: SocketAddr,
        mut signals: ShutdownSignals,
    ) -> ExitCode {
        let handler = match runtime.http_handler(
            module,
            HttpConfig {
                env: self.env.clone(),
                output: Output::Inherit,
                limits,
                ..HttpConfig::default()
            },
        ) {
            Ok(handler) => handler,
            Err(e) => return fail(&e.to_string()),
        };
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) => return fail(&format!("cannot listen on {addr}: {e}")),
        };
        let local = listener.local_addr().unwrap_or(addr);
        eprintln!("Serving HTTP on http://{local}/");
        let shutdown = async {
            let signal = signals.recv().await;
            eprintln!("{}: shutting down", signal.name());
        };
        match skiff_runtime::serve(
            listener,
            handler,
            shutdown,
            skiff_runtime::http::serve::DEFAULT_DRAIN_TIMEOUT,
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("serving failed: {e}")),
        }
    }
}

/// Prints `skiff: <message>` and returns [`EXIT_LOAD_FAILED`].
fn fail(message: &str) -> ExitCode {
    cause(EXIT_LOAD_FAILED, message)
}

fn cause(status: u8, message: &str) -> ExitCode {
    eprintln!("skiff: {message}");
    ExitCode::from(status)
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("expected HOST[::GUEST], got {s:?}"));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}
