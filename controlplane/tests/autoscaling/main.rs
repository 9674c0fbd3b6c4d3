//! In-process tests of request-driven autoscaling: the `activations` endpoint through the
//! router ([`activation`]), and the autoscaler scaling a Deployment with the ReplicaSet
//! and Deployment controllers beside it and a stand-in kubelet ([`scaling`]).
//!
//! The data plane's figures reach the running control plane only on the agents' stats
//! streams, so the autoscaler is driven here through its [`Figures`] seam: a stand-in that
//! reports a concurrency for every pod and a count of held requests.

mod activation;
#[allow(dead_code)]
#[path = "../workloads/kubelet.rs"]
mod kubelet;
mod scaling;
#[path = "../support/mod.rs"]
mod support;

use skiff_controlplane::controllers::kpa::figures::Figures;
use skiff_controlplane::metrics::usage::RequestRates;
use std::sync::Mutex;

/// Data-plane figures set by the test.
#[derive(Default)]
pub struct Stand {
    /// Every pod's concurrency.
    pub concurrency: Mutex<f64>,
    /// Requests held for every Service.
    pub held: Mutex<u32>,
}

impl Figures for Stand {
    fn requests(&self, _namespace: &str, _pod: &str) -> Option<RequestRates> {
        let concurrency = *self.concurrency.lock().expect("not poisoned");
        Some(RequestRates {
            per_second: concurrency * 10.0,
            concurrency,
            in_flight: concurrency as u32,
        })
    }

    fn held(&self, _namespace: &str, _service: &str) -> u32 {
        *self.held.lock().expect("not poisoned")
    }
}
