//! First-start setup: the namespaces every Kubernetes cluster has (`default`,
//! `kube-system`, `kube-public`, `kube-node-lease`), created if missing, and the admin
//! kubeconfig the server writes for its users.

use crate::apiserver::ApiState;
use crate::apiserver::error::ApiError;
use crate::apiserver::request::query::Query;
use serde_json::json;
use skiff_model::kinds::find;
use skiff_model::namespaces::SYSTEM_NAMESPACES;
use std::net::SocketAddr;

/// Creates the system namespaces that do not exist yet.
pub async fn ensure_namespaces(state: &ApiState) -> Result<(), ApiError> {
    let namespaces = find("", "v1", "namespaces").expect("namespaces are served");
    for name in SYSTEM_NAMESPACES {
        if state
            .read(namespaces, &namespaces.key(None, name), name)
            .await
            .is_ok()
        {
            continue;
        }
        let path = crate::apiserver::request::path::ResourcePath {
            kind: namespaces,
            namespace: None,
            name: None,
            subresource: None,
        };
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match crate::apiserver::handlers::write::create(state, &path, &Query::default(), object)
            .await
        {
            Ok(_) => tracing::info!(namespace = name, "created namespace"),
            Err(e) if e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A kubeconfig for the admin user of a server at `addr` (plain HTTP for now).
pub fn kubeconfig(addr: SocketAddr) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: http://{addr}
contexts:
- name: skiff
  context:
    cluster: skiff
    user: admin
    namespace: default
current-context: skiff
users:
- name: admin
  user: {{}}
"
    )
}
