//! A container's probes — startup, liveness, readiness — with Kubernetes' semantics.
//!
//! Each probe first runs `initialDelaySeconds` after the container started, then every
//! `periodSeconds`, each attempt bounded by `timeoutSeconds`. Its result changes after
//! `successThreshold` consecutive successes or `failureThreshold` consecutive failures
//! ([`state::Tracker`]). A startup probe gates the others: they run once it has
//! succeeded, and its failure kills the container like a liveness failure. A liveness
//! failure kills the container (the runner restarts it per `restartPolicy`); readiness
//! makes it ready or not.
//!
//! Parts: [`Probes`] and [`Probe`] (the spec, Kubernetes' defaults applied), [`supervise`]
//! (the probe loops of one container run, against a [`Check`] that carries out one
//! attempt and an [`Observer`] that hears the results), [`state`] (the threshold state
//! machine), [`check`] (attempts against the container's HTTP handler or the pod's
//! registered servers) and [`report`] (results into the pod's status and events).

pub mod check;
pub mod report;
pub mod state;
#[cfg(test)]
mod tests;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Container, Probe as ProbeSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use state::Tracker;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Kubernetes' default `timeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Kubernetes' default `periodSeconds`.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(10);

/// Kubernetes' default `successThreshold` (the only value liveness and startup allow).
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 1;

/// Kubernetes' default `failureThreshold`.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `startupProbe`: the container has started once it passes.
    Startup,
    /// `livenessProbe`: the container is restarted when it fails.
    Liveness,
    /// `readinessProbe`: the container takes traffic while it passes.
    Readiness,
}

impl Kind {
    /// The probe as the kubelet's events name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

/// What one attempt does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `httpGet`: a GET to the container's own handler; 200–399 passes.
    HttpGet {
        /// Path and query, starting with `/`.
        path: String,
        /// The port, by number or by `containerPort` name.
        port: IntOrString,
        /// `httpHeaders`, in order.
        headers: Vec<(String, String)>,
    },
    /// `tcpSocket`: passes while the pod has a server on the port.
    TcpSocket {
        /// The port, by number or by `containerPort` name.
        port: IntOrString,
    },
    /// A probe Skiff cannot carry out (`exec`, `grpc`, none); every attempt fails with
    /// this reason.
    Unsupported(&'static str),
}

/// One probe of a container, with Kubernetes' defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// Which probe it is.
    pub kind: Kind,
    /// What an attempt does.
    pub action: Action,
    /// Wait after the container started before the first attempt.
    pub initial_delay: Duration,
    /// Time between attempts.
    pub period: Duration,
    /// Bound on one attempt.
    pub timeout: Duration,
    /// Consecutive successes that make the result a success.
    pub success_threshold: u32,
    /// Consecutive failures that make the result a failure.
    pub failure_threshold: u32,
    /// The probe's own `terminationGracePeriodSeconds` for the kill it causes.
    pub termination_grace: Option<Duration>,
}

impl Probe {
    /// The probe of `kind` from its spec.
    pub fn new(kind: Kind, spec: &ProbeSpec) -> Self {
        let seconds = |value: Option<i32>, default: Duration| match value {
            Some(s) if s > 0 => Duration::from_secs(s.unsigned_abs().into()),
            _ => default,
        };
        let count = |value: Option<i32>, default: u32| match value {
            Some(n) if n > 0 => n.unsigned_abs(),
            _ => default,
        };
        let success_threshold = match kind {
            // Kubernetes requires 1 for these; a higher value would never kill.
            Kind::Liveness | Kind::Startup => 1,
            Kind::Readiness => count(spec.success_threshold, DEFAULT_SUCCESS_THRESHOLD),
        };
        Self {
            kind,
            action: action(spec),
            initial_delay: seconds(spec.initial_delay_seconds, Duration::ZERO),
            period: seconds(spec.period_seconds, DEFAULT_PERIOD),
            timeout: seconds(spec.timeout_seconds, DEFAULT_TIMEOUT),
            success_threshold,
            failure_threshold: count(spec.failure_threshold, DEFAULT_FAILURE_THRESHOLD),
            termination_grace: spec
                .termination_grace_period_seconds
                .map(|s| Duration::from_secs(s.max(0).unsigned_abs())),
        }
    }
}

fn action(spec: &ProbeSpec) -> Action {
    if let Some(get) = &spec.http_get {
        let path = get.path.clone().unwrap_or_default();
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        Action::HttpGet {
            path,
            port: get.port.clone(),
            headers: get
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }
    } else if let Some(tcp) = &spec.tcp_socket {
        Action::TcpSocket {
            port: tcp.port.clone(),
        }
    } else if spec.exec.is_some() {
        Action::Unsupported(
            "exec probes are not supported: a wasm container has no processes to exec; use httpGet or tcpSocket",
        )
    } else if spec.grpc.is_some() {
        Action::Unsupported("grpc probes are not supported; use httpGet or tcpSocket")
    } else {
        Action::Unsupported("the probe has no handler (httpGet or tcpSocket)")
    }
}

/// A container's probes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    /// `startupProbe`.
    pub startup: Option<Probe>,
    /// `livenessProbe`.
    pub liveness: Option<Probe>,
    /// `readinessProbe`.
    pub readiness: Option<Probe>,
}

impl Probes {
    /// The probes `container` declares.
    pub fn of(container: &Container) -> Self {
        Self {
            startup: container
                .startup_probe
                .as_ref()
                .map(|p| Probe::new(Kind::Startup, p)),
            liveness: container
                .liveness_probe
                .as_ref()
                .map(|p| Probe::new(Kind::Liveness, p)),
            readiness: container
                .readiness_probe
                .as_ref()
                .map(|p| Probe::new(Kind::Readiness, p)),
        }
    }
}

/// Carries out one attempt of a probe.
pub trait Check: Send + Sync {
    /// Runs `probe` once: `Ok` if it passed, else why not (the kubelet's wording).
    fn run<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, Result<(), String>>;

    /// Why an attempt failed that did not finish within `probe.timeout`.
    fn timed_out(&self, probe: &Probe) -> String {
        format!(
            "timed out after {}",
            humantime::format_duration(probe.timeout)
        )
    }
}

/// Hears what a container's probes find.
pub trait Observer: Send + Sync {
    /// The startup probe passed.
    fn started(&self);
    /// The readiness probe's result changed.
    fn ready(&self, ready: bool);
    /// An attempt failed (the kubelet's `Unhealthy` event).
    fn failed(&self, kind: Kind, message: &str);
}

/// Why probes want the container killed.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    /// The probe that failed: liveness or startup.
    pub kind: Kind,
    /// The probe's own grace period, if it sets one.
    pub grace: Option<Duration>,
}

/// Runs `probes` for a container run that started at `since`: the startup probe until
/// it passes, then liveness and readiness side by side. Returns only when the container
/// must be killed; the caller drops the future when the run ends otherwise.
pub async fn supervise(
    probes: &Probes,
    since: Instant,
    check: &dyn Check,
    observer: &dyn Observer,
) -> Kill {
    if let Some(startup) = &probes.startup {
        let mut tracker = Tracker::new(startup, None);
        let mut ticks = ticker(startup, since);
        loop {
            ticks.tick().await;
            match tracker.record(attempt(startup, check, observer).await) {
                Some(true) => break,
                Some(false) => return kill(startup),
                None => {}
            }
        }
        observer.started();
    }
    let liveness = async {
        let Some(liveness) = &probes.liveness else {
            return std::future::pending::<Kill>().await;
        };
        let mut tracker = Tracker::new(liveness, Some(true));
        let mut ticks = ticker(liveness, since);
        loop {
            ticks.tick().await;
            if tracker.record(attempt(liveness, check, observer).await) == Some(false) {
                return kill(liveness);
            }
        }
    };
    let readiness = async {
        let Some(readiness) = &probes.readiness else {
            return std::future::pending::<Kill>().await;
        };
        let mut tracker = Tracker::new(readiness, Some(false));
        let mut ticks = ticker(readiness, since);
        loop {
            ticks.tick().await;
            if let Some(ready) = tracker.record(attempt(readiness, check, observer).await) {
                observer.ready(ready);
            }
        }
    };
    tokio::select! {
        kill = liveness => kill,
        never = readiness => never,
    }
}

/// Ticks at `since + initialDelaySeconds` (or now, if that has passed), then every period;
/// an attempt longer than the period delays the next rather than bunching them up.
fn ticker(probe: &Probe, since: Instant) -> tokio::time::Interval {
    let first = (since + probe.initial_delay).max(Instant::now());
    let mut ticks = tokio::time::interval_at(first, probe.period.max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// One attempt under the probe's timeout; a failure is reported to the observer.
async fn attempt(probe: &Probe, check: &dyn Check, observer: &dyn Observer) -> bool {
    let result = match tokio::time::timeout(probe.timeout, check.run(probe)).await {
        Ok(result) => result,
        Err(_) => Err(check.timed_out(probe)),
    };
    match result {
        Ok(()) => true,
        Err(message) => {
            observer.failed(probe.kind, &message);
            false
        }
    }
}

fn kill(probe: &Probe) -> Kill {
    Kill {
        kind: probe.kind,
        grace: probe.termination_grace,
    }
}
