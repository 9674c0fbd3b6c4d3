//! [`expire_graceful_deletions`]: deletes pods whose graceful deletion has run out. A pod
//! bound to a node stays `Terminating` until its node's agent confirms the deletion (a
//! delete with grace 0) or its `deletionGracePeriodSeconds` have passed since its
//! `deletionTimestamp`; this task enforces the second half, reading from the watch cache.

use crate::apiserver::ApiState;
use crate::apiserver::state::decode;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How often expired graceful deletions are looked for: a pod outlives its grace period
/// by at most this much.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

const PODS_PREFIX: &str = "/registry/core/pods/";

/// Runs until `shutdown` is cancelled.
pub async fn expire_graceful_deletions(state: ApiState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = sweep(&state).await {
            tracing::warn!(error = %e, "graceful deletion sweep failed");
        }
    }
}

/// Deletes every pod whose grace period has passed; returns how many.
pub async fn sweep(state: &ApiState) -> Result<usize, crate::store::Error> {
    let pods = state.store.list(PODS_PREFIX).await?;
    let now = SystemTime::now();
    let mut deleted = 0;
    for kv in pods.items {
        let Ok(stored) = decode(&kv) else { continue };
        if !expired(&stored.object, now) {
            continue;
        }
        match state.store.delete(&kv.key, Some(kv.mod_revision)).await {
            Ok(_) => {
                deleted += 1;
                tracing::info!(pod = %kv.key, "grace period over; pod deleted");
            }
            // Changed or gone meanwhile: the next sweep looks again.
            Err(crate::store::Error::Conflict { .. } | crate::store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

fn expired(pod: &Value, now: SystemTime) -> bool {
    let finalizers = pod
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let since = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok());
    let grace = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_u64);
    match (since, grace) {
        (Some(since), Some(grace)) if !finalizers => now >= since + Duration::from_secs(grace),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_pods_past_their_grace_expire() {
        let now = SystemTime::now();
        let at = |secs_ago: u64| {
            humantime::format_rfc3339_seconds(now - Duration::from_secs(secs_ago)).to_string()
        };
        let pod = |ago, grace, finalizers: Value| {
            json!({"metadata": {"deletionTimestamp": at(ago), "deletionGracePeriodSeconds": grace,
                                "finalizers": finalizers}})
        };
        assert!(expired(&pod(31, 30, json!([])), now));
        assert!(!expired(&pod(10, 30, json!([])), now));
        assert!(!expired(&pod(31, 30, json!(["x"])), now));
        assert!(!expired(&json!({"metadata": {}}), now));
    }
}
