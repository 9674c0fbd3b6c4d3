//! The resource types the API server serves: [`ResourceKind`] holds what discovery,
//! routing, storage keys and validation need to know about each, and [`KINDS`] lists
//! them. Object validation and defaulting per kind are the API server's admission.

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
    /// Subresources served (`status`, `scale`, `binding`, `log`, `token`).
    pub subresources: &'static [&'static str],
    /// Parses an object as the Kubernetes type and serializes it back, dropping fields
    /// the type does not have; fails with the reason when the object does not fit.
    pub round_trip: fn(&Value) -> Result<Value, String>,
    /// The version objects of this resource are stored in. A kind served under several
    /// versions (HorizontalPodAutoscaler: `autoscaling/v2` and `v1`) has one entry per
    /// version, all stored under the same keys in this one version; the API server
    /// converts between it and the others.
    pub storage_version: &'static str,
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

    /// Whether objects are stored in this version (no conversion between the API and the
    /// store).
    pub fn is_storage_version(&self) -> bool {
        self.version == self.storage_version
    }

    /// The entry of this resource in its storage version (itself, for most kinds).
    pub fn storage(&'static self) -> &'static ResourceKind {
        find(self.group, self.storage_version, self.plural).unwrap_or(self)
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

use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, discovery, rbac};

macro_rules! kind {
    ($group:literal, $version:literal, $kind:literal, $plural:literal, $singular:literal,
     namespaced: $ns:literal, short: [$($short:literal),*], categories: [$($cat:literal),*],
     sub: [$($sub:literal),*], $ty:ty) => {
        kind!($group, $version, $kind, $plural, $singular, namespaced: $ns,
              short: [$($short),*], categories: [$($cat),*], sub: [$($sub),*], $ty,
              stored: $version)
    };
    ($group:literal, $version:literal, $kind:literal, $plural:literal, $singular:literal,
     namespaced: $ns:literal, short: [$($short:literal),*], categories: [$($cat:literal),*],
     sub: [$($sub:literal),*], $ty:ty, stored: $stored:literal) => {
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
            storage_version: $stored,
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
          short: ["sa"], categories: [], sub: ["token"], core::v1::ServiceAccount),
    kind!("apps", "v1", "Deployment", "deployments", "deployment", namespaced: true,
          short: ["deploy"], categories: ["all"], sub: ["status", "scale"], apps::v1::Deployment),
    kind!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", namespaced: true,
          short: ["rs"], categories: ["all"], sub: ["status", "scale"], apps::v1::ReplicaSet),
    kind!("batch", "v1", "Job", "jobs", "job", namespaced: true,
          short: [], categories: ["all"], sub: ["status"], batch::v1::Job),
    kind!("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          "horizontalpodautoscaler", namespaced: true, short: ["hpa"], categories: ["all"],
          sub: ["status"], autoscaling::v2::HorizontalPodAutoscaler),
    // Served for `kubectl autoscale` (which writes v1 up to 1.33) and older clients;
    // stored as v2, converted both ways as Kubernetes does.
    kind!("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          "horizontalpodautoscaler", namespaced: true, short: ["hpa"], categories: ["all"],
          sub: ["status"], autoscaling::v1::HorizontalPodAutoscaler, stored: "v2"),
    kind!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice",
          namespaced: true, short: [], categories: [], sub: [], discovery::v1::EndpointSlice),
    kind!("coordination.k8s.io", "v1", "Lease", "leases", "lease", namespaced: true,
          short: [], categories: [], sub: [], coordination::v1::Lease),
    kind!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole",
          namespaced: false, short: [], categories: [], sub: [], rbac::v1::ClusterRole),
    kind!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
          "clusterrolebinding", namespaced: false, short: [], categories: [], sub: [],
          rbac::v1::ClusterRoleBinding),
    kind!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", namespaced: true,
          short: [], categories: [], sub: [], rbac::v1::Role),
    kind!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding",
          namespaced: true, short: [], categories: [], sub: [], rbac::v1::RoleBinding),
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

/// Every served resource type in its storage version: each stored resource once (what
/// walks the store by kind — informers, the namespace controller — iterates).
pub fn stored_kinds() -> impl Iterator<Item = &'static ResourceKind> {
    KINDS.iter().filter(|k| k.is_storage_version())
}

/// The served group-versions, core first, in discovery order; of a group served in
/// several versions, the preferred (storage) version comes first.
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
    fn a_kind_served_in_two_versions_is_stored_once() {
        let v1 = find("autoscaling", "v1", "horizontalpodautoscalers").expect("v1");
        let v2 = find("autoscaling", "v2", "horizontalpodautoscalers").expect("v2");
        assert!(!v1.is_storage_version());
        assert!(std::ptr::eq(v1.storage(), v2));
        assert!(std::ptr::eq(v2.storage(), v2));
        assert_eq!(v1.key(Some("ns"), "a"), v2.key(Some("ns"), "a"));
        assert_eq!(
            stored_kinds()
                .filter(|k| k.kind == "HorizontalPodAutoscaler")
                .count(),
            1
        );
        let autoscaling: Vec<_> = group_versions()
            .into_iter()
            .filter(|(g, _)| *g == "autoscaling")
            .collect();
        assert_eq!(autoscaling, [("autoscaling", "v2"), ("autoscaling", "v1")]);
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
