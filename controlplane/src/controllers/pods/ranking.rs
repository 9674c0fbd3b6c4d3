//! Which pods a controller deletes first when it has too many: those whose loss hurts
//! least (Kubernetes' `ActivePods` order): unassigned before assigned, `Pending` before
//! `Unknown` before `Running`, not ready before ready, the most recently ready first, more
//! restarts first, the most recently created first.

use super::{is_ready, phase, ready_since};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use std::cmp::Ordering;

/// The `n` pods to delete first.
pub(crate) fn to_delete<P: AsRef<Pod>>(mut pods: Vec<P>, n: usize) -> Vec<P> {
    pods.sort_by(|a, b| deletion_order(a.as_ref(), b.as_ref()));
    pods.truncate(n);
    pods
}

/// `Less` if `a` should be deleted before `b`.
pub(crate) fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| {
            if is_ready(a) && is_ready(b) {
                newer_first(ready_since(a), ready_since(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            newer_first(
                a.metadata.creation_timestamp.as_ref().map(|t| t.0),
                b.metadata.creation_timestamp.as_ref().map(|t| t.0),
            )
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// `Pending` < `Unknown` < `Running` (anything else ranks with `Pending`).
fn phase_rank(pod: &Pod) -> u8 {
    match phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// Unknown times first, then the later time first.
fn newer_first(a: Option<Timestamp>, b: Option<Timestamp>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => b.cmp(&a),
    }
}

/// The highest restart count among the pod's containers.
fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn t(s: i64) -> Time {
        Time(Timestamp::from_second(s).expect("time"))
    }

    /// A pod: bound or not, in `phase`, ready since `ready` (if given), created at
    /// `created`, with `restarts`.
    fn pod(
        name: &str,
        bound: bool,
        phase: &str,
        ready: Option<i64>,
        restarts: i32,
        created: i64,
    ) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(t(created)),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: bound.then(|| "node-a".to_string()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: ready.map(|at| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(t(at)),
                        ..PodCondition::default()
                    }]
                }),
                container_statuses: Some(vec![ContainerStatus {
                    restart_count: restarts,
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    fn names(pods: Vec<Pod>, n: usize) -> Vec<String> {
        to_delete(pods.into_iter().map(Box::new).collect(), n)
            .into_iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_least_useful_pods_go_first() {
        let pods = vec![
            pod("ready-long", true, "Running", Some(100), 0, 10),
            pod("ready-recent", true, "Running", Some(500), 0, 10),
            pod("running-not-ready", true, "Running", None, 0, 10),
            pod("unknown", true, "Unknown", None, 0, 10),
            pod("pending", true, "Pending", None, 0, 10),
            pod("unassigned", false, "Pending", None, 0, 10),
        ];
        assert_eq!(
            names(pods, 6),
            [
                "unassigned",
                "pending",
                "unknown",
                "running-not-ready",
                "ready-recent",
                "ready-long"
            ]
        );
    }

    #[test]
    fn restarts_then_age_break_ties() {
        let pods = vec![
            pod("old", true, "Running", Some(100), 0, 10),
            pod("young", true, "Running", Some(100), 0, 20),
            pod("crashy", true, "Running", Some(100), 3, 5),
        ];
        assert_eq!(names(pods.clone(), 3), ["crashy", "young", "old"]);
        assert_eq!(names(pods, 1), ["crashy"]);
    }
}
