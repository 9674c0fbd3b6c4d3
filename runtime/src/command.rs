//! Running a command — a WASI preview 1 module or preview 2 command component — to
//! completion: [`CommandSpec`] says what the guest gets (arguments, environment, stdin,
//! directories, where its output goes, its [`Limits`], the [`Usage`] it counts towards);
//! [`Instance`] is the running guest.
//! What the guest is granted is built with the helpers of [`wasi`](crate::wasi).

use crate::engine::SharedEngine;
use crate::error::{Error, Result};
use crate::guard::{Guard, guarded_store};
use crate::limits::Limits;
use crate::log::LogStream;
use crate::log::stream::LogOutput;
use crate::module::{Module, Template};
use crate::outcome::{Outcome, TrapKind};
use crate::stop::StopHandle;
use crate::store_data::{P1State, P2State, bounded_table};
use crate::usage::{Usage, metered};
use crate::wasi::{Output, Preopen, add_preopens};
use bytes::Bytes;
use std::pin::Pin;
use std::sync::Arc;
use tokio::task::JoinHandle;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

/// What a guest is given. Everything is denied unless granted here.
#[derive(Clone, Default)]
pub struct CommandSpec {
    /// Arguments, `argv[0]` (the program name) first.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Bytes on stdin; `None` is an empty stdin.
    pub stdin: Option<Bytes>,
    /// Preopened directories.
    pub preopens: Vec<Preopen>,
    /// Where output goes.
    pub output: Output,
    /// Resource limits.
    pub limits: Limits,
    /// Where the guest's CPU time and memory are counted (a fresh meter by default).
    pub usage: Arc<Usage>,
}

/// A running guest.
pub struct Instance {
    stop: StopHandle,
    task: JoinHandle<Outcome>,
}

impl Instance {
    /// A handle to stop the guest from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Waits for the guest to end.
    pub async fn wait(self) -> Outcome {
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Trapped(TrapKind::Other(format!("instance task failed: {e}"))),
        }
    }
}

/// The WASI context of a command, before it is split by preview version.
struct Prepared {
    builder: WasiCtxBuilder,
    outputs: Vec<LogOutput>,
}

fn prepare(spec: &CommandSpec) -> Result<Prepared> {
    let mut builder = WasiCtxBuilder::new();
    builder.args(&spec.args).envs(&spec.env);
    if let Some(stdin) = &spec.stdin {
        builder.stdin(MemoryInputPipe::new(stdin.clone()));
    }
    let mut outputs = Vec::new();
    match &spec.output {
        Output::Discard => {}
        Output::Inherit => {
            builder.inherit_stdout().inherit_stderr();
        }
        Output::Log(log) => {
            let stdout = LogOutput::new(log.clone(), LogStream::Stdout);
            let stderr = LogOutput::new(log.clone(), LogStream::Stderr);
            builder.stdout(stdout.clone()).stderr(stderr.clone());
            outputs.extend([stdout, stderr]);
        }
    }
    add_preopens(&mut builder, &spec.preopens)?;
    Ok(Prepared { builder, outputs })
}

/// Starts `module` as a command on the current tokio runtime.
pub(crate) fn spawn(engine: &SharedEngine, module: &Module, spec: CommandSpec) -> Result<Instance> {
    if !module.kind().is_command() {
        return Err(Error::WrongKind {
            module: module.digest().to_string(),
            actual: module.kind(),
            expected: "command",
        });
    }
    engine.check_limits(&spec.limits)?;
    let Prepared {
        mut builder,
        outputs,
    } = prepare(&spec)?;
    let guard = Guard::new(&spec.limits, engine.epoch_tick(), spec.usage.clone());
    let usage = spec.usage.clone();
    // The task keeps the shared engine, and with it the epoch ticker, for as long as the guest
    // runs: without ticks a spinning guest never yields, so it could neither be stopped nor
    // dropped with its tokio runtime (whose shutdown would wait on it forever).
    let engine = engine.clone();
    let stop = StopHandle::new();
    // The store is made here and the guest's run boxed per kind of module, so that the
    // task (alive as long as the guest, thousands of them on a node) holds neither the
    // WASI builder nor room for the other kind's future.
    let guest: Pin<Box<dyn Future<Output = RawEnd> + Send>> = match module.inner.template.clone() {
        Template::P1(pre) => {
            let store = guarded_store(
                engine.engine(),
                P1State {
                    wasi: builder.build_p1(),
                    guard,
                },
            );
            Box::pin(async move { run_p1(pre, store, &usage).await })
        }
        Template::P2(pre) => {
            let store = guarded_store(
                engine.engine(),
                P2State {
                    wasi: builder.build(),
                    table: bounded_table(),
                    guard,
                },
            );
            Box::pin(async move { run_p2(pre, store, &usage).await })
        }
        Template::Http(_) => unreachable!("checked to be a command above"),
    };
    drop(builder);
    let run = {
        let stop = stop.clone();
        let limits = spec.limits.clone();
        async move {
            let outcome = supervise(guest, &limits, &stop).await;
            for output in outputs {
                output.finish();
            }
            stop.mark_finished();
            drop(engine);
            outcome
        }
    };
    Ok(Instance {
        stop,
        task: tokio::spawn(run),
    })
}

/// The raw end of a guest run: what the call returned, and whether memory was refused.
type RawEnd = (wasmtime::Result<i32>, bool);

async fn run_p1(
    pre: wasmtime::InstancePre<P1State>,
    mut store: wasmtime::Store<P1State>,
    usage: &Usage,
) -> RawEnd {
    let result = metered(usage, async {
        let instance = pre.instantiate_async(&mut store).await?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await?;
        Ok(0)
    })
    .await;
    (result, store.data().guard.limiter.memory_refused)
}

async fn run_p2(
    pre: wasmtime_wasi::p2::bindings::CommandPre<P2State>,
    mut store: wasmtime::Store<P2State>,
    usage: &Usage,
) -> RawEnd {
    let result = metered(usage, async {
        let command = pre.instantiate_async(&mut store).await?;
        let status = command.wasi_cli_run().call_run(&mut store).await?;
        Ok(if status.is_ok() { 0 } else { 1 })
    })
    .await;
    (result, store.data().guard.limiter.memory_refused)
}

/// Runs a guest under its deadline and its stop handle, and classifies how it ended.
async fn supervise(
    run: impl Future<Output = RawEnd>,
    limits: &Limits,
    stop: &StopHandle,
) -> Outcome {
    let timed = async {
        match limits.deadline {
            Some(deadline) => tokio::time::timeout(deadline, run)
                .await
                .map_err(|_| Outcome::DeadlineExceeded { deadline }),
            None => Ok(run.await),
        }
    };
    tokio::select! {
        biased;
        () = stop.forced() => Outcome::Stopped,
        end = timed => match end {
            Ok(end) => classify(end, limits),
            Err(outcome) => outcome,
        },
    }
}

fn classify((result, memory_refused): RawEnd, limits: &Limits) -> Outcome {
    let outcome = match result {
        Ok(code) => Outcome::Exited(code),
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(exit) => Outcome::Exited(exit.0),
            None => Outcome::Trapped(TrapKind::from_error(&error)),
        },
    };
    match (memory_refused, limits.memory) {
        (true, Some(limit)) if !outcome.is_success() => Outcome::MemoryLimitExceeded { limit },
        _ => outcome,
    }
}
