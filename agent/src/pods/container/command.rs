//! A command container's run: spawn the instance, wait for it to end — or stop it when
//! the pod stops or a probe fails (a command serves nothing, so `httpGet` and
//! `tcpSocket` probes fail for it) — and report how it ended as the kubelet would for a
//! process.

use super::run::{Run, RunEnd};
use crate::pods::probe::check::Target;
use crate::pods::record::Termination;
use skiff_runtime::{CommandSpec, Module, Outcome, StopHandle};
use std::time::{Duration, Instant as StdInstant, SystemTime};
use tokio::time::Instant;

/// Runs the command once.
pub(crate) async fn run(run: &Run<'_>, module: &Module, spec: CommandSpec) -> RunEnd {
    let instance = match run.ctx.modules.runtime().spawn(module, spec) {
        Ok(instance) => instance,
        Err(e) => return run.cannot_run(e.to_string()),
    };
    let started = run.started();
    let clock = StdInstant::now();
    let handle = instance.stop_handle();
    let wait = instance.wait();
    tokio::pin!(wait);
    let probing = run.probe(Target::Command, Instant::now());
    tokio::pin!(probing);
    let pod = run.pod;
    let (outcome, killed) = tokio::select! {
        outcome = &mut wait => (outcome, None),
        () = pod.stop.cancelled() => {
            stop(run, &handle, run.killing(None)).await;
            (wait.await, None)
        }
        kill = &mut probing => {
            stop(run, &handle, run.killing(Some(&kill))).await;
            (wait.await, Some(kill.kind))
        }
    };
    RunEnd {
        succeeded: outcome.is_success(),
        termination: terminate(&outcome, started, run.container_id.clone()),
        ran: clock.elapsed(),
        killed,
    }
}

/// Stops the instance within `grace`, or at once if the pod is killed meanwhile.
async fn stop(run: &Run<'_>, handle: &StopHandle, grace: Duration) {
    tokio::select! {
        () = handle.stop(grace) => {}
        () = run.pod.kill.cancelled() => handle.force(),
    }
}

/// How an outcome is reported: exit code, reason and message as the kubelet would for a
/// process (a forced stop or a memory limit is exit code 137, as for SIGKILL).
fn terminate(outcome: &Outcome, started: SystemTime, container_id: String) -> Termination {
    let (exit_code, reason, message) = match outcome {
        Outcome::Exited(0) => (0, "Completed", None),
        Outcome::Exited(code) => (*code, "Error", None),
        Outcome::Trapped(kind) => (134, "Error", Some(format!("wasm trap: {kind}"))),
        Outcome::MemoryLimitExceeded { limit } => (
            137,
            "OOMKilled",
            Some(format!("memory limit of {limit} bytes reached")),
        ),
        Outcome::DeadlineExceeded { deadline } => (
            124,
            "DeadlineExceeded",
            Some(format!(
                "ran longer than {}",
                humantime::format_duration(*deadline)
            )),
        ),
        Outcome::Stopped => (
            137,
            "Error",
            Some("stopped after its grace period".to_string()),
        ),
    };
    Termination {
        exit_code,
        reason,
        message,
        started: Some(started),
        finished: SystemTime::now(),
        container_id: Some(container_id),
    }
}
