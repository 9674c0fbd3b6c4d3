//! What every controller that owns pods shares: building a pod from a pod template, the
//! pod predicates controllers count by (active, ready, available), and label selectors
//! read from a `metav1.LabelSelector`.
//!
//! Parts:
//! - [`ownership`]: controller references, and claiming (adopting and releasing) objects by
//!   selector, as client-go's `ControllerRefManager` does;
//! - [`expectations`]: the creations and deletions a controller waits to see in its
//!   informer before acting again;
//! - [`ranking`]: which pods go first when there are too many.

pub(crate) mod expectations;
pub(crate) mod ownership;
pub(crate) mod ranking;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{self as meta, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use skiff_model::selector::{LabelSelector, SelectorError};
use std::collections::BTreeMap;
use std::time::Duration;

/// A new pod from `template`, owned by `owner` through `controller`: named
/// `<owner>-<random suffix>` by the API server (`generateName`), with the template's
/// labels, annotations, finalizers and spec (Kubernetes' `GetPodFromTemplate`).
pub(crate) fn from_template(
    template: &PodTemplateSpec,
    owner: &ObjectMeta,
    controller: OwnerReference,
) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", owner.name.as_deref().unwrap_or_default())),
            namespace: owner.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![controller]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// The selector a `metav1.LabelSelector` describes.
pub(crate) fn selector(selector: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
    let expressions: Vec<(String, String, Vec<String>)> = selector
        .match_expressions
        .iter()
        .flatten()
        .map(|e| {
            (
                e.key.clone(),
                e.operator.clone(),
                e.values.clone().unwrap_or_default(),
            )
        })
        .collect();
    LabelSelector::from_parts(
        selector.match_labels.as_ref().unwrap_or(&BTreeMap::new()),
        &expressions,
    )
}

/// An object's labels (empty if it has none).
pub(crate) fn labels(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    meta.labels.as_ref().unwrap_or(&EMPTY)
}

/// Whether the object is being deleted (`deletionTimestamp` set).
pub(crate) fn is_deleting(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

/// Whether the pod has run to an end (`Succeeded` or `Failed`).
pub(crate) fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the pod counts towards its controller's replicas: neither terminated nor being
/// deleted (Kubernetes' `IsPodActive`).
pub(crate) fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && !is_deleting(&pod.metadata)
}

/// The pod's phase (`Pending` when not reported).
pub(crate) fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// Whether the pod's `Ready` condition is `True`.
pub(crate) fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod last became ready, if it is ready (its `Ready` condition's
/// `lastTransitionTime`; `None` if ready without a time).
pub(crate) fn ready_since(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// How long until a ready pod becomes available — ready for `min_ready_seconds`
/// (Kubernetes' `IsPodAvailable`): zero if it is available, `None` if it is not ready (or
/// ready without a transition time), and so not on its way to it.
pub(crate) fn available_in(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<Duration> {
    if !is_ready(pod) {
        return None;
    }
    if min_ready_seconds <= 0 {
        return Some(Duration::ZERO);
    }
    // Ready without a transition time: Kubernetes never counts it available.
    let since = ready_since(pod)?;
    let at = since.as_millisecond() + i64::from(min_ready_seconds) * 1000;
    let left = at - now.as_millisecond();
    // Available once `now` is strictly after `since + minReadySeconds`.
    Some(if left < 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(left as u64 + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, Time};

    fn pod_ready_at(second: i64) -> Pod {
        Pod {
            status: Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(Timestamp::from_second(second).expect("time"))),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn availability_waits_min_ready_seconds_after_ready() {
        let pod = pod_ready_at(1_000);
        let at = |s: i64| Timestamp::from_second(s).expect("time");
        let is_available =
            |pod: &Pod, min: i32, now| available_in(pod, min, now) == Some(Duration::ZERO);
        assert!(is_available(&pod, 0, at(1_000)));
        assert!(!is_available(&pod, 10, at(1_005)));
        assert_eq!(
            available_in(&pod, 10, at(1_005)),
            Some(Duration::from_millis(5_001))
        );
        assert!(!is_available(&pod, 10, at(1_010)), "strictly after");
        assert!(is_available(&pod, 10, at(1_011)));
        assert_eq!(available_in(&Pod::default(), 10, at(1_011)), None);
    }

    #[test]
    fn terminal_and_deleting_pods_are_not_active() {
        let mut pod = pod_ready_at(1);
        assert!(is_active(&pod));
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert!(!is_active(&pod));
        let mut done = pod_ready_at(1);
        done.status.as_mut().expect("status").phase = Some("Succeeded".into());
        assert!(!is_active(&done));
        assert!(
            is_active(&Pod::default()),
            "a pod with no status is pending"
        );
    }

    #[test]
    fn a_template_becomes_an_owned_pod_with_generated_name() {
        let template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                annotations: Some([("a".to_string(), "b".to_string())].into()),
                ..ObjectMeta::default()
            }),
            spec: Some(Default::default()),
        };
        let owner = ObjectMeta {
            name: Some("web-abc".into()),
            namespace: Some("prod".into()),
            uid: Some("u1".into()),
            ..ObjectMeta::default()
        };
        let reference = OwnerReference {
            uid: "u1".into(),
            controller: Some(true),
            ..OwnerReference::default()
        };
        let pod = from_template(&template, &owner, reference.clone());
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("prod"));
        assert_eq!(
            labels(&pod.metadata).get("app").map(String::as_str),
            Some("web")
        );
        assert_eq!(pod.metadata.owner_references, Some(vec![reference]));
        assert!(pod.metadata.name.is_none());
        assert!(pod.spec.is_some());
    }

    #[test]
    fn selectors_read_labels_and_expressions() {
        let s = selector(&meta::LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["db".into()]),
            }]),
        })
        .expect("valid");
        let set = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(s.matches(&set(&[("app", "web")])));
        assert!(s.matches(&set(&[("app", "web"), ("tier", "front")])));
        assert!(!s.matches(&set(&[("app", "web"), ("tier", "db")])));
        assert!(!s.matches(&set(&[("app", "api")])));
        let bad = meta::LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "a".into(),
                operator: "Near".into(),
                values: None,
            }]),
            ..meta::LabelSelector::default()
        };
        assert!(selector(&bad).is_err());
    }
}
