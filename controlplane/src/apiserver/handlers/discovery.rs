//! Discovery and server information: `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`
//! (the legacy JSON every kubectl understands), `/version`, and the health endpoints.

use axum::Json;
use serde_json::{Value, json};
use skiff_model::kinds::{KINDS, ResourceKind, group_versions};

/// The Kubernetes version this server speaks, for `/version` and `kubectl version`.
pub const KUBERNETES_MINOR: &str = "33";

/// `GET /api`.
pub async fn api_versions() -> Json<Value> {
    Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }))
}

/// `GET /apis`.
pub async fn api_groups() -> Json<Value> {
    let mut groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, version)| {
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv], "preferredVersion": gv})
        })
        .collect();
    groups.push(super::activation::group());
    Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`; `None` when not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if group == skiff_model::activation::GROUP && version == skiff_model::activation::VERSION {
        return Some(super::activation::resource_list());
    }
    let kinds: Vec<&ResourceKind> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for kind in &kinds {
        resources.push(json!({
            "name": kind.plural,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": kind.verbs(),
            "shortNames": kind.short_names,
            "categories": kind.categories,
        }));
        for sub in kind.subresources {
            let entry = match *sub {
                "status" => json!({"name": format!("{}/status", kind.plural), "singularName": "",
                    "namespaced": kind.namespaced, "kind": kind.kind,
                    "verbs": ["get", "patch", "update"]}),
                "scale" => json!({"name": format!("{}/scale", kind.plural), "singularName": "",
                    "namespaced": kind.namespaced, "group": "autoscaling", "version": "v1",
                    "kind": "Scale", "verbs": ["get", "patch", "update"]}),
                "binding" => json!({"name": format!("{}/binding", kind.plural), "singularName": "",
                    "namespaced": kind.namespaced, "kind": "Binding", "verbs": ["create"]}),
                "log" => json!({"name": format!("{}/log", kind.plural), "singularName": "",
                    "namespaced": kind.namespaced, "kind": kind.kind, "verbs": ["get"]}),
                _ => continue,
            };
            resources.push(entry);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// `GET /version`.
pub async fn version() -> Json<Value> {
    Json(json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": format!("v1.{KUBERNETES_MINOR}.0-skiff.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// `GET /healthz`, `/livez`, `/readyz`.
pub async fn healthy() -> &'static str {
    "ok"
}
