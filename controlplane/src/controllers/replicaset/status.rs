//! A ReplicaSet's status from its active pods (Kubernetes' `calculateStatus`): how many
//! there are, how many carry every template label, are ready, and are available (ready for
//! `minReadySeconds`); and the `ReplicaFailure` condition while creating or deleting pods
//! fails.

use crate::controllers::pods::{self, labels};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// The counts of a ReplicaSet's active pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Active pods.
    pub(super) replicas: i32,
    /// Active pods with every label of the template.
    pub(super) fully_labeled: i32,
    /// Ready pods.
    pub(super) ready: i32,
    /// Pods ready for `minReadySeconds`.
    pub(super) available: i32,
    /// How long until the next ready pod becomes available, if one is on its way.
    pub(super) next_available: Option<Duration>,
}

impl Counts {
    /// Counts `pods` (the active pods `rs` owns) at `now`.
    pub(super) fn of(rs: &ReplicaSet, pods: &[Arc<Pod>], now: Timestamp) -> Self {
        let spec = rs.spec.as_ref();
        let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let template_labels = spec
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let mut counts = Counts {
            replicas: pods.len() as i32,
            ..Counts::default()
        };
        for pod in pods {
            let have = labels(&pod.metadata);
            if template_labels.iter().all(|(k, v)| have.get(k) == Some(v)) {
                counts.fully_labeled += 1;
            }
            if pods::is_ready(pod) {
                counts.ready += 1;
            }
            match pods::available_in(pod, min_ready, now) {
                Some(Duration::ZERO) => counts.available += 1,
                Some(wait) => {
                    counts.next_available =
                        Some(counts.next_available.map_or(wait, |w| w.min(wait)))
                }
                None => {}
            }
        }
        counts
    }
}

/// The status to write, from the `current` one: the counts, `observedGeneration`, and
/// the `ReplicaFailure` condition set (reason and message) while `failure` lasts.
pub(super) fn next(
    current: Option<&ReplicaSetStatus>,
    generation: Option<i64>,
    counts: &Counts,
    failure: Option<&(&'static str, String)>,
) -> ReplicaSetStatus {
    let mut status = current.cloned().unwrap_or_default();
    status.replicas = counts.replicas;
    status.fully_labeled_replicas = Some(counts.fully_labeled);
    status.ready_replicas = Some(counts.ready);
    status.available_replicas = Some(counts.available);
    status.observed_generation = generation;
    let has_failure = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "ReplicaFailure");
    match failure {
        Some((reason, message)) if !has_failure => {
            status
                .conditions
                .get_or_insert_with(Vec::new)
                .push(ReplicaSetCondition {
                    type_: "ReplicaFailure".into(),
                    status: "True".into(),
                    reason: Some(reason.to_string()),
                    message: Some(message.clone()),
                    last_transition_time: Some(Time(skiff_model::time::now_seconds())),
                });
        }
        None if has_failure => {
            if let Some(conditions) = status.conditions.as_mut() {
                conditions.retain(|c| c.type_ != "ReplicaFailure");
            }
        }
        _ => {}
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(labels: &[(&str, &str)], ready_at: Option<i64>) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                conditions: ready_at.map(|s| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(Timestamp::from_second(s).expect("time"))),
                        ..PodCondition::default()
                    }]
                }),
                ..PodStatus::default()
            }),
            spec: None,
        })
    }

    #[test]
    fn counts_labels_readiness_and_availability() {
        let rs = ReplicaSet {
            spec: Some(ReplicaSetSpec {
                min_ready_seconds: Some(10),
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(
                            [("app", "web"), ("tier", "front")]
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect(),
                        ),
                        ..ObjectMeta::default()
                    }),
                    spec: None,
                }),
                ..ReplicaSetSpec::default()
            }),
            ..ReplicaSet::default()
        };
        let pods = [
            pod(&[("app", "web"), ("tier", "front")], Some(100)),
            pod(&[("app", "web"), ("tier", "front")], Some(195)),
            pod(&[("app", "web")], None),
        ];
        let now = Timestamp::from_second(200).expect("time");
        let counts = Counts::of(&rs, &pods, now);
        assert_eq!(counts.replicas, 3);
        assert_eq!(counts.fully_labeled, 2);
        assert_eq!(counts.ready, 2);
        assert_eq!(counts.available, 1);
        assert_eq!(counts.next_available, Some(Duration::from_millis(5_001)));
    }

    #[test]
    fn the_failure_condition_comes_and_goes_and_equal_status_is_stable() {
        let counts = Counts {
            replicas: 2,
            ..Counts::default()
        };
        let failure = ("FailedCreate", "quota".to_string());
        let failed = next(None, Some(3), &counts, Some(&failure));
        assert_eq!(failed.observed_generation, Some(3));
        assert_eq!(failed.replicas, 2);
        let cond = &failed.conditions.as_ref().expect("conditions")[0];
        assert_eq!(cond.reason.as_deref(), Some("FailedCreate"));
        // Still failing: unchanged, so nothing is written again.
        assert_eq!(
            next(Some(&failed), Some(3), &counts, Some(&failure)),
            failed
        );
        let healed = next(Some(&failed), Some(3), &counts, None);
        assert!(healed.conditions.iter().flatten().next().is_none());
    }
}
