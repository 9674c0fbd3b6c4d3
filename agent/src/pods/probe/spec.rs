//! What a container's probes are, read from its spec with Kubernetes' defaults applied:
//! [`Probes`] (startup, liveness, readiness), each a [`Probe`] of a [`Kind`] whose
//! attempts do an [`Action`], and the defaults ([`DEFAULT_TIMEOUT`], [`DEFAULT_PERIOD`],
//! [`DEFAULT_SUCCESS_THRESHOLD`], [`DEFAULT_FAILURE_THRESHOLD`]).

use k8s_openapi::api::core::v1::{Container, Probe as ProbeSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::time::Duration;

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
