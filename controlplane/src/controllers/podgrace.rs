//! The graceful-deletion expiry: deletes pods whose graceful deletion has run out. A pod
//! bound to a node stays `Terminating` until its node's agent confirms the deletion (a
//! delete with grace 0) or its `deletionGracePeriodSeconds` have passed since its
//! `deletionTimestamp`; this periodic sweep enforces the second half, reading the pod
//! informer and removing each expired pod through the client, at the revision it saw.

use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::informer::{Informer, key_of};
use k8s_openapi::api::core::v1::Pod;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// How often expired graceful deletions are looked for: a pod outlives its grace period
/// by at most this much.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The graceful-deletion expiry, built and not yet running.
pub struct PodGrace {
    pods: Informer<Pod>,
    client: Client,
}

impl PodGrace {
    /// Builds the sweep over the pod informer.
    pub fn new(ctx: &Context) -> Self {
        Self {
            pods: ctx.informers.pods.clone(),
            client: ctx.client("graceful-deletion"),
        }
    }

    /// Sweeps every [`SWEEP_INTERVAL`] until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "graceful deletion sweep failed");
            }
        }
    }

    /// Deletes every pod whose grace period has passed; returns how many.
    pub async fn sweep(&self) -> Result<usize, crate::apiserver::error::ApiError> {
        let now = SystemTime::now();
        let mut deleted = 0;
        for pod in self.pods.list() {
            if !expired(&pod, now) {
                continue;
            }
            let meta = &pod.metadata;
            let Some(revision) = meta
                .resource_version
                .as_deref()
                .and_then(|r| r.parse().ok())
            else {
                continue;
            };
            let namespace = meta.namespace.as_deref().unwrap_or_default();
            let name = meta.name.as_deref().unwrap_or_default();
            // Changed or gone meanwhile: the next sweep looks again.
            if self
                .client
                .remove_expired_pod(namespace, name, revision)
                .await?
            {
                deleted += 1;
                tracing::info!(pod = %key_of(meta), "grace period over; pod deleted");
            }
        }
        Ok(deleted)
    }
}

fn expired(pod: &Pod, now: SystemTime) -> bool {
    let meta = &pod.metadata;
    let finalizers = meta.finalizers.as_ref().is_some_and(|f| !f.is_empty());
    let since = meta
        .deletion_timestamp
        .as_ref()
        .and_then(|t| u64::try_from(t.0.as_nanosecond()).ok())
        .map(|nanos| UNIX_EPOCH + Duration::from_nanos(nanos));
    let grace = meta
        .deletion_grace_period_seconds
        .and_then(|g| u64::try_from(g).ok());
    match (since, grace) {
        (Some(since), Some(grace)) if !finalizers => now >= since + Duration::from_secs(grace),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn only_pods_past_their_grace_expire() {
        let now = SystemTime::now();
        let at = |secs_ago: u64| {
            humantime::format_rfc3339_seconds(now - Duration::from_secs(secs_ago)).to_string()
        };
        let pod = |ago, grace, finalizers: Value| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"deletionTimestamp": at(ago), "deletionGracePeriodSeconds": grace,
                                    "finalizers": finalizers}}),
            )
            .expect("pod")
        };
        assert!(expired(&pod(31, 30, json!([])), now));
        assert!(!expired(&pod(10, 30, json!([])), now));
        assert!(!expired(&pod(31, 30, json!(["x"])), now));
        let bare: Pod = serde_json::from_value(json!({"metadata": {}})).expect("pod");
        assert!(!expired(&bare, now));
    }
}
