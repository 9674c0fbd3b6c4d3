//! Authorization: may this user do this to that? As kube-apiserver decides it.
//!
//! [`attributes`] reads what a request asks from its method, path and query, exactly as
//! Kubernetes' RequestInfo does (verb, API group, resource, subresource, namespace, name;
//! or a non-resource path). [`Authorizer`] answers: members of `system:masters` may do
//! anything (Kubernetes' privileged-group authorizer, ahead of RBAC), everyone else what
//! [`rbac`] grants them — Roles and ClusterRoles bound to the user, their groups or their
//! ServiceAccount, read from informers, so a decision reads memory only. RBAC only adds:
//! there are no deny rules, and no binding means no access.
//!
//! [`policy`] is the default policy written on first start (Kubernetes' bootstrap roles:
//! `cluster-admin`, `admin`, `edit`, `view` and the `system:` roles every user needs), and
//! [`forbidden`] the wording of a refusal.

pub mod attributes;
pub mod authorizer;
pub mod forbidden;
pub mod policy;
pub mod rbac;

pub use attributes::Attributes;
pub use authorizer::{Authorizer, Decision};
