//! First-start setup: the namespaces every Kubernetes cluster has (`default`,
//! `kube-system`, `kube-public`, `kube-node-lease`), created if missing, and the admin
//! kubeconfig the server writes for its users. The namespaces are created through the
//! in-process [`Client`], as any other component writes.

use crate::apiserver::ApiState;
use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::namespaces::SYSTEM_NAMESPACES;
use std::net::SocketAddr;

/// The field manager of the namespaces created here: the API's own, as for any write
/// that names none.
const MANAGER: &str = "skiff-api";

/// Creates the system namespaces that do not exist yet, through the client.
pub async fn ensure_namespaces(state: &ApiState) -> Result<(), ApiError> {
    let client = Client::new(state.clone(), MANAGER);
    for name in SYSTEM_NAMESPACES {
        if client.get::<Namespace>(None, name).await.is_ok() {
            continue;
        }
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        match client.create(&namespace).await {
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
