//! Which pods back a Service, and at which ports: what the Endpoints and EndpointSlice
//! controllers share.
//!
//! A Service with a (non-empty) selector, of any type but `ExternalName`, is backed by the
//! pods of its namespace whose labels match it, that are bound to a node, have an address
//! (`status.podIP`, the node's IP in Skiff) and have not finished. A pod being deleted
//! still backs it, as *terminating*. Each Service port's `targetPort` resolves per pod: a
//! number as is, a name against the pod's containers' `ports[].name`; a pod none of whose
//! ports resolve is left out, as Kubernetes leaves it out.
//!
//! [`service_keys`] turns a pod change into the keys of the Services to look at again.

use crate::machinery::informer::{Change, Informer, key_of};
use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A pod backing a Service.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    /// The pod.
    pub(crate) pod: Arc<Pod>,
    /// Its address.
    pub(crate) ip: String,
    /// Its node.
    pub(crate) node: String,
    /// Whether its `Ready` condition is `True`.
    pub(crate) ready: bool,
    /// Whether it is being deleted.
    pub(crate) terminating: bool,
    /// The Service's ports that resolve on this pod, in the Service's order.
    pub(crate) ports: Vec<BackendPort>,
}

/// One Service port as it lands on a pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct BackendPort {
    /// The Service port's name (empty for a lone unnamed port).
    pub(crate) name: String,
    /// The pod's port number.
    pub(crate) port: i32,
    /// The protocol (`TCP`).
    pub(crate) protocol: String,
}

/// The selector of a Service whose backends are managed: `None` for a Service without a
/// selector (its endpoints are the user's to write) or of type `ExternalName`.
pub(crate) fn selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// Whether `selector` matches the labels of `pod`.
pub(crate) fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Whether the pod's `Ready` condition is `True`.
pub(crate) fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The pods of `pods` (the Service's namespace) that back `service`, sorted by name.
pub(crate) fn backends(service: &Service, pods: &[Arc<Pod>]) -> Vec<Backend> {
    let Some(selector) = selector(service) else {
        return Vec::new();
    };
    let service_ports: &[ServicePort] = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[]);
    let mut out: Vec<Backend> = pods
        .iter()
        .filter(|pod| selects(selector, pod))
        .filter_map(|pod| {
            let node = pod
                .spec
                .as_ref()?
                .node_name
                .clone()
                .filter(|n| !n.is_empty())?;
            let status = pod.status.as_ref()?;
            let ip = status.pod_ip.clone().filter(|ip| !ip.is_empty())?;
            if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
                return None;
            }
            let ports: Vec<BackendPort> = service_ports
                .iter()
                .filter_map(|sp| {
                    Some(BackendPort {
                        name: sp.name.clone().unwrap_or_default(),
                        port: target_port(pod, sp)?,
                        protocol: sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    })
                })
                .collect();
            if ports.is_empty() && !service_ports.is_empty() {
                return None;
            }
            Some(Backend {
                ip,
                node,
                ready: is_ready(pod),
                terminating: pod.metadata.deletion_timestamp.is_some(),
                ports,
                pod: pod.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.pod.metadata.name.cmp(&b.pod.metadata.name));
    out
}

/// The pod's port a Service port sends to: `targetPort` as a number, or the
/// `containerPort` of the container port so named; `port` when there is no `targetPort`.
pub(crate) fn target_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

/// An owner reference naming `service` as the controller of what refers to it.
pub(crate) fn controller_ref(service: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: service.metadata.name.clone().unwrap_or_default(),
        uid: service.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether `service` is the controller `ownerReferences` name.
pub(crate) fn controlled_by(
    owners: Option<&Vec<OwnerReference>>,
    service: Option<&Service>,
) -> bool {
    let Some(uid) = service.and_then(|s| s.metadata.uid.as_deref()) else {
        return false;
    };
    owners
        .into_iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.kind == "Service" && o.uid == uid)
}

/// What of a pod its endpoints show; a change elsewhere (restart counts, messages) moves
/// no Service.
#[derive(PartialEq)]
struct Projection<'a> {
    labels: Option<&'a BTreeMap<String, String>>,
    ip: Option<&'a str>,
    node: Option<&'a str>,
    deleting: bool,
    ready: bool,
    phase: Option<&'a str>,
}

fn projection(pod: &Pod) -> Projection<'_> {
    let status = pod.status.as_ref();
    Projection {
        labels: pod.metadata.labels.as_ref(),
        ip: status.and_then(|s| s.pod_ip.as_deref()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        ready: is_ready(pod),
        phase: status.and_then(|s| s.phase.as_deref()),
    }
}

/// The keys of the Services that a pod change may change the backends of: those whose
/// selector matches the pod before or after.
pub(crate) fn service_keys(services: &Informer<Service>, change: &Change<'_, Pod>) -> Vec<String> {
    if let (Some(old), Some(new)) = (change.old, change.new)
        && projection(old) == projection(new)
    {
        return Vec::new();
    }
    let pod = change.object();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    services
        .list_namespace(namespace)
        .iter()
        .filter(|service| {
            selector(service).is_some_and(|s| {
                change.old.is_some_and(|p| selects(s, p))
                    || change.new.is_some_and(|p| selects(s, p))
            })
        })
        .map(|service| key_of(&service.metadata))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ready: bool, extra: serde_json::Value) -> Arc<Pod> {
        let mut pod = json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "a.wasm",
                     "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "192.0.2.1",
                       "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]},
        });
        if let (Some(base), Some(extra)) = (pod.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        Arc::new(serde_json::from_value(pod).expect("pod"))
    }

    fn service(ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": ports}}))
        .expect("service")
    }

    #[test]
    fn named_target_ports_resolve_per_pod() {
        let svc = service(json!([{"name": "web", "port": 80, "targetPort": "http"}]));
        let pods = vec![
            pod("b", true, json!({})),
            pod("a", false, json!({})),
            pod(
                "c",
                true,
                json!({"spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "a.wasm"}]}}),
            ),
        ];
        let found = backends(&svc, &pods);
        let names: Vec<_> = found
            .iter()
            .map(|b| b.pod.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["a", "b"], "c has no port named http");
        assert_eq!(found[0].ports[0].port, 8080);
        assert!(!found[0].ready && found[1].ready);
    }

    #[test]
    fn unbound_finished_and_unselected_pods_do_not_back_it() {
        let svc = service(json!([{"port": 80, "targetPort": 8080}]));
        let pods = vec![
            pod(
                "unbound",
                true,
                json!({"spec": {"containers": [{"name": "c", "image": "a.wasm"}]}}),
            ),
            pod(
                "done",
                true,
                json!({"status": {"phase": "Succeeded", "podIP": "192.0.2.1"}}),
            ),
            pod(
                "other",
                true,
                json!({"metadata": {"name": "other", "labels": {"app": "x"}}}),
            ),
            pod("ok", true, json!({})),
        ];
        let found = backends(&svc, &pods);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pod.metadata.name.as_deref(), Some("ok"));
        assert_eq!(found[0].ports[0].port, 8080);
    }
}
