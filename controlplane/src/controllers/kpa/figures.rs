//! [`Figures`]: what the request-driven autoscaler reads of the data plane — each pod's
//! request figures and the requests agents hold for a Service — as a seam between the
//! controller and the [`Collector`] that answers them in the running control plane (and
//! a stand-in in tests).

use crate::metrics::Collector;
use crate::metrics::usage::RequestRates;
use std::time::Duration;

/// The window pods' figures are read over: one second, Knative's per-pod stat period. A
/// shorter one would follow a burst sooner but be noisier and, right after a pod starts,
/// missing; the panic window's average and the held requests already react within a tick.
pub const SAMPLE_WINDOW: Duration = Duration::from_secs(1);

/// The data plane's figures, as the autoscaler reads them.
pub trait Figures: Send + Sync + 'static {
    /// A pod's requests over [`SAMPLE_WINDOW`]; `None` when not (yet) reported.
    fn requests(&self, namespace: &str, pod: &str) -> Option<RequestRates>;
    /// Requests the agents hold now for a Service.
    fn held(&self, namespace: &str, service: &str) -> u32;
}

impl Figures for Collector {
    fn requests(&self, namespace: &str, pod: &str) -> Option<RequestRates> {
        self.pod(namespace, pod, SAMPLE_WINDOW)?.requests
    }

    fn held(&self, namespace: &str, service: &str) -> u32 {
        Collector::held(self, namespace, service)
    }
}
