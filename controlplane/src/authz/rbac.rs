//! RBAC (`rbac.authorization.k8s.io/v1`): [`rules`] says whether one PolicyRule allows a
//! request and whether rules cover others (for escalation checks); [`resolver`] finds the
//! rules that apply to a user in a namespace, from ClusterRoleBindings and the namespace's
//! RoleBindings and the roles they name, as Kubernetes' `DefaultRuleResolver` does.

pub mod resolver;
pub mod rules;

pub use resolver::Resolver;
