//! Builders for the scheduler's unit tests: a Ready node with allocatable, a pod with
//! requests.

use super::pod::PodInfo;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeCondition, NodeStatus, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A Ready node offering `cpu`, `memory` and `pods`.
pub fn node(name: &str, cpu: &str, memory: &str, pods: u32) -> Node {
    let allocatable = BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
        ("pods".to_string(), Quantity(pods.to_string())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            allocatable: Some(allocatable),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    }
}

/// A pending pod in `default` requesting `cpu` and `memory` ("0" for none).
pub fn pod(name: &str, cpu: &str, memory: &str) -> PodInfo {
    let requests: BTreeMap<String, Quantity> = [("cpu", cpu), ("memory", memory)]
        .into_iter()
        .filter(|(_, v)| *v != "0")
        .map(|(k, v)| (k.to_string(), Quantity(v.into())))
        .collect();
    PodInfo::new(Arc::new(Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                resources: Some(ResourceRequirements {
                    requests: Some(requests).filter(|r| !r.is_empty()),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }))
}
