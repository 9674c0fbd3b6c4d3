//! [`Authorizer`]: Kubernetes' authorizer chain as Skiff runs it — the privileged group
//! `system:masters` first (allowed everything, RBAC not consulted, so an admin can never
//! lock themselves out with a bad binding), then RBAC. A server built without RBAC (the
//! in-process servers of tests) allows only the privileged group.

use crate::authn::UserInfo;
use crate::authn::user::MASTERS;
use crate::authz::attributes::Attributes;
use crate::authz::rbac::Resolver;
use k8s_openapi::api::rbac::v1::PolicyRule;

/// An authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request may go on.
    Allow,
    /// It may not (RBAC has no deny rules: nothing allowed it).
    Deny,
}

/// Decides requests.
#[derive(Clone, Default)]
pub struct Authorizer {
    rbac: Option<Resolver>,
}

impl Authorizer {
    /// Privileged group, then the RBAC rules of `resolver`.
    pub fn rbac(resolver: Resolver) -> Self {
        Self {
            rbac: Some(resolver),
        }
    }

    /// Whether `user` may do what `request` asks.
    pub fn authorize(&self, user: &UserInfo, request: &Attributes) -> Decision {
        if user.in_group(MASTERS) {
            return Decision::Allow;
        }
        match &self.rbac {
            Some(rbac) if rbac.allows(user, request) => Decision::Allow,
            _ => Decision::Deny,
        }
    }

    /// The rules `user` holds in `namespace` (what `kubectl auth can-i --list` shows), and
    /// whether the list may be incomplete.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, bool) {
        if user.in_group(MASTERS) {
            return (vec![everything()], false);
        }
        match &self.rbac {
            Some(rbac) => rbac.rules_for(user, namespace),
            None => (Vec::new(), false),
        }
    }

    /// The resolver, when RBAC is on (escalation checks read roles through it).
    pub fn resolver(&self) -> Option<&Resolver> {
        self.rbac.as_ref()
    }
}

/// The rules of `cluster-admin`: every verb on everything, and every path.
pub fn everything() -> PolicyRule {
    PolicyRule {
        verbs: vec!["*".into()],
        api_groups: Some(vec!["*".into()]),
        resources: Some(vec!["*".into()]),
        non_resource_urls: Some(vec!["*".into()]),
        resource_names: None,
    }
}
