//! Start-up setup: the namespaces every Kubernetes cluster has (`default`,
//! `kube-system`, `kube-public`, `kube-node-lease`), created if missing; the default RBAC
//! policy ([`crate::authz::policy`]), created if missing and restored where it was changed
//! unless its `autoupdate` annotation says not to; and the admin kubeconfig the server
//! writes for its users. Objects are written through the in-process [`Client`], as any
//! other component writes. [`secure`] sets a server up to authenticate and authorize
//! with RBAC under that policy, in the one order that works.

use crate::apiserver::ApiState;
use crate::apiserver::error::ApiError;
use crate::apiserver::state::store_error;
use crate::authn::Authenticator;
use crate::authz::Authorizer;
use crate::authz::policy::{self, AUTOUPDATE};
use crate::authz::rbac::Resolver;
use crate::machinery::client::Client;
use crate::machinery::informer::Object;
use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use skiff_model::namespaces::SYSTEM_NAMESPACES;
use skiff_pki::Issued;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long [`secure`] waits for the authorizer to see the default policy.
const POLICY_WAIT: Duration = Duration::from_secs(10);

/// Sets `state` up to authenticate with `authenticator` and authorize with RBAC (informers
/// followed until `shutdown`), writes the system namespaces and the default policy, and
/// returns once the authorizer sees that policy — so the components started next act
/// under it. The RBAC informers start after the namespaces are written: on a store never
/// written to, their watch from revision 0 would mean "from now" and could miss the policy.
pub async fn secure(
    state: &mut ApiState,
    authenticator: Authenticator,
    shutdown: CancellationToken,
) -> Result<(), ApiError> {
    state.authenticator = Arc::new(authenticator);
    ensure_namespaces(state).await?;
    let resolver = Resolver::start(state.store.clone(), shutdown)
        .await
        .map_err(store_error)?;
    state.authorizer = Arc::new(Authorizer::rbac(resolver.clone()));
    ensure_policy(state).await?;
    if !resolver
        .wait_for_cluster_policy(state.store.as_ref(), POLICY_WAIT)
        .await
    {
        return Err(ApiError::internal(
            "the authorizer did not see the default RBAC policy in time",
        ));
    }
    Ok(())
}

/// The field manager of the namespaces created here: the API's own, as for any write
/// that names none.
const MANAGER: &str = crate::machinery::client::API_SERVER;

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

/// Creates the default ClusterRoles and ClusterRoleBindings, and restores the parts of
/// existing ones that a start owns (rules and aggregation rule, role and subjects) where
/// their `autoupdate` annotation is not `false`. The rules of aggregated roles are the
/// aggregation controller's and are left alone.
pub async fn ensure_policy(state: &ApiState) -> Result<(), ApiError> {
    let client = Client::new(state.clone(), MANAGER);
    for role in policy::cluster_roles() {
        reconcile(
            &client,
            role,
            |have: &mut ClusterRole, want: &ClusterRole| {
                let rules = if want.aggregation_rule.is_some() {
                    have.rules.clone()
                } else {
                    want.rules.clone()
                };
                let changed = have.aggregation_rule != want.aggregation_rule || have.rules != rules;
                have.aggregation_rule = want.aggregation_rule.clone();
                have.rules = rules;
                changed
            },
        )
        .await?;
    }
    for binding in policy::cluster_role_bindings() {
        reconcile(&client, binding, |have: &mut ClusterRoleBinding, want| {
            let changed = have.role_ref != want.role_ref || have.subjects != want.subjects;
            have.role_ref = want.role_ref.clone();
            have.subjects = want.subjects.clone();
            changed
        })
        .await?;
    }
    Ok(())
}

/// Creates `want`, or brings the existing object in line with `restore` if it may be.
async fn reconcile<K>(
    client: &Client,
    want: K,
    restore: impl Fn(&mut K, &K) -> bool,
) -> Result<(), ApiError>
where
    K: Object + Resource + Serialize + Clone,
{
    let name = Object::metadata(&want).name.clone().unwrap_or_default();
    match client.create(&want).await {
        Ok(_) => return Ok(()),
        Err(e) if e.reason == "AlreadyExists" => {}
        Err(e) => return Err(e),
    }
    client
        .update::<K>(None, &name, |have| {
            let auto = Object::metadata(have)
                .annotations
                .as_ref()
                .and_then(|a| a.get(AUTOUPDATE))
                .is_none_or(|v| v != "false");
            auto && restore(have, &want)
        })
        .await
        .map(|_| ())
}

/// A kubeconfig for a server at `server` (`https://...` or `http://...`), trusting
/// `ca_pem` and authenticating with the client certificate and key of `client`.
pub fn kubeconfig(server: &str, ca_pem: Option<&str>, client: Option<&Issued>) -> String {
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let cluster_ca = ca_pem
        .map(|ca| format!("\n    certificate-authority-data: {}", b64(ca)))
        .unwrap_or_default();
    let user = match client {
        Some(issued) => format!(
            "\n    client-certificate-data: {}\n    client-key-data: {}",
            b64(&issued.cert_pem),
            b64(&issued.key_pem)
        ),
        None => " {}".to_string(),
    };
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: {server}{cluster_ca}
contexts:
- name: skiff
  context:
    cluster: skiff
    user: admin
    namespace: default
current-context: skiff
users:
- name: admin
  user:{user}
"
    )
}
