//! `rbac.authorization.k8s.io/v1` Role, ClusterRole, RoleBinding and ClusterRoleBinding,
//! as `kubectl create role|clusterrole|rolebinding|clusterrolebinding` sends them (1.32+).

use super::schema::{Field, Type::Str, keep, list, msg, msgs, opt};

/// `rbac/v1` PolicyRule.
pub(crate) const POLICY_RULE: &[Field] = &[
    list(1, "verbs", Str),
    list(2, "apiGroups", Str),
    list(3, "resources", Str),
    list(4, "resourceNames", Str),
    list(5, "nonResourceURLs", Str),
];

/// `rbac/v1` AggregationRule.
pub(crate) const AGGREGATION_RULE: &[Field] =
    &[msgs(1, "clusterRoleSelectors", super::meta::LABEL_SELECTOR)];

/// `rbac/v1` Role.
pub(crate) const ROLE: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msgs(2, "rules", POLICY_RULE),
];

/// `rbac/v1` ClusterRole.
pub(crate) const CLUSTER_ROLE: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msgs(2, "rules", POLICY_RULE),
    msg(3, "aggregationRule", AGGREGATION_RULE),
];

/// `rbac/v1` Subject.
pub(crate) const SUBJECT: &[Field] = &[
    keep(1, "kind", Str),
    opt(2, "apiGroup", Str),
    keep(3, "name", Str),
    opt(4, "namespace", Str),
];

/// `rbac/v1` RoleRef.
pub(crate) const ROLE_REF: &[Field] = &[
    keep(1, "apiGroup", Str),
    keep(2, "kind", Str),
    keep(3, "name", Str),
];

/// `rbac/v1` RoleBinding and ClusterRoleBinding (the same fields).
pub(crate) const BINDING: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msgs(2, "subjects", SUBJECT),
    msg(3, "roleRef", ROLE_REF),
];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, s};
    use k8s_openapi::api::rbac::v1 as openapi;
    use k8s_pb::api::rbac::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    /// `kubectl create rolebinding dev --clusterrole=edit --user=alice -n team-a`.
    #[test]
    fn create_rolebinding() {
        let object = pb::RoleBinding {
            metadata: Some(meta::ObjectMeta {
                name: s("dev"),
                namespace: s("team-a"),
                ..Default::default()
            }),
            subjects: vec![pb::Subject {
                kind: s("User"),
                api_group: s("rbac.authorization.k8s.io"),
                name: s("alice"),
                namespace: None,
            }],
            role_ref: Some(pb::RoleRef {
                api_group: s("rbac.authorization.k8s.io"),
                kind: s("ClusterRole"),
                name: s("edit"),
            }),
        };
        check::<openapi::RoleBinding>(
            &body("rbac.authorization.k8s.io/v1", "RoleBinding", &object),
            json!({
                "kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": "dev", "namespace": "team-a"},
                "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            }),
        );
    }

    /// `kubectl create role reader --verb=get,list --resource=pods`.
    #[test]
    fn create_role() {
        let object = pb::Role {
            metadata: Some(meta::ObjectMeta {
                name: s("reader"),
                namespace: s("team-a"),
                ..Default::default()
            }),
            rules: vec![pb::PolicyRule {
                verbs: vec!["get".into(), "list".into()],
                api_groups: vec![String::new()],
                resources: vec!["pods".into()],
                ..Default::default()
            }],
        };
        check::<openapi::Role>(
            &body("rbac.authorization.k8s.io/v1", "Role", &object),
            json!({
                "kind": "Role", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": "reader", "namespace": "team-a"},
                "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
            }),
        );
    }
}
