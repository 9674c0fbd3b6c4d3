//! [`PodInfo`]: a pod as the scheduler weighs it — its requests computed once — and the
//! questions asked of every pod: is it this scheduler's to place ([`is_pending`]), does it
//! occupy its node ([`occupies_node`]), which controller owns it ([`controller_uid`]).

use super::resources::{PodRequests, pod_requests};
use crate::machinery::informer::key_of;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;

/// The name pods give to be placed by this scheduler (also the default).
pub const SCHEDULER_NAME: &str = "default-scheduler";

/// A pod to place.
#[derive(Debug, Clone)]
pub struct PodInfo {
    /// `namespace/name`.
    pub key: String,
    /// The pod, as the informer has it.
    pub pod: Arc<Pod>,
    /// What it requests.
    pub requests: PodRequests,
    /// The UID of its controller (ReplicaSet, Job...), whose pods are spread.
    pub owner: Option<Arc<str>>,
}

impl PodInfo {
    /// Reads a pod.
    pub fn new(pod: Arc<Pod>) -> Self {
        let requests = pod.spec.as_ref().map(pod_requests).unwrap_or_default();
        Self {
            key: key_of(&pod.metadata),
            owner: controller_uid(&pod.metadata),
            requests,
            pod,
        }
    }

    /// The pod's UID.
    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }
}

/// The node the pod is bound to, if any.
pub fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether the pod has finished (`Succeeded` or `Failed`): it no longer uses its node.
pub fn is_terminated(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Whether this scheduler should place the pod: unbound, named for this scheduler (or
/// for none), without scheduling gates, not being deleted, not finished.
pub fn is_pending(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    let ours = spec
        .and_then(|s| s.scheduler_name.as_deref())
        .is_none_or(|s| s.is_empty() || s == SCHEDULER_NAME);
    let gated = spec
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty());
    ours && !gated
        && node_name(pod).is_none()
        && pod.metadata.deletion_timestamp.is_none()
        && !is_terminated(pod)
}

/// Whether the pod counts against its node: bound and not finished (a pod being deleted
/// still runs until its agent confirms).
pub fn occupies_node(pod: &Pod) -> bool {
    node_name(pod).is_some() && !is_terminated(pod)
}

/// The UID of the object's controller (the owner reference with `controller: true`).
pub fn controller_uid(meta: &ObjectMeta) -> Option<Arc<str>> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| Arc::from(o.uid.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

    fn pod(node: Option<&str>, scheduler: Option<&str>, phase: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(String::from),
                scheduler_name: scheduler.map(String::from),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: phase.map(String::from),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn only_unbound_live_pods_of_this_scheduler_are_pending() {
        assert!(is_pending(&pod(None, None, Some("Pending"))));
        assert!(is_pending(&pod(Some(""), Some(SCHEDULER_NAME), None)));
        assert!(!is_pending(&pod(Some("a"), None, None)));
        assert!(!is_pending(&pod(None, Some("my-scheduler"), None)));
        assert!(!is_pending(&pod(None, None, Some("Failed"))));
        let mut deleting = pod(None, None, None);
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(!is_pending(&deleting));
    }

    #[test]
    fn finished_pods_free_their_node() {
        assert!(occupies_node(&pod(Some("a"), None, Some("Running"))));
        assert!(!occupies_node(&pod(Some("a"), None, Some("Succeeded"))));
        assert!(!occupies_node(&pod(None, None, Some("Running"))));
    }

    #[test]
    fn the_controller_is_the_owner_marked_controller() {
        let owner = |uid: &str, controller| OwnerReference {
            uid: uid.into(),
            controller,
            ..OwnerReference::default()
        };
        let meta = ObjectMeta {
            owner_references: Some(vec![owner("x", None), owner("rs", Some(true))]),
            ..ObjectMeta::default()
        };
        assert_eq!(controller_uid(&meta).as_deref(), Some("rs"));
        assert_eq!(controller_uid(&ObjectMeta::default()), None);
    }
}
