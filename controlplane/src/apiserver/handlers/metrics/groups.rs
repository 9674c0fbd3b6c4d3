//! The API groups the metrics handlers serve and how discovery describes them, as
//! metrics-server's APIService (`metrics.k8s.io/v1beta1`: `nodes`, `pods`) and a custom
//! metrics adapter (`custom.metrics.k8s.io/v1beta2`: `pods/{metric}` per metric) list
//! themselves.

use serde_json::{Value, json};

/// The resource metrics group (`kubectl top`, the HPA's `Resource` metrics).
pub const RESOURCE_GROUP: &str = "metrics.k8s.io";
/// Its one version.
pub const RESOURCE_VERSION: &str = "v1beta1";
/// The custom metrics group (the HPA's `Pods` metrics).
pub const CUSTOM_GROUP: &str = "custom.metrics.k8s.io";
/// Its version (the one the HPA prefers).
pub const CUSTOM_VERSION: &str = "v1beta2";

/// Both groups, with their versions, as `/apis` lists them.
pub const GROUPS: [(&str, &str); 2] = [
    (RESOURCE_GROUP, RESOURCE_VERSION),
    (CUSTOM_GROUP, CUSTOM_VERSION),
];

/// Requests delivered to a pod per second, over the window.
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";
/// Requests outstanding at a pod, averaged over the window.
pub const REQUESTS_IN_FLIGHT: &str = "requests_in_flight";
/// The custom metrics served, each for pods.
pub const CUSTOM_METRICS: [&str; 2] = [REQUESTS_PER_SECOND, REQUESTS_IN_FLIGHT];

/// The version of `group`, when it is one of these.
pub fn version_of(group: &str) -> Option<&'static str> {
    GROUPS.iter().find(|(g, _)| *g == group).map(|(_, v)| *v)
}

/// `GET /apis/{group}`: the `APIGroup`.
pub fn api_group(group: &str) -> Option<Value> {
    let (name, version) = GROUPS.iter().find(|(g, _)| *g == group)?;
    let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    Some(json!({"kind": "APIGroup", "apiVersion": "v1", "name": name,
        "versions": [gv], "preferredVersion": gv}))
}

/// `GET /apis/{group}/{version}`: the `APIResourceList`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources = match (group, version) {
        (RESOURCE_GROUP, RESOURCE_VERSION) => vec![
            json!({"name": "nodes", "singularName": "", "namespaced": false,
                "kind": "NodeMetrics", "verbs": ["get", "list"]}),
            json!({"name": "pods", "singularName": "", "namespaced": true,
                "kind": "PodMetrics", "verbs": ["get", "list"]}),
        ],
        (CUSTOM_GROUP, CUSTOM_VERSION) => CUSTOM_METRICS
            .iter()
            .map(|metric| {
                json!({"name": format!("pods/{metric}"), "singularName": "",
                    "namespaced": true, "kind": "MetricValueList", "verbs": ["get"]})
            })
            .collect(),
        _ => return None,
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{group}/{version}"),
        "resources": resources,
    }))
}
