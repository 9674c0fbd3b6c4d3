//! The resource types the API server serves: [`ResourceKind`] holds what discovery,
//! routing, storage keys and validation need to know about each, and [`KINDS`] lists
//! them. Object validation and defaulting per kind live in the API server's admission
//! (`apiserver::admission`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One served resource type.
#[derive(Debug)]
pub struct ResourceKind {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// Plural resource name, as in URLs.
    pub plural: &'static str,
    /// Singular resource name.
    pub singular: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Subresources served (`status`, `scale`, `binding`, `log`).
    pub subresources: &'static [&'static str],
    /// Parses an object as the Kubernetes type and serializes it back, dropping fields
    /// the type does not have; fails with the reason when the object does not fit.
    pub(crate) round_trip: fn(&Value) -> Result<Value, String>,
}

impl ResourceKind {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` or `plural.group`, as Kubernetes names a resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether a subresource is served.
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.contains(&name)
    }

    /// The verbs on the collection and objects, for discovery.
    pub fn verbs(&self) -> &'static [&'static str] {
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// Storage key prefix of all objects of this kind (in `namespace`, if given).
    pub fn key_prefix(&self, namespace: Option<&str>) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        match namespace {
            Some(ns) if self.namespaced => format!("/registry/{group}/{}/{ns}/", self.plural),
            _ => format!("/registry/{group}/{}/", self.plural),
        }
    }

    /// Storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}{name}", self.key_prefix(namespace))
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, discovery};

macro_rules! kind {
    ($group:literal, $version:literal, $kind:literal, $plural:literal, $singular:literal,
     namespaced: $ns:literal, short: [$($short:literal),*], categories: [$($cat:literal),*],
     sub: [$($sub:literal),*], $ty:ty) => {
        ResourceKind {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $ns,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            subresources: &[$($sub),*],
            round_trip: round_trip::<$ty>,
        }
    };
}

/// Every served resource type.
pub static KINDS: &[ResourceKind] = &[
    kind!("", "v1", "Namespace", "namespaces", "namespace", namespaced: false,
          short: ["ns"], categories: [], sub: ["status"], core::v1::Namespace),
    kind!("", "v1", "Pod", "pods", "pod", namespaced: true,
          short: ["po"], categories: ["all"], sub: ["status", "binding", "log"], core::v1::Pod),
    kind!("", "v1", "Node", "nodes", "node", namespaced: false,
          short: ["no"], categories: [], sub: ["status"], core::v1::Node),
    kind!("", "v1", "Service", "services", "service", namespaced: true,
          short: ["svc"], categories: ["all"], sub: ["status"], core::v1::Service),
    kind!("", "v1", "Endpoints", "endpoints", "endpoints", namespaced: true,
          short: ["ep"], categories: [], sub: [], core::v1::Endpoints),
    kind!("", "v1", "ConfigMap", "configmaps", "configmap", namespaced: true,
          short: ["cm"], categories: [], sub: [], core::v1::ConfigMap),
    kind!("", "v1", "Secret", "secrets", "secret", namespaced: true,
          short: [], categories: [], sub: [], core::v1::Secret),
    kind!("", "v1", "Event", "events", "event", namespaced: true,
          short: ["ev"], categories: [], sub: [], core::v1::Event),
    kind!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", namespaced: true,
          short: ["sa"], categories: [], sub: [], core::v1::ServiceAccount),
    kind!("apps", "v1", "Deployment", "deployments", "deployment", namespaced: true,
          short: ["deploy"], categories: ["all"], sub: ["status", "scale"], apps::v1::Deployment),
    kind!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", namespaced: true,
          short: ["rs"], categories: ["all"], sub: ["status", "scale"], apps::v1::ReplicaSet),
    kind!("batch", "v1", "Job", "jobs", "job", namespaced: true,
          short: [], categories: ["all"], sub: ["status"], batch::v1::Job),
    kind!("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          "horizontalpodautoscaler", namespaced: true, short: ["hpa"], categories: ["all"],
          sub: ["status"], autoscaling::v2::HorizontalPodAutoscaler),
    kind!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice",
          namespaced: true, short: [], categories: [], sub: [], discovery::v1::EndpointSlice),
    kind!("coordination.k8s.io", "v1", "Lease", "leases", "lease", namespaced: true,
          short: [], categories: [], sub: [], coordination::v1::Lease),
];

/// The kind served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceKind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// The kind with this `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceKind> {
    KINDS
        .iter()
        .find(|k| k.kind == kind && k.api_version() == api_version)
}

/// The served group-versions, core first, in discovery order.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for k in KINDS {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_names() {
        let pods = find("", "v1", "pods").expect("pods");
        assert_eq!(
            pods.key(Some("default"), "web"),
            "/registry/core/pods/default/web"
        );
        assert_eq!(pods.qualified(), "pods");
        let deployments = find("apps", "v1", "deployments").expect("deployments");
        assert_eq!(deployments.qualified(), "deployments.apps");
        assert_eq!(deployments.api_version(), "apps/v1");
        let nodes = find("", "v1", "nodes").expect("nodes");
        assert_eq!(nodes.key(Some("ignored"), "n1"), "/registry/core/nodes/n1");
    }

    #[test]
    fn round_trip_drops_unknown_fields_and_rejects_wrong_types() {
        let cm = find("", "v1", "configmaps").expect("configmaps");
        let out = (cm.round_trip)(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "data": {"a": "b"}, "bogus": 1
        }))
        .expect("fits");
        assert!(out.get("bogus").is_none());
        assert_eq!(out["data"]["a"], "b");
        assert!((cm.round_trip)(&json!({"metadata": {"name": 5}})).is_err());
    }
}
