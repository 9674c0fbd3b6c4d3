//! An HTTP container's run: a `wasi:http/proxy` component serves the pod's ports through
//! the node's data plane until the pod stops (or a probe has it killed), then drains.
//!
//! [`setup`] builds what every request's instance gets — the container's environment,
//! volumes and limits (memory per instance, CPU, the request timeout as its deadline),
//! the pod's [`Tuning`] and its outbound policy, whose refusals become `OutboundDenied`
//! events — and which ports it serves: its TCP `containerPorts`, or
//! [`DEFAULT_HTTP_PORT`] when it declares none. [`run`] registers the handler in
//! [`LocalPods`](crate::dataplane::local::LocalPods) and reports the container running
//! from then on. On stop it drains: no new requests, those in flight get the grace
//! period (the pod's, or the failed probe's). Drained in time is exit code 0
//! (`Completed`); cut short, the requests left are stopped and it is 137 (`Error`).

use super::error::StartError;
use super::run::{Run, RunEnd};
use super::tuning::Tuning;
use crate::dataplane::DeniedHook;
use crate::dataplane::local::{DEFAULT_HTTP_PORT, PodKey};
use crate::pods::context::Context;
use crate::pods::probe::check::Target;
use crate::pods::record::Termination;
use crate::pods::shared::PodShared;
use k8s_openapi::api::core::v1::{Container, Pod};
use skiff_model::events::EventType;
use skiff_runtime::{ContainerLog, HttpConfig, Limits, Module, Output, Preopen};
use std::sync::Arc;
use std::time::{Instant as StdInstant, SystemTime};
use tokio::time::Instant;

/// What an HTTP container serves with, ready to build its handler.
pub(crate) struct HttpSetup {
    /// The handler's configuration, all but its output (the run's log) and its usage
    /// meter (the container's).
    pub(super) config: HttpConfig,
    /// The ports it serves.
    ports: Vec<u16>,
}

/// Builds the serving configuration of `container`, an HTTP component of `the_pod`.
pub(crate) fn setup(
    ctx: &Arc<Context>,
    pod: &Arc<PodShared>,
    the_pod: &Pod,
    container: &Container,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    mut limits: Limits,
) -> Result<HttpSetup, StartError> {
    let tuning = Tuning::of(the_pod).map_err(|e| StartError::Config(e.to_string()))?;
    limits.deadline = Some(tuning.request_timeout);
    let denied: DeniedHook = {
        // Weak: the hook lives in the handler, which the node's data plane holds.
        let ctx = Arc::downgrade(ctx);
        let pod = Arc::downgrade(pod);
        let name = container.name.clone();
        Arc::new(move |message: String| {
            if let (Some(ctx), Some(pod)) = (ctx.upgrade(), pod.upgrade()) {
                pod.event(
                    &ctx,
                    Some(&name),
                    EventType::Warning,
                    "OutboundDenied",
                    message,
                );
            }
        })
    };
    let outbound = ctx.dataplane.outbound_for(the_pod, denied);
    Ok(HttpSetup {
        config: HttpConfig {
            max_concurrency: tuning.max_concurrency,
            max_queue: Some(tuning.max_queue),
            env,
            preopens,
            output: Output::Discard,
            limits,
            outbound,
            ..HttpConfig::default()
        },
        ports: served_ports(container),
    })
}

/// The TCP `containerPorts` of `container`, in order without repeats, or
/// [`DEFAULT_HTTP_PORT`] if it has none.
pub fn served_ports(container: &Container) -> Vec<u16> {
    let mut ports = Vec::new();
    for port in container.ports.iter().flatten() {
        let tcp = port.protocol.as_deref().is_none_or(|p| p == "TCP");
        if let Ok(number) = u16::try_from(port.container_port)
            && tcp
            && number != 0
            && !ports.contains(&number)
        {
            ports.push(number);
        }
    }
    if ports.is_empty() {
        ports.push(DEFAULT_HTTP_PORT);
    }
    ports
}

/// Serves until the pod stops or a probe fails, then drains.
pub(crate) async fn run(
    run: &Run<'_>,
    module: &Module,
    setup: HttpSetup,
    log: ContainerLog,
) -> RunEnd {
    let HttpSetup { mut config, ports } = setup;
    config.output = Output::Log(log);
    let handler = match run.ctx.modules.runtime().http_handler(module, config) {
        Ok(handler) => handler,
        Err(e) => return run.cannot_run(e.to_string()),
    };
    let (ctx, pod, name) = (run.ctx, run.pod, &run.container.name);
    let registration = ctx.dataplane.local.register(
        PodKey {
            namespace: pod.key.namespace.clone(),
            name: pod.key.name.clone(),
        },
        &pod.key.uid,
        name,
        &ports,
        handler.clone(),
    );
    tracing::debug!(pod = %pod.key.name, container = %name, ?ports, "serving");
    let started = run.started();
    let clock = StdInstant::now();
    let target = Target::Http {
        handler: handler.clone(),
        ports,
    };
    let probing = run.probe(target, Instant::now());
    let (grace, killed) = tokio::select! {
        () = pod.stop.cancelled() => (run.killing(None), None),
        kill = probing => (run.killing(Some(&kill)), Some(kill.kind)),
    };
    // Draining: out of the endpoints at once, not only when it has stopped.
    pod.update(ctx, |r| {
        if let Some(c) = r.container_mut(name) {
            c.probes.unready = true;
        }
    });
    let drained = tokio::select! {
        // An idle server counts as drained even when the pod is killed outright.
        biased;
        drained = registration.drain(grace) => drained,
        () = pod.kill.cancelled() => false,
    };
    drop(registration);
    if !drained {
        handler.abort();
    }
    handler.finish_output();
    let (exit_code, reason, message) = if drained {
        (0, "Completed", None)
    } else {
        (
            137,
            "Error",
            Some(format!(
                "requests still in flight after the grace period of {} were stopped",
                humantime::format_duration(grace)
            )),
        )
    };
    RunEnd {
        succeeded: drained,
        termination: Termination {
            exit_code,
            reason,
            message,
            started: Some(started),
            finished: SystemTime::now(),
            container_id: Some(run.container_id.clone()),
        },
        ran: clock.elapsed(),
        killed,
    }
}
