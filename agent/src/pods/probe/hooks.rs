//! The two sides the probe loops talk to: [`Check`] carries out one attempt of a probe,
//! [`Observer`] hears what the probes find.

use super::spec::{Kind, Probe};
use futures::future::BoxFuture;

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
