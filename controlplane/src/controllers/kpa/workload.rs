//! What an opted-in Deployment is made of, read from the informers: its ready pods (those
//! of the ReplicaSets it controls) and the Services that send it requests (same namespace,
//! a selector its pod template's labels match).

use crate::controllers::pods;
use crate::machinery::informer::Informer;
use crate::machinery::informers::BY_OWNER;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use std::sync::Arc;

/// The names of the Deployment's pods that are ready and not being deleted.
pub fn ready_pods(
    d: &Deployment,
    replicasets: &Informer<ReplicaSet>,
    all_pods: &Informer<Pod>,
) -> Vec<String> {
    let Some(uid) = d.metadata.uid.as_deref() else {
        return Vec::new();
    };
    let mut ready = Vec::new();
    for rs in replicasets.indexed(BY_OWNER, uid) {
        let Some(rs_uid) = rs.metadata.uid.as_deref() else {
            continue;
        };
        for pod in all_pods.indexed(BY_OWNER, rs_uid) {
            if pods::is_ready(&pod) && !pods::is_deleting(&pod.metadata) {
                ready.push(pod.metadata.name.clone().unwrap_or_default());
            }
        }
    }
    ready
}

/// The names of the Services whose selector matches the Deployment's pod template.
pub fn services(d: &Deployment, services: &Informer<Service>) -> Vec<String> {
    let namespace = d.metadata.namespace.as_deref().unwrap_or_default();
    let empty = Default::default();
    let labels = d
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .unwrap_or(&empty);
    let mut names: Vec<String> = services
        .list_namespace(namespace)
        .iter()
        .filter(|s| selects(s, labels))
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn selects(service: &Arc<Service>, labels: &std::collections::BTreeMap<String, String>) -> bool {
    match service.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        Some(selector) if !selector.is_empty() => {
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        }
        _ => false,
    }
}
