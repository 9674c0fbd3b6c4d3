//! The EndpointSlices a Service should have: its backends grouped by their resolved ports,
//! at most [`MAX_ENDPOINTS_PER_SLICE`] to a slice, each pod one endpoint with Kubernetes'
//! conditions (`serving` = Ready, `terminating` = being deleted, `ready` = serving and not
//! terminating, or always when the Service publishes not-ready addresses). A Service with
//! no backends has one empty slice, as Kubernetes keeps a placeholder.

use crate::controllers::backends::{Backend, BackendPort};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
use std::collections::BTreeMap;

/// Endpoints per slice (Kubernetes' `--max-endpoints-per-slice` default): large enough
/// that most Services have one slice, small enough that one pod's change rewrites little.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// One slice's contents.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Slice {
    /// The ports, as the slice lists them.
    pub(super) ports: Vec<EndpointPort>,
    /// The endpoints, sorted by pod name.
    pub(super) endpoints: Vec<Endpoint>,
}

/// The slices of `backends` (sorted by pod name), `max` endpoints at most in each.
pub(super) fn slices(backends: &[Backend], publish_not_ready: bool, max: usize) -> Vec<Slice> {
    let mut groups: BTreeMap<&[BackendPort], Vec<Endpoint>> = BTreeMap::new();
    for backend in backends {
        groups
            .entry(&backend.ports)
            .or_default()
            .push(endpoint(backend, publish_not_ready));
    }
    let mut out = Vec::new();
    for (ports, endpoints) in groups {
        let ports: Vec<EndpointPort> = ports.iter().map(port).collect();
        for chunk in endpoints.chunks(max.max(1)) {
            out.push(Slice {
                ports: ports.clone(),
                endpoints: chunk.to_vec(),
            });
        }
    }
    if out.is_empty() {
        out.push(Slice {
            ports: Vec::new(),
            endpoints: Vec::new(),
        });
    }
    out
}

fn port(p: &BackendPort) -> EndpointPort {
    EndpointPort {
        name: Some(p.name.clone()),
        port: Some(p.port),
        protocol: Some(p.protocol.clone()),
        app_protocol: None,
    }
}

fn endpoint(backend: &Backend, publish_not_ready: bool) -> Endpoint {
    let meta = &backend.pod.metadata;
    Endpoint {
        addresses: vec![backend.ip.clone()],
        conditions: Some(EndpointConditions {
            ready: Some(publish_not_ready || (backend.ready && !backend.terminating)),
            serving: Some(backend.ready),
            terminating: Some(backend.terminating),
        }),
        node_name: Some(backend.node.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            ..ObjectReference::default()
        }),
        ..Endpoint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;
    use std::sync::Arc;

    fn backend(name: &str, ready: bool, terminating: bool, port: i32) -> Backend {
        let pod: Pod =
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}}))
                .expect("pod");
        Backend {
            pod: Arc::new(pod),
            ip: "192.0.2.7".into(),
            node: "n1".into(),
            ready,
            terminating,
            ports: vec![BackendPort {
                name: "http".into(),
                port,
                protocol: "TCP".into(),
            }],
        }
    }

    #[test]
    fn conditions_follow_readiness_and_termination() {
        let all = [
            backend("a", true, false, 8080),
            backend("b", false, false, 8080),
            backend("c", true, true, 8080),
        ];
        let out = slices(&all, false, MAX_ENDPOINTS_PER_SLICE);
        assert_eq!(out.len(), 1);
        let conditions: Vec<_> = out[0]
            .endpoints
            .iter()
            .map(|e| {
                let c = e.conditions.clone().expect("conditions");
                (c.ready, c.serving, c.terminating)
            })
            .collect();
        assert_eq!(
            conditions,
            [
                (Some(true), Some(true), Some(false)),
                (Some(false), Some(false), Some(false)),
                (Some(false), Some(true), Some(true)),
            ]
        );
        assert_eq!(out[0].ports[0].port, Some(8080));
        assert_eq!(out[0].ports[0].name.as_deref(), Some("http"));
    }

    #[test]
    fn slices_split_by_ports_and_size() {
        let all: Vec<Backend> = (0..5)
            .map(|i| backend(&format!("p{i}"), true, false, 8080))
            .chain([backend("q", true, false, 9090)])
            .collect();
        let out = slices(&all, false, 2);
        let sizes: Vec<usize> = out.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, [2, 2, 1, 1]);
        assert_eq!(out[3].ports[0].port, Some(9090));
        let empty = slices(&[], false, 2);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].endpoints.is_empty() && empty[0].ports.is_empty());
    }
}
