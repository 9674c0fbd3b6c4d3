//! The ClusterRole aggregation controller, as Kubernetes': a ClusterRole with an
//! `aggregationRule` has, as its rules, the rules of every other ClusterRole whose labels
//! match one of its `clusterRoleSelectors` (in name order, each rule once). That is how
//! `admin`, `edit` and `view` take in `system:aggregate-to-*` and any custom role labelled
//! `rbac.authorization.k8s.io/aggregate-to-view: "true"`.
//!
//! Keyed by the aggregated role's name; every ClusterRole change queues every aggregated
//! role (there are few), since any role's labels or rules may concern any of them.

use crate::controllers::pods::{labels, selector};
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, key_of};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Roles aggregated at once.
pub const WORKERS: usize = 1;

/// A write that failed; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot aggregate the rules of ClusterRole {role}: {message}")]
pub struct Error {
    role: String,
    message: String,
}

/// The aggregation controller, built and not yet running.
pub struct ClusterRoleAggregation {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    roles: Informer<ClusterRole>,
    client: Client,
}

impl ClusterRoleAggregation {
    /// Builds the controller, watching ClusterRoles.
    pub fn new(ctx: &Context) -> Self {
        let roles = ctx.informers.cluster_roles.clone();
        let all = roles.clone();
        let controller =
            Controller::new("clusterrole-aggregation", WORKERS).watches(&roles, move |_change| {
                all.list()
                    .iter()
                    .filter(|role| role.aggregation_rule.is_some())
                    .map(|role| key_of(&role.metadata))
                    .collect::<Vec<_>>()
            });
        let shared = Arc::new(Shared {
            roles,
            client: ctx.client("clusterrole-aggregation-controller"),
        });
        Self { controller, shared }
    }

    /// Aggregates until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(role) = self.roles.get(key) else {
            return Ok(Action::await_change());
        };
        let Some(rule) = &role.aggregation_rule else {
            return Ok(Action::await_change());
        };
        let wanted = aggregate(
            key,
            rule.cluster_role_selectors.as_deref().unwrap_or_default(),
            &self.roles.list(),
        );
        if role.rules.as_deref().unwrap_or_default() == wanted.as_slice() {
            return Ok(Action::await_change());
        }
        let written = self
            .client
            .update::<ClusterRole>(None, key, |latest| {
                if latest.aggregation_rule.is_none()
                    || latest.rules.as_deref().unwrap_or_default() == wanted.as_slice()
                {
                    return false;
                }
                latest.rules = Some(wanted.clone());
                true
            })
            .await;
        match written {
            Ok(_) => Ok(Action::await_change()),
            Err(e) if e.reason == "NotFound" => Ok(Action::await_change()),
            Err(e) => Err(Error {
                role: key.clone(),
                message: e.message,
            }),
        }
    }
}

/// The rules of the roles (other than `name`) that one of `selectors` selects, in name
/// order, each rule once.
pub fn aggregate(
    name: &str,
    selectors: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector],
    roles: &[Arc<ClusterRole>],
) -> Vec<PolicyRule> {
    let selectors: Vec<_> = selectors.iter().filter_map(|s| selector(s).ok()).collect();
    let mut sources: Vec<&Arc<ClusterRole>> = roles
        .iter()
        .filter(|role| role.metadata.name.as_deref() != Some(name))
        .filter(|role| {
            let labels = labels(&role.metadata);
            // An empty selector would select every role; Kubernetes skips it too.
            selectors.iter().any(|s| !s.is_empty() && s.matches(labels))
        })
        .collect();
    sources.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut rules: Vec<PolicyRule> = Vec::new();
    for role in sources {
        for rule in role.rules.iter().flatten() {
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::policy;

    #[test]
    fn the_default_roles_aggregate_as_kubernetes_documents() {
        let roles: Vec<Arc<ClusterRole>> =
            policy::cluster_roles().into_iter().map(Arc::new).collect();
        let rules_of = |name: &str| {
            let role = roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(name))
                .expect("role");
            let selectors = role
                .aggregation_rule
                .as_ref()
                .and_then(|a| a.cluster_role_selectors.clone())
                .unwrap_or_default();
            aggregate(name, &selectors, &roles)
        };
        let (view, edit, admin) = (rules_of("view"), rules_of("edit"), rules_of("admin"));
        assert!(!view.is_empty());
        // view ⊂ edit ⊂ admin, each strictly.
        assert!(view.iter().all(|r| edit.contains(r)) && edit.len() > view.len());
        assert!(edit.iter().all(|r| admin.contains(r)) && admin.len() > edit.len());
        // Secrets are for edit, not view; roles for admin, not edit.
        let grants = |rules: &[PolicyRule], resource: &str| {
            rules
                .iter()
                .any(|r| r.resources.iter().flatten().any(|x| x == resource))
        };
        assert!(!grants(&view, "secrets") && grants(&edit, "secrets"));
        assert!(!grants(&edit, "roles") && grants(&admin, "roles"));
    }
}
