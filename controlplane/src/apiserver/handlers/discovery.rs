//! Discovery and server information: `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`
//! (the legacy JSON every kubectl understands), `/version`, and the health endpoints.
//! `/apis` lists the metrics groups too; their own documents are the metrics handlers'.

use crate::apiserver::handlers::metrics::groups as metrics_groups;
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

/// `GET /apis`: each group once, with every version it is served in; the preferred
/// version (listed first) is the one it is stored in.
pub async fn api_groups() -> Json<Value> {
    let mut names: Vec<&str> = Vec::new();
    for (group, _) in group_versions() {
        if !group.is_empty() && !names.contains(&group) {
            names.push(group);
        }
    }
    let mut groups: Vec<Value> = names.into_iter().filter_map(api_group).collect();
    groups.extend(
        metrics_groups::GROUPS
            .iter()
            .filter_map(|(group, _)| metrics_groups::api_group(group)),
    );
    groups.push(super::activation::group());
    groups.extend(super::review::groups());
    Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

/// The `APIGroup` of `group` (`GET /apis/{group}`); `None` when not served.
pub fn api_group(group: &str) -> Option<Value> {
    if let Some(mut doc) = super::review::groups()
        .into_iter()
        .find(|g| g["name"] == group)
    {
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        return Some(doc);
    }
    if group == skiff_model::activation::GROUP {
        let mut doc = super::activation::group();
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        return Some(doc);
    }
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group,
        "versions": versions, "preferredVersion": preferred}),
    )
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`; `None` when not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if let Some(list) = super::review::resource_list(group, version) {
        return Some(list);
    }
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
                "token" => json!({"name": format!("{}/token", kind.plural), "singularName": "",
                    "namespaced": kind.namespaced, "group": "authentication.k8s.io",
                    "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}),
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
