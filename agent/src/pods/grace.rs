//! A pod's termination grace period: how long its containers get to stop once asked
//! ([`grace_of`]), Kubernetes' [`DEFAULT_GRACE`] when the spec sets none. The worker uses
//! it to stop a deleted pod, a container runner to stop a container its probes killed.

use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

/// Kubernetes' default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The grace period a stop of `pod` gets: `terminationGracePeriodSeconds` or [`DEFAULT_GRACE`].
pub(crate) fn grace_of(pod: &Pod) -> Duration {
    pod.spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .map_or(DEFAULT_GRACE, |s| {
            Duration::from_secs(s.max(0).unsigned_abs())
        })
}
