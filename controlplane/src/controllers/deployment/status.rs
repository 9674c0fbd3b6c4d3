//! A Deployment's status — what `kubectl rollout status` and `kubectl get deploy` read:
//! the pod counts of its ReplicaSets, `observedGeneration`, the `Available` condition,
//! and the `Progressing` condition that tracks a rollout (Kubernetes' `calculateStatus`
//! and `syncRolloutStatus`). Pure: the caller supplies the counts and the time.

use super::conditions::{self, get};
use super::fenceposts::{max_unavailable, replicas};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::jiff::Timestamp;
use std::time::Duration;

/// The pods of a Deployment's ReplicaSets, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// The ReplicaSets' `spec.replicas`.
    pub(crate) desired: i32,
    /// Active pods.
    pub(crate) replicas: i32,
    /// Active pods of the new ReplicaSet.
    pub(crate) updated: i32,
    /// Ready pods.
    pub(crate) ready: i32,
    /// Available pods.
    pub(crate) available: i32,
}

/// Whether the Deployment tracks progress against a deadline.
pub(crate) fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != i32::MAX)
}

fn deadline(d: &Deployment) -> i64 {
    i64::from(
        d.spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(0),
    )
}

/// The counts and `Available` condition from `totals`, the rest carried over from the
/// current status.
pub(crate) fn calculate(d: &Deployment, totals: &Totals, now: Timestamp) -> DeploymentStatus {
    let current = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(totals.replicas),
        updated_replicas: Some(totals.updated),
        ready_replicas: Some(totals.ready),
        available_replicas: Some(totals.available),
        unavailable_replicas: Some((totals.desired - totals.available).max(0)),
        collision_count: current.collision_count,
        conditions: current.conditions,
        terminating_replicas: None,
    };
    let available = if totals.available >= replicas(d) - max_unavailable(d) {
        conditions::condition(
            conditions::AVAILABLE,
            "True",
            conditions::MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.",
            now,
        )
    } else {
        conditions::condition(
            conditions::AVAILABLE,
            "False",
            conditions::MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    };
    conditions::set(&mut status, available);
    status
}

/// Whether every replica is updated and available and nothing else runs (Kubernetes'
/// `DeploymentComplete`).
pub(crate) fn is_complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = replicas(d);
    status.updated_replicas.unwrap_or(0) == want
        && status.replicas.unwrap_or(0) == want
        && status.available_replicas.unwrap_or(0) == want
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `next` shows progress over `current`: more updated, ready or available pods,
/// or fewer old ones.
fn is_progressing(current: &DeploymentStatus, next: &DeploymentStatus) -> bool {
    let old_pods = |s: &DeploymentStatus| s.replicas.unwrap_or(0) - s.updated_replicas.unwrap_or(0);
    next.updated_replicas.unwrap_or(0) > current.updated_replicas.unwrap_or(0)
        || old_pods(next) < old_pods(current)
        || next.ready_replicas.unwrap_or(0) > current.ready_replicas.unwrap_or(0)
        || next.available_replicas.unwrap_or(0) > current.available_replicas.unwrap_or(0)
}

/// Whether the rollout has gone `progressDeadlineSeconds` without progress by `now`.
fn timed_out(d: &Deployment, next: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(cond) = get(next, conditions::PROGRESSING) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(conditions::NEW_RS_AVAILABLE) => false,
        Some(conditions::TIMED_OUT) => true,
        _ => cond
            .last_update_time
            .as_ref()
            .is_some_and(|t| t.0.as_millisecond() + deadline(d) * 1000 < now.as_millisecond()),
    }
}

/// The `Progressing` condition of a rollout (and the `ReplicaFailure` one, from the
/// ReplicaSets' `failure`) on top of `next`: complete, progressing (its
/// `lastUpdateTime` moves on), or past its deadline.
pub(crate) fn with_progress(
    d: &Deployment,
    mut next: DeploymentStatus,
    new_rs: Option<&str>,
    failure: Option<DeploymentCondition>,
    now: Timestamp,
) -> DeploymentStatus {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let current = d.status.clone().unwrap_or_default();
    let current_cond = get(&current, conditions::PROGRESSING).cloned();
    if !has_progress_deadline(d) {
        conditions::remove(&mut next, conditions::PROGRESSING);
    }
    let already_complete = next.replicas == next.updated_replicas
        && current_cond
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(conditions::NEW_RS_AVAILABLE));
    if has_progress_deadline(d) && !already_complete {
        let subject = match new_rs {
            Some(rs) => format!("ReplicaSet \"{rs}\""),
            None => format!("Deployment \"{name}\""),
        };
        if is_complete(d, &next) {
            let c = conditions::condition(
                conditions::PROGRESSING,
                "True",
                conditions::NEW_RS_AVAILABLE,
                format!("{subject} has successfully progressed."),
                now,
            );
            conditions::set(&mut next, c);
        } else if is_progressing(&current, &next) {
            let mut c = conditions::condition(
                conditions::PROGRESSING,
                "True",
                conditions::RS_UPDATED,
                format!("{subject} is progressing."),
                now,
            );
            // Progress moves `lastUpdateTime` on, even with the same reason.
            if let Some(current) = &current_cond {
                if current.status == "True" {
                    c.last_transition_time = current.last_transition_time.clone();
                }
                conditions::remove(&mut next, conditions::PROGRESSING);
            }
            conditions::set(&mut next, c);
        } else if timed_out(d, &next, now) {
            let c = conditions::condition(
                conditions::PROGRESSING,
                "False",
                conditions::TIMED_OUT,
                format!("{subject} has timed out progressing."),
                now,
            );
            conditions::set(&mut next, c);
        }
    }
    match failure {
        Some(failure) => conditions::set(&mut next, failure),
        None => conditions::remove(&mut next, conditions::REPLICA_FAILURE),
    }
    next
}

/// When to look at a rollout again to see whether it missed its deadline (Kubernetes'
/// `requeueStuckDeployment`): `None` if it has no deadline, is complete or already timed
/// out.
pub(crate) fn deadline_check(
    d: &Deployment,
    next: &DeploymentStatus,
    now: Timestamp,
) -> Option<Duration> {
    let current = d.status.clone().unwrap_or_default();
    let cond = get(&current, conditions::PROGRESSING)?;
    if !has_progress_deadline(d)
        || is_complete(d, next)
        || cond.reason.as_deref() == Some(conditions::TIMED_OUT)
    {
        return None;
    }
    let updated = cond.last_update_time.as_ref()?.0.as_millisecond();
    let left = updated + deadline(d) * 1000 - now.as_millisecond();
    // A second more, so the check lands after the deadline, not on it.
    Some(Duration::from_millis(left.max(0) as u64) + Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("time")
    }

    fn deployment(replicas: i32, status: DeploymentStatus) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                generation: Some(2),
                ..ObjectMeta::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                progress_deadline_seconds: Some(600),
                ..DeploymentSpec::default()
            }),
            status: Some(status),
        }
    }

    fn totals(desired: i32, replicas: i32, updated: i32, available: i32) -> Totals {
        Totals {
            desired,
            replicas,
            updated,
            ready: available,
            available,
        }
    }

    fn reason(status: &DeploymentStatus, type_: &str) -> Option<String> {
        get(status, type_).and_then(|c| c.reason.clone())
    }

    #[test]
    fn counts_and_availability() {
        // Default fenceposts (none given): one pod may be unavailable.
        let d = deployment(3, DeploymentStatus::default());
        let s = calculate(&d, &totals(4, 4, 1, 2), at(10));
        assert_eq!(s.observed_generation, Some(2));
        assert_eq!(
            (
                s.replicas,
                s.updated_replicas,
                s.available_replicas,
                s.unavailable_replicas
            ),
            (Some(4), Some(1), Some(2), Some(2))
        );
        assert_eq!(
            reason(&s, conditions::AVAILABLE).as_deref(),
            Some(conditions::MINIMUM_REPLICAS_AVAILABLE)
        );
        let s = calculate(&d, &totals(3, 3, 0, 1), at(10));
        assert_eq!(
            reason(&s, conditions::AVAILABLE).as_deref(),
            Some(conditions::MINIMUM_REPLICAS_UNAVAILABLE)
        );
    }

    #[test]
    fn a_rollout_progresses_completes_or_times_out() {
        let start = conditions::condition(
            conditions::PROGRESSING,
            "True",
            conditions::NEW_RS_CREATED,
            "",
            at(0),
        );
        let before = DeploymentStatus {
            replicas: Some(3),
            updated_replicas: Some(1),
            available_replicas: Some(3),
            ready_replicas: Some(3),
            conditions: Some(vec![start]),
            ..DeploymentStatus::default()
        };
        let d = deployment(3, before.clone());

        // More updated pods: progressing, with lastUpdateTime moved on.
        let next = with_progress(
            &d,
            calculate(&d, &totals(4, 4, 2, 3), at(100)),
            Some("web-1"),
            None,
            at(100),
        );
        let c = get(&next, conditions::PROGRESSING).expect("progressing");
        assert_eq!(c.reason.as_deref(), Some(conditions::RS_UPDATED));
        assert_eq!(c.last_update_time, Some(Time(at(100))));
        assert_eq!(c.last_transition_time, Some(Time(at(0))));
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"web-1\" is progressing.")
        );

        // No change before the deadline: untouched, and a check is due when it passes.
        let same = with_progress(
            &d,
            calculate(&d, &totals(3, 3, 1, 3), at(100)),
            Some("web-1"),
            None,
            at(100),
        );
        assert_eq!(
            reason(&same, conditions::PROGRESSING).as_deref(),
            Some(conditions::NEW_RS_CREATED)
        );
        assert_eq!(
            deadline_check(&d, &same, at(100)),
            Some(Duration::from_secs(501))
        );

        // No change after it: timed out.
        let late = with_progress(
            &d,
            calculate(&d, &totals(3, 3, 1, 3), at(601)),
            Some("web-1"),
            None,
            at(601),
        );
        let c = get(&late, conditions::PROGRESSING).expect("progressing");
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some(conditions::TIMED_OUT))
        );

        // Everything updated and available: complete.
        let done = with_progress(
            &d,
            calculate(&d, &totals(3, 3, 3, 3), at(200)),
            Some("web-1"),
            None,
            at(200),
        );
        assert_eq!(
            reason(&done, conditions::PROGRESSING).as_deref(),
            Some(conditions::NEW_RS_AVAILABLE)
        );
        assert!(is_complete(&d, &done));
        assert_eq!(deadline_check(&d, &done, at(200)), None);
    }

    #[test]
    fn replica_failures_are_carried_and_cleared() {
        let d = deployment(1, DeploymentStatus::default());
        let failure = conditions::condition(
            conditions::REPLICA_FAILURE,
            "True",
            "FailedCreate",
            "quota",
            at(1),
        );
        let failed = with_progress(
            &d,
            calculate(&d, &totals(1, 0, 0, 0), at(1)),
            None,
            Some(failure),
            at(1),
        );
        assert_eq!(
            reason(&failed, conditions::REPLICA_FAILURE).as_deref(),
            Some("FailedCreate")
        );
        let d = deployment(1, failed);
        let healed = with_progress(
            &d,
            calculate(&d, &totals(1, 1, 1, 1), at(2)),
            None,
            None,
            at(2),
        );
        assert!(get(&healed, conditions::REPLICA_FAILURE).is_none());
    }
}
