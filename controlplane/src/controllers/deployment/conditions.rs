//! A Deployment's conditions — `Available`, `Progressing`, `ReplicaFailure` — and their
//! reasons, set the way Kubernetes sets them: a condition whose status and reason are
//! unchanged is left alone (times included); one whose status is unchanged keeps its
//! `lastTransitionTime`.

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus, ReplicaSetCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Condition: at least `replicas - maxUnavailable` pods are available.
pub(crate) const AVAILABLE: &str = "Available";
/// Condition: the rollout is moving (or done, or stuck).
pub(crate) const PROGRESSING: &str = "Progressing";
/// Condition: pods could not be created or deleted.
pub(crate) const REPLICA_FAILURE: &str = "ReplicaFailure";

/// `Available` reason: enough pods are available.
pub(crate) const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// `Available` reason: too few pods are available.
pub(crate) const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// `Progressing` reason: the new ReplicaSet was just created.
pub(crate) const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
/// `Progressing` reason: an existing ReplicaSet is the new one.
pub(crate) const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
/// `Progressing` reason: the rollout made progress.
pub(crate) const RS_UPDATED: &str = "ReplicaSetUpdated";
/// `Progressing` reason: the rollout is complete.
pub(crate) const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// `Progressing` reason: no progress for `progressDeadlineSeconds` (kubectl's
/// `rollout status` fails on it).
pub(crate) const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// `Progressing` reason: the Deployment is paused.
pub(crate) const PAUSED: &str = "DeploymentPaused";
/// `Progressing` reason: the Deployment was resumed.
pub(crate) const RESUMED: &str = "DeploymentResumed";
/// `Progressing` reason: the new ReplicaSet could not be created.
pub(crate) const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";

/// A condition stamped `now` (both times).
pub(crate) fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// The condition of `type_`, if present.
pub(crate) fn get<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

/// Sets `condition` (Kubernetes' `SetDeploymentCondition`): nothing happens if one of
/// its type has the same status and reason; otherwise it replaces it, keeping its
/// `lastTransitionTime` if the status is the same.
pub(crate) fn set(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = get(status, &condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove(status, &condition.type_);
    status
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition);
}

/// Removes the condition of `type_`.
pub(crate) fn remove(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
    }
}

/// A ReplicaSet's condition as a Deployment's (both times from its transition).
pub(crate) fn from_replica_set(c: &ReplicaSetCondition) -> DeploymentCondition {
    DeploymentCondition {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_update_time: c.last_transition_time.clone(),
        last_transition_time: c.last_transition_time.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("time")
    }

    #[test]
    fn same_status_and_reason_is_left_alone_and_same_status_keeps_its_transition() {
        let mut status = DeploymentStatus::default();
        set(
            &mut status,
            condition(PROGRESSING, "True", NEW_RS_CREATED, "a", at(1)),
        );
        set(
            &mut status,
            condition(PROGRESSING, "True", NEW_RS_CREATED, "b", at(2)),
        );
        let c = get(&status, PROGRESSING).expect("set");
        assert_eq!(c.message.as_deref(), Some("a"));
        assert_eq!(c.last_update_time, Some(Time(at(1))));

        set(
            &mut status,
            condition(PROGRESSING, "True", RS_UPDATED, "c", at(3)),
        );
        let c = get(&status, PROGRESSING).expect("set");
        assert_eq!(c.reason.as_deref(), Some(RS_UPDATED));
        assert_eq!(c.last_update_time, Some(Time(at(3))));
        assert_eq!(c.last_transition_time, Some(Time(at(1))), "still True");

        set(
            &mut status,
            condition(PROGRESSING, "False", TIMED_OUT, "d", at(4)),
        );
        let c = get(&status, PROGRESSING).expect("set");
        assert_eq!(c.last_transition_time, Some(Time(at(4))));
        assert_eq!(status.conditions.as_ref().map(Vec::len), Some(1));

        set(
            &mut status,
            condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE, "e", at(5)),
        );
        remove(&mut status, PROGRESSING);
        assert!(get(&status, PROGRESSING).is_none());
        assert!(get(&status, AVAILABLE).is_some());
    }
}
