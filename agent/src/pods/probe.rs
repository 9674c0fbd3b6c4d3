//! A container's probes — startup, liveness, readiness — with Kubernetes' semantics.
//!
//! Each probe first runs `initialDelaySeconds` after the container started, then every
//! `periodSeconds`, each attempt bounded by `timeoutSeconds`. Its result changes after
//! `successThreshold` consecutive successes or `failureThreshold` consecutive failures
//! ([`tracker::Tracker`]). A startup probe gates the others: they run once it has
//! succeeded, and its failure kills the container like a liveness failure. A liveness
//! failure kills the container (the runner restarts it per `restartPolicy`); readiness
//! makes it ready or not.
//!
//! Parts: [`spec`] ([`Probes`] and [`Probe`]: the spec, Kubernetes' defaults applied),
//! [`supervise`] and [`Kill`] here (the probe loops of one container run, and why they
//! want it killed), [`hooks`] (what the loops talk to: a [`Check`] that carries out one
//! attempt and an [`Observer`] that hears the results), [`tracker`] (the threshold state
//! machine), [`check`] (attempts against the container's HTTP handler or the pod's
//! registered servers) and [`report`] (results into the pod's status and events).

pub mod check;
pub mod hooks;
pub mod report;
pub mod spec;
#[cfg(test)]
mod tests;
pub mod tracker;

use hooks::{Check, Observer};
use spec::{Kind, Probe, Probes};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};
use tracker::Tracker;

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
