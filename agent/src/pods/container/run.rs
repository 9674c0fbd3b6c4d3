//! [`Run`]: one run of a container as its command or HTTP runner sees it — recording
//! that it started, running its probes, announcing its stop — and [`RunEnd`], how the
//! run ended.

use super::restart::Restart;
use crate::pods::context::Context;
use crate::pods::grace::grace_of;
use crate::pods::probe::check::{Checker, Target};
use crate::pods::probe::report::PodObserver;
use crate::pods::probe::spec::{Kind, Probes};
use crate::pods::probe::{self, Kill};
use crate::pods::record::{ContainerPhase, ProbeState, Termination};
use crate::pods::shared::PodShared;
use k8s_openapi::api::core::v1::Container;
use skiff_model::events::EventType;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How one run of a container ended.
pub(crate) struct RunEnd {
    /// Whether it counts as a success for `restartPolicy: OnFailure`.
    pub(super) succeeded: bool,
    /// How it is reported.
    pub(super) termination: Termination,
    /// How long it ran (for the backoff reset).
    pub(super) ran: Duration,
    /// The probe that had it killed, if one did.
    pub(super) killed: Option<Kind>,
}

/// One run of a container, as its command or HTTP runner sees it.
pub(crate) struct Run<'a> {
    pub(super) ctx: &'a Arc<Context>,
    pub(super) pod: &'a Arc<PodShared>,
    pub(super) container: &'a Container,
    pub(super) container_id: String,
    pub(super) probes: Probes,
    pub(super) restart: Restart,
}

impl Run<'_> {
    /// Records that the run started (running, with what its probes say before they
    /// run) and returns when.
    pub(super) fn started(&self) -> SystemTime {
        let name = &self.container.name;
        let started = SystemTime::now();
        let probes = ProbeState {
            starting: self.probes.startup.is_some(),
            unready: self.probes.readiness.is_some(),
        };
        self.pod.update(self.ctx, |r| {
            if let Some(c) = r.container_mut(name) {
                c.phase = ContainerPhase::Running { started };
                c.container_id = Some(self.container_id.clone());
                c.probes = probes;
            }
        });
        self.pod.event(
            self.ctx,
            Some(name),
            EventType::Normal,
            "Started",
            format!("Started container {name}"),
        );
        started
    }

    /// Runs the container's probes against `target` from `since`; resolves when they
    /// want it killed.
    pub(super) async fn probe(&self, target: Target, since: Instant) -> Kill {
        let key = &self.pod.key;
        let checker = Checker {
            target,
            container: self.container,
            namespace: key.namespace.clone(),
            pod: key.name.clone(),
            uid: key.uid.clone(),
            host: self.ctx.host_ip.clone(),
            local: self.ctx.dataplane.local.clone(),
        };
        let observer = PodObserver {
            ctx: self.ctx,
            pod: self.pod,
            container: &self.container.name,
        };
        probe::supervise(&self.probes, since, &checker, &observer).await
    }

    /// Announces the stop of the run: for the pod's stop, or for a failed probe (with
    /// the kubelet's wording); returns the grace period it gets.
    pub(super) fn killing(&self, kill: Option<&Kill>) -> Duration {
        let name = &self.container.name;
        let (message, grace) = match kill {
            None => (format!("Stopping container {name}"), self.pod.grace()),
            Some(kill) => {
                let probe = match kill.kind {
                    Kind::Startup => "startup",
                    _ => "liveness",
                };
                let restarts = if self.restart == Restart::Never {
                    ""
                } else {
                    ", will be restarted"
                };
                let grace = kill.grace.unwrap_or_else(|| grace_of(&self.pod.pod()));
                (
                    format!("Container {name} failed {probe} probe{restarts}"),
                    grace,
                )
            }
        };
        self.pod
            .event(self.ctx, Some(name), EventType::Normal, "Killing", message);
        grace
    }

    /// The end of a run whose instance could not be created.
    pub(super) fn cannot_run(&self, message: String) -> RunEnd {
        self.pod.event(
            self.ctx,
            Some(&self.container.name),
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
        );
        let now = SystemTime::now();
        RunEnd {
            succeeded: false,
            termination: Termination {
                exit_code: 128,
                reason: "ContainerCannotRun",
                message: Some(message),
                started: Some(now),
                finished: now,
                container_id: Some(self.container_id.clone()),
            },
            ran: Duration::ZERO,
            killed: None,
        }
    }
}
