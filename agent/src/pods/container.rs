//! One container's life on the node: pull its image, compile its module, build what the
//! guest is given (arguments or HTTP serving, environment, directories, limits), run it
//! under its probes, and restart it per the pod's `restartPolicy` with crash-loop backoff
//! — recording every state for the pod's status and every step as an event.
//!
//! Parts: [`restart`] (whether a container that ended runs again), `error` (why one could
//! not be started), `run` (one run as its runner sees it, and how it ended), [`command`]
//! (a command run to its end), [`serve`] (an HTTP component serving the pod's ports until
//! the pod stops) and [`tuning`] (the pod annotations that tune serving). Both kinds of
//! run are stopped early when a liveness or startup probe fails ([`super::probe`]); that
//! counts as a restart unless `restartPolicy` is `Never`. Every run of a container counts
//! its CPU time and memory in the same meter of the pod's
//! [`PodUsage`](crate::stats::PodUsage).

pub mod command;
mod error;
pub mod restart;
mod run;
pub mod serve;
pub mod tuning;

use super::backoff::Backoff;
use super::context::Context;
use super::env;
use super::probe::spec::Probes;
use super::record::ContainerPhase;
use super::shared::PodShared;
use crate::image::PullPolicy;
use error::StartError;
use k8s_openapi::api::core::v1::{Container, Pod};
use restart::Restart;
use run::{Run, RunEnd};
use skiff_model::events::EventType;
use skiff_model::quantity::{ByteQuantity, cpu_millicores};
use skiff_runtime::{CommandSpec, Limits, Module, ModuleKind, Output, Usage};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

/// A container ready to start.
struct Prepared {
    module: Module,
    workload: Workload,
}

/// What a container runs as.
enum Workload {
    /// A command, run to its end.
    Command(CommandSpec),
    /// A `wasi:http/proxy` component, serving until the pod stops.
    Http(serve::HttpSetup),
}

/// One of a pod's containers, by its place in the spec.
#[derive(Clone, Copy, Debug)]
pub enum Which {
    /// `spec.initContainers[i]`.
    Init(usize),
    /// `spec.containers[i]`.
    App(usize),
}

impl Which {
    /// The container in `pod`'s spec, if it has one there.
    pub fn of(self, pod: &Pod) -> Option<&Container> {
        let spec = pod.spec.as_ref()?;
        match self {
            Which::Init(i) => spec.init_containers.as_ref()?.get(i),
            Which::App(i) => spec.containers.get(i),
        }
    }
}

/// Runs a container (`which` of `spec`, the pod object it was planned from) until it ends
/// for good or the pod stops; returns whether its last run succeeded. The container is
/// borrowed from `spec` rather than copied: the task lives as long as the pod.
pub async fn run(
    ctx: Arc<Context>,
    pod: Arc<PodShared>,
    spec: Arc<Pod>,
    which: Which,
    restart: Restart,
) -> bool {
    let Some(container) = which.of(&spec) else {
        return false;
    };
    let name = container.name.clone();
    // One meter for every run of the container: its counters survive restarts.
    let usage = pod.usage.container(&name, pod.is_init(&name));
    let mut crash_backoff = Backoff::new(ctx.config.backoff);
    let mut start_backoff = Backoff::new(ctx.config.backoff);
    let mut failures = 0u32;
    loop {
        if pod.stop.is_cancelled() {
            return false;
        }
        // Boxed: pulling is done before the run and must not size the future that waits
        // on the run for the container's whole life.
        let prepared = match Box::pin(prepare(&ctx, &pod, container, &usage)).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let message = e.to_string();
                pod.event(
                    &ctx,
                    Some(&name),
                    EventType::Warning,
                    "Failed",
                    message.clone(),
                );
                // The first failure shows as itself (`ErrImagePull`); while retrying after
                // more of them, as the backoff (`ImagePullBackOff`).
                let reason = if failures == 0 {
                    e.reason()
                } else {
                    e.backoff_reason()
                };
                failures += 1;
                set_waiting(&ctx, &pod, &name, reason, Some(message));
                let delay = start_backoff.delay(Duration::ZERO);
                if !sleep_unless_stopped(&pod, delay).await {
                    return false;
                }
                continue;
            }
        };
        start_backoff = Backoff::new(ctx.config.backoff);
        failures = 0;
        let end = run_once(&ctx, &pod, container, prepared, restart).await;
        if pod.stop.is_cancelled() || !restart.again(end.succeeded, end.killed.is_some()) {
            pod.update(&ctx, |r| {
                if let Some(c) = r.container_mut(&name) {
                    c.phase = ContainerPhase::Terminated(end.termination);
                }
            });
            return end.succeeded;
        }
        let delay = crash_backoff.delay(end.ran);
        let uid = &pod.key.uid;
        let pod_name = format!("{}_{}({uid})", pod.key.name, pod.key.namespace);
        pod.update(&ctx, |r| {
            if let Some(c) = r.container_mut(&name) {
                c.last = Some(end.termination);
                c.restart_count += 1;
                c.phase = ContainerPhase::Waiting {
                    reason: "CrashLoopBackOff",
                    message: Some(format!(
                        "back-off {} restarting failed container={name} pod={pod_name}",
                        humantime::format_duration(delay)
                    )),
                };
            }
        });
        pod.event(
            &ctx,
            Some(&name),
            EventType::Warning,
            "BackOff",
            format!("Back-off restarting failed container {name} in pod {pod_name}"),
        );
        if !sleep_unless_stopped(&pod, delay).await {
            return false;
        }
    }
}

/// Starts the container once and waits for it to end.
async fn run_once(
    ctx: &Arc<Context>,
    pod: &Arc<PodShared>,
    container: &Container,
    prepared: Prepared,
    restart: Restart,
) -> RunEnd {
    let name = &container.name;
    let restart_count = pod.read(|r| {
        r.init
            .iter()
            .chain(&r.containers)
            .find(|c| &c.name == name)
            .map_or(0, |c| c.restart_count)
    });
    let log = match ctx.logs.start(&pod.log_key, name, restart_count) {
        Ok(log) => log,
        Err(e) => {
            tracing::warn!(pod = %pod.key.name, container = %name, error = %e, "cannot open the container log; output discarded");
            skiff_runtime::ContainerLog::in_memory()
        }
    };
    pod.event(
        ctx,
        Some(name),
        EventType::Normal,
        "Created",
        format!("Created container {name}"),
    );
    let run = Run {
        ctx,
        pod,
        container,
        container_id: format!("skiff://{}/{name}/{restart_count}", pod.key.uid),
        probes: Probes::of(container),
        restart,
    };
    let end = match prepared.workload {
        Workload::Command(mut spec) => {
            spec.output = Output::Log(log);
            Box::pin(command::run(&run, &prepared.module, spec)).await
        }
        Workload::Http(setup) => Box::pin(serve::run(&run, &prepared.module, setup, log)).await,
    };
    ctx.logs.finish(&pod.log_key, name);
    let termination = &end.termination;
    if termination.exit_code != 0 && !pod.stop.is_cancelled() && end.killed.is_none() {
        let detail = termination
            .message
            .clone()
            .unwrap_or_else(|| format!("exit code {}", termination.exit_code));
        pod.event(
            ctx,
            Some(name),
            EventType::Warning,
            "Failed",
            format!("Container {name} failed ({}): {detail}", termination.reason),
        );
    }
    end
}

/// Pulls, compiles and configures a container.
async fn prepare(
    ctx: &Arc<Context>,
    pod: &Arc<PodShared>,
    container: &Container,
    usage: &Arc<Usage>,
) -> Result<Prepared, StartError> {
    let name = &container.name;
    let image = container.image.clone().unwrap_or_default();
    let policy = PullPolicy::of(container.image_pull_policy.as_deref(), &image);
    let clock = StdInstant::now();
    let pulled = ctx.images.pull(&image, policy).await?;
    if pulled.fetched {
        pod.event(
            ctx,
            Some(name),
            EventType::Normal,
            "Pulling",
            format!("Pulling image \"{image}\""),
        );
        pod.event(
            ctx,
            Some(name),
            EventType::Normal,
            "Pulled",
            format!(
                "Successfully pulled image \"{image}\" in {:.3}s ({} bytes)",
                clock.elapsed().as_secs_f64(),
                pulled.bytes.len()
            ),
        );
    } else {
        pod.event(
            ctx,
            Some(name),
            EventType::Normal,
            "Pulled",
            format!("Container image \"{image}\" already present on machine"),
        );
    }
    pod.update(ctx, |r| {
        if let Some(c) = r.container_mut(name) {
            c.image_id = Some(pulled.image_id.clone());
        }
    });
    let module = ctx
        .modules
        .load(&pulled.digest, &pulled.bytes)
        .await
        .map_err(|e| StartError::Create(format!("cannot load module of image \"{image}\": {e}")))?;
    let the_pod = pod.pod();
    let env = env::resolve(&the_pod, container, &ctx.sources, &ctx.host_ip)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let preopens = match pod.volumes.get() {
        Some(volumes) => volumes
            .mounts(container)
            .map_err(|e| StartError::Config(e.to_string()))?,
        None => Vec::new(),
    };
    let limits = limits(container)?;
    if module.kind() == ModuleKind::HttpProxy {
        let mut setup = serve::setup(ctx, pod, &the_pod, container, env, preopens, limits)?;
        setup.config.usage = usage.clone();
        return Ok(Prepared {
            module,
            workload: Workload::Http(setup),
        });
    }
    let mut args: Vec<String> = match &container.command {
        Some(command) if !command.is_empty() => command.clone(),
        _ => vec![name.clone()],
    };
    args.extend(container.args.iter().flatten().cloned());
    let args = args.iter().map(|a| env::expand(a, &env)).collect();
    let spec = CommandSpec {
        args,
        env,
        preopens,
        limits,
        usage: usage.clone(),
        ..CommandSpec::default()
    };
    Ok(Prepared {
        module,
        workload: Workload::Command(spec),
    })
}

/// `resources.limits` as runtime limits.
fn limits(container: &Container) -> Result<Limits, StartError> {
    let mut limits = Limits::default();
    let Some(set) = container.resources.as_ref().and_then(|r| r.limits.as_ref()) else {
        return Ok(limits);
    };
    if let Some(memory) = set.get("memory") {
        let bytes: ByteQuantity = memory
            .0
            .parse()
            .map_err(|e| StartError::Config(format!("resources.limits.memory: {e}")))?;
        limits.memory = Some(bytes.bytes());
    }
    if let Some(cpu) = set.get("cpu") {
        let millis = cpu_millicores(&cpu.0)
            .map_err(|e| StartError::Config(format!("resources.limits.cpu: {e}")))?;
        limits.cpu_millis = Some(u32::try_from(millis.max(1)).unwrap_or(u32::MAX));
    }
    Ok(limits)
}

fn set_waiting(
    ctx: &Context,
    pod: &PodShared,
    name: &str,
    reason: &'static str,
    message: Option<String>,
) {
    pod.update(ctx, |r| {
        if let Some(c) = r.container_mut(name) {
            c.phase = ContainerPhase::Waiting { reason, message };
        }
    });
}

/// Sleeps for `delay`; false if the pod started stopping meanwhile.
async fn sleep_unless_stopped(pod: &PodShared, delay: Duration) -> bool {
    tokio::select! {
        () = pod.stop.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_kill_restarts_unless_the_policy_is_never() {
        // (policy, succeeded, killed) → runs again
        let cases = [
            (Restart::Always, true, false, true),
            (Restart::OnFailure, true, false, false),
            (Restart::OnFailure, false, false, true),
            (Restart::OnFailure, true, true, true),
            (Restart::Never, false, false, false),
            (Restart::Never, true, true, false),
        ];
        for (policy, succeeded, killed, again) in cases {
            assert_eq!(
                policy.again(succeeded, killed),
                again,
                "{policy:?} succeeded={succeeded} killed={killed}"
            );
        }
    }
}
