//! One container's life on the node: pull its image, compile its module, build what the
//! guest is given (arguments, environment, directories, limits), run it, and restart it
//! per the pod's `restartPolicy` with crash-loop backoff — recording every state for the
//! pod's status and every step as an event.

use super::backoff::Backoff;
use super::context::{Context, PodShared};
use super::env;
use super::state::{ContainerPhase, Termination};
use crate::events::EventType;
use crate::image::{PullError, PullPolicy};
use crate::quantity::{ByteQuantity, millicores};
use k8s_openapi::api::core::v1::Container;
use skiff_runtime::{CommandSpec, Limits, Module, Outcome, Output};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Whether a container that ended runs again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always (`restartPolicy: Always`).
    Always,
    /// Only after a failure (`OnFailure`, and init containers of restartable pods).
    OnFailure,
    /// Never.
    Never,
}

impl Restart {
    /// The policy of a pod's regular containers.
    pub fn of(policy: Option<&str>) -> Self {
        match policy {
            Some("OnFailure") => Restart::OnFailure,
            Some("Never") => Restart::Never,
            _ => Restart::Always,
        }
    }

    /// The policy of a pod's init containers: retried until they succeed, unless the pod
    /// never restarts anything.
    pub fn for_init(self) -> Self {
        match self {
            Restart::Never => Restart::Never,
            _ => Restart::OnFailure,
        }
    }

    fn again(self, outcome: &Outcome) -> bool {
        match self {
            Restart::Always => true,
            Restart::OnFailure => !outcome.is_success(),
            Restart::Never => false,
        }
    }
}

/// Why a container could not be started.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Create(String),
}

impl StartError {
    /// The waiting reason while the failure stands.
    fn reason(&self) -> &'static str {
        match self {
            StartError::Pull(e) => e.reason(),
            StartError::Config(_) => "CreateContainerConfigError",
            StartError::Create(_) => "CreateContainerError",
        }
    }

    /// The waiting reason while backing off before the next try.
    fn backoff_reason(&self) -> &'static str {
        match self {
            StartError::Pull(e) if e.reason() == "ErrImagePull" => "ImagePullBackOff",
            other => other.reason(),
        }
    }
}

/// A container ready to start.
struct Prepared {
    module: Module,
    spec: CommandSpec,
}

/// Runs a container until it ends for good or the pod stops; returns whether its last run
/// succeeded.
pub async fn run(
    ctx: Arc<Context>,
    pod: Arc<PodShared>,
    container: Container,
    restart: Restart,
) -> bool {
    let name = container.name.clone();
    let mut crash_backoff = Backoff::new(ctx.config.backoff);
    let mut start_backoff = Backoff::new(ctx.config.backoff);
    let mut failures = 0u32;
    loop {
        if pod.stop.is_cancelled() {
            return false;
        }
        let prepared = match prepare(&ctx, &pod, &container).await {
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
        let (outcome, termination, ran) = match run_once(&ctx, &pod, &container, prepared).await {
            Some(ended) => ended,
            None => return false,
        };
        if pod.stop.is_cancelled() || !restart.again(&outcome) {
            let succeeded = outcome.is_success();
            pod.update(&ctx, |r| {
                if let Some(c) = r.container_mut(&name) {
                    c.phase = ContainerPhase::Terminated(termination);
                }
            });
            return succeeded;
        }
        let delay = crash_backoff.delay(ran);
        let uid = &pod.key.uid;
        let pod_name = format!("{}_{}({uid})", pod.key.name, pod.key.namespace);
        pod.update(&ctx, |r| {
            if let Some(c) = r.container_mut(&name) {
                c.last = Some(termination);
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

/// Starts the container once and waits for it to end; `None` when it could not start
/// because the pod is stopping.
async fn run_once(
    ctx: &Context,
    pod: &PodShared,
    container: &Container,
    prepared: Prepared,
) -> Option<(Outcome, Termination, Duration)> {
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
    let container_id = format!("skiff://{}/{name}/{restart_count}", pod.key.uid);
    let mut spec = prepared.spec;
    spec.output = Output::Log(log);
    pod.event(
        ctx,
        Some(name),
        EventType::Normal,
        "Created",
        format!("Created container {name}"),
    );
    let instance = match ctx.modules.runtime().spawn(&prepared.module, spec) {
        Ok(instance) => instance,
        Err(e) => {
            let message = e.to_string();
            pod.event(
                ctx,
                Some(name),
                EventType::Warning,
                "Failed",
                format!("Error: {message}"),
            );
            ctx.logs.finish(&pod.log_key, name);
            let now = SystemTime::now();
            let termination = Termination {
                exit_code: 128,
                reason: "ContainerCannotRun",
                message: Some(message),
                started: Some(now),
                finished: now,
                container_id: Some(container_id),
            };
            return Some((Outcome::Exited(128), termination, Duration::ZERO));
        }
    };
    let started = SystemTime::now();
    let clock = Instant::now();
    pod.update(ctx, |r| {
        if let Some(c) = r.container_mut(name) {
            c.phase = ContainerPhase::Running { started };
            c.container_id = Some(container_id.clone());
        }
    });
    pod.event(
        ctx,
        Some(name),
        EventType::Normal,
        "Started",
        format!("Started container {name}"),
    );

    let handle = instance.stop_handle();
    let wait = instance.wait();
    tokio::pin!(wait);
    let outcome = tokio::select! {
        outcome = &mut wait => outcome,
        () = pod.stop.cancelled() => {
            pod.event(ctx, Some(name), EventType::Normal, "Killing", format!("Stopping container {name}"));
            let grace = pod.grace();
            tokio::select! {
                () = handle.stop(grace) => {}
                () = pod.kill.cancelled() => handle.force(),
            }
            wait.await
        }
    };
    ctx.logs.finish(&pod.log_key, name);
    let termination = terminate(&outcome, started, container_id);
    if termination.exit_code != 0 && !pod.stop.is_cancelled() {
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
    Some((outcome, termination, clock.elapsed()))
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

/// Pulls, compiles and configures a container.
async fn prepare(
    ctx: &Context,
    pod: &PodShared,
    container: &Container,
) -> Result<Prepared, StartError> {
    let name = &container.name;
    let image = container.image.clone().unwrap_or_default();
    let policy = PullPolicy::of(container.image_pull_policy.as_deref(), &image);
    let clock = Instant::now();
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
    if !module.kind().is_command() {
        return Err(StartError::Create(format!(
            "image \"{image}\" is a {} and only commands run as containers on this node",
            module.kind()
        )));
    }
    let the_pod = pod.pod();
    let env = env::resolve(&the_pod, container, &ctx.sources, &ctx.host_ip)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let preopens = match pod.volumes.get() {
        Some(volumes) => volumes
            .mounts(container)
            .map_err(|e| StartError::Config(e.to_string()))?,
        None => Vec::new(),
    };
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
        limits: limits(container)?,
        ..CommandSpec::default()
    };
    Ok(Prepared { module, spec })
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
        let millis = millicores(&cpu.0)
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
