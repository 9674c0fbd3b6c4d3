//! The top-level kinds whose protobuf bodies are decoded, each with its field table.

use super::schema::Message;
use super::{apps, autoscaling, batch, config, coordination, event, pod, rbac, review, service};

/// The kinds whose protobuf bodies `decode` accepts: `(apiVersion, kind, table)`.
const KINDS: &[(&str, &str, &Message)] = &[
    ("v1", "ConfigMap", config::CONFIG_MAP),
    ("v1", "Secret", config::SECRET),
    ("v1", "Namespace", config::NAMESPACE),
    ("v1", "ServiceAccount", config::SERVICE_ACCOUNT),
    ("v1", "Service", service::SERVICE),
    ("v1", "Pod", pod::POD),
    ("v1", "Event", event::EVENT),
    ("apps/v1", "Deployment", apps::DEPLOYMENT),
    ("apps/v1", "ReplicaSet", apps::REPLICA_SET),
    ("batch/v1", "Job", batch::JOB),
    (
        "autoscaling/v1",
        "HorizontalPodAutoscaler",
        autoscaling::HPA_V1,
    ),
    (
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        autoscaling::HPA_V2,
    ),
    ("coordination.k8s.io/v1", "Lease", coordination::LEASE),
    ("rbac.authorization.k8s.io/v1", "Role", rbac::ROLE),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        rbac::CLUSTER_ROLE,
    ),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", rbac::BINDING),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        rbac::BINDING,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        review::SELF_SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
        review::SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "LocalSubjectAccessReview",
        review::SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview",
        review::SELF_SUBJECT_RULES_REVIEW,
    ),
    (
        "authentication.k8s.io/v1",
        "SelfSubjectReview",
        review::SELF_SUBJECT_REVIEW,
    ),
    (
        "authentication.k8s.io/v1beta1",
        "SelfSubjectReview",
        review::SELF_SUBJECT_REVIEW,
    ),
    (
        "authentication.k8s.io/v1alpha1",
        "SelfSubjectReview",
        review::SELF_SUBJECT_REVIEW,
    ),
    (
        "authentication.k8s.io/v1",
        "TokenRequest",
        review::TOKEN_REQUEST,
    ),
];

/// The field table of `apiVersion` `kind`, if that kind is decoded.
pub(super) fn table(api_version: &str, kind: &str) -> Option<&'static Message> {
    KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|&(_, _, table)| table)
}

/// The supported kinds as one line for error messages, e.g. "v1 ConfigMap, …".
pub(super) fn supported_kinds() -> String {
    KINDS
        .iter()
        .map(|(api_version, kind, _)| format!("{api_version} {kind}"))
        .collect::<Vec<_>>()
        .join(", ")
}
