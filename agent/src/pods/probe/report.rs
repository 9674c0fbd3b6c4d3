//! [`PodObserver`]: what a container's probes find, recorded the kubelet's way — the
//! container's `started` and `ready` in the pod's record (so its status and `Ready`
//! condition follow, written at once), and each failed attempt as a Warning `Unhealthy`
//! event (`Readiness probe failed: HTTP probe failed with statuscode: 500`).

use super::hooks::Observer;
use super::spec::Kind;
use crate::pods::context::Context;
use crate::pods::shared::PodShared;
use skiff_model::events::EventType;

/// Records one container's probe results on its pod.
pub struct PodObserver<'a> {
    /// The node's services.
    pub ctx: &'a Context,
    /// The pod.
    pub pod: &'a PodShared,
    /// The container's name.
    pub container: &'a str,
}

impl Observer for PodObserver<'_> {
    fn started(&self) {
        self.pod.update(self.ctx, |r| {
            if let Some(c) = r.container_mut(self.container) {
                c.probes.starting = false;
            }
        });
    }

    fn ready(&self, ready: bool) {
        tracing::debug!(pod = %self.pod.key.name, container = %self.container, ready, "readiness changed");
        self.pod.update(self.ctx, |r| {
            if let Some(c) = r.container_mut(self.container) {
                c.probes.unready = !ready;
            }
        });
    }

    fn failed(&self, kind: Kind, message: &str) {
        self.pod.event(
            self.ctx,
            Some(self.container),
            EventType::Warning,
            "Unhealthy",
            format!("{} probe failed: {message}", kind.as_str()),
        );
    }
}
