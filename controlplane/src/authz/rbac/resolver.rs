//! [`Resolver`]: the RBAC rules that apply to a user, from informers of the four RBAC
//! kinds — every ClusterRoleBinding naming the user, one of their groups or their
//! ServiceAccount, then (for a namespaced request) the RoleBindings of that namespace; each
//! binding contributes the rules of the Role or ClusterRole it refers to. A binding to a
//! role that does not exist contributes nothing (and is reported by [`Resolver::rules_for`]
//! as incomplete), as in Kubernetes.

use crate::authn::UserInfo;
use crate::authz::attributes::Attributes;
use crate::authz::rbac::rules;
use crate::machinery::informer::Informer;
use crate::store::Store;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The prefix of a ServiceAccount's user name.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Reads RBAC objects from informers.
#[derive(Clone, Default)]
pub struct Resolver {
    cluster_roles: Informer<ClusterRole>,
    cluster_role_bindings: Informer<ClusterRoleBinding>,
    roles: Informer<Role>,
    role_bindings: Informer<RoleBinding>,
}

impl Resolver {
    /// Loads the RBAC objects of `store` and follows them until `shutdown`.
    pub async fn start(
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
    ) -> crate::store::Result<Self> {
        let resolver = Self::default();
        resolver
            .cluster_roles
            .start(store.clone(), shutdown.clone())
            .await?;
        resolver
            .cluster_role_bindings
            .start(store.clone(), shutdown.clone())
            .await?;
        resolver
            .roles
            .start(store.clone(), shutdown.clone())
            .await?;
        resolver.role_bindings.start(store, shutdown).await?;
        Ok(resolver)
    }

    /// Waits until the ClusterRole and ClusterRoleBinding informers hold what `store` holds
    /// now (or `timeout` passes); returns whether they do. Lets the server start its
    /// components only once the policy it just wrote is what authorizes them.
    pub async fn wait_for_cluster_policy(
        &self,
        store: &dyn Store,
        timeout: std::time::Duration,
    ) -> bool {
        let latest = |kind: &'static skiff_model::kinds::ResourceKind| async move {
            store
                .list(&kind.key_prefix(None))
                .await
                .map(|list| {
                    list.items
                        .iter()
                        .map(|kv| kv.mod_revision)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0)
        };
        let roles = latest(self.cluster_roles.kind()).await;
        let bindings = latest(self.cluster_role_bindings.kind()).await;
        self.cluster_roles.wait_for_revision(roles, timeout).await
            && self
                .cluster_role_bindings
                .wait_for_revision(bindings, timeout)
                .await
    }

    /// Whether some rule that applies to `user` allows `request`.
    pub fn allows(&self, user: &UserInfo, request: &Attributes) -> bool {
        let mut allowed = false;
        self.visit(user, &request.namespace, &mut |rules| {
            allowed = rules.iter().any(|rule| rules::allows(rule, request));
            !allowed
        });
        allowed
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide rules only for
    /// `""`), and whether some binding named a role that does not exist.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, bool) {
        let mut all = Vec::new();
        let incomplete = self.visit(user, namespace, &mut |rules| {
            all.extend_from_slice(rules);
            true
        });
        (all, incomplete)
    }

    /// The rules of a role reference, as seen from `namespace` (where a RoleBinding's Role
    /// lives); `None` when the role does not exist.
    pub fn role_rules(&self, role: &RoleRef, namespace: &str) -> Option<Vec<PolicyRule>> {
        self.with_role_rules(role, namespace, |rules| rules.to_vec())
    }

    /// Calls `f` with the rules of a role reference, without copying them; `None` when the
    /// role does not exist.
    fn with_role_rules<T>(
        &self,
        role: &RoleRef,
        namespace: &str,
        f: impl FnOnce(&[PolicyRule]) -> T,
    ) -> Option<T> {
        match role.kind.as_str() {
            "ClusterRole" => self
                .cluster_roles
                .get(&role.name)
                .map(|r| f(r.rules.as_deref().unwrap_or_default())),
            "Role" if !namespace.is_empty() => self
                .roles
                .get_named(Some(namespace), &role.name)
                .map(|r| f(r.rules.as_deref().unwrap_or_default())),
            _ => None,
        }
    }

    /// Calls `visitor` with the rules of every binding that applies, until it returns
    /// false; returns whether some binding referred to a missing role.
    fn visit(
        &self,
        user: &UserInfo,
        namespace: &str,
        visitor: &mut dyn FnMut(&[PolicyRule]) -> bool,
    ) -> bool {
        let mut incomplete = false;
        // Whether to go on after the binding that refers to `role`.
        let mut go_on = |role: &RoleRef, namespace: &str| {
            self.with_role_rules(role, namespace, |rules| visitor(rules))
                .unwrap_or_else(|| {
                    incomplete = true;
                    true
                })
        };
        for binding in self.cluster_role_bindings.list() {
            if applies(binding.subjects.as_deref(), user, "") && !go_on(&binding.role_ref, "") {
                return incomplete;
            }
        }
        if namespace.is_empty() {
            return incomplete;
        }
        for binding in self.role_bindings.list_namespace(namespace) {
            if applies(binding.subjects.as_deref(), user, namespace)
                && !go_on(&binding.role_ref, namespace)
            {
                return incomplete;
            }
        }
        incomplete
    }
}

/// Whether one of `subjects` is `user`, a group of theirs, or their ServiceAccount (a
/// ServiceAccount subject without a namespace is in the binding's).
fn applies(subjects: Option<&[Subject]>, user: &UserInfo, namespace: &str) -> bool {
    subjects
        .unwrap_or_default()
        .iter()
        .any(|subject| match subject.kind.as_str() {
            "User" => subject.name == user.name,
            "Group" => user.in_group(&subject.name),
            "ServiceAccount" => {
                let ns = subject
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(namespace);
                !ns.is_empty()
                    && user
                        .name
                        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
                        .and_then(|rest| rest.split_once(':'))
                        == Some((ns, subject.name.as_str()))
            }
            _ => false,
        })
}
