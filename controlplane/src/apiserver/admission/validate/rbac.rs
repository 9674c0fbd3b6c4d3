//! The RBAC kinds, validated as Kubernetes validates them: names are path segments (so
//! `system:basic-user` is a name), every rule has verbs and either resources with API
//! groups or non-resource URLs (never both, and URLs only in ClusterRoles), and a
//! binding's `roleRef` and subjects name kinds that exist.

use super::cause::{invalid, not_supported, required};
use serde_json::Value;
use skiff_model::field::FieldCause;

/// The RBAC API group.
const GROUP: &str = "rbac.authorization.k8s.io";

/// Whether `kind` is named as a path segment rather than a DNS subdomain.
pub(super) fn path_segment_named(kind: &str) -> bool {
    matches!(
        kind,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
    )
}

/// Checks a name that must only be usable as one URL path segment.
pub(super) fn check_path_segment(name: &str) -> Result<(), String> {
    match name {
        "." => Err("may not be '.'".into()),
        ".." => Err("may not be '..'".into()),
        _ if name.contains('/') => Err("may not contain '/'".into()),
        _ if name.contains('%') => Err("may not contain '%'".into()),
        _ => Ok(()),
    }
}

/// The causes of an RBAC object of `kind`.
pub(super) fn check(kind: &str, object: &Value, causes: &mut Vec<FieldCause>) {
    match kind {
        "Role" | "ClusterRole" => {
            let rules = object.get("rules").and_then(Value::as_array);
            for (i, rule) in rules.into_iter().flatten().enumerate() {
                check_rule(&format!("rules[{i}]"), rule, kind == "Role", causes);
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => check_binding(kind, object, causes),
        _ => {}
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn check_rule(path: &str, rule: &Value, namespaced: bool, causes: &mut Vec<FieldCause>) {
    if strings(rule.get("verbs")).is_empty() {
        causes.push(required(
            &format!("{path}.verbs"),
            "Required value: verbs must contain at least one value",
        ));
    }
    let urls = strings(rule.get("nonResourceURLs"));
    let groups = strings(rule.get("apiGroups"));
    let resources = strings(rule.get("resources"));
    if !urls.is_empty() {
        if namespaced {
            causes.push(invalid(
                &format!("{path}.nonResourceURLs"),
                &format!(
                    "Invalid value: {urls:?}: namespaced rules cannot apply to non-resource URLs"
                ),
            ));
        }
        if !groups.is_empty() || !resources.is_empty() {
            causes.push(invalid(
                &format!("{path}.nonResourceURLs"),
                &format!(
                    "Invalid value: {urls:?}: rules cannot apply to both regular resources and non-resource URLs"
                ),
            ));
        }
        return;
    }
    if groups.is_empty() {
        causes.push(required(
            &format!("{path}.apiGroups"),
            "Required value: resource rules must supply at least one api group",
        ));
    }
    if resources.is_empty() {
        causes.push(required(
            &format!("{path}.resources"),
            "Required value: resource rules must supply at least one resource",
        ));
    }
}

fn check_binding(kind: &str, object: &Value, causes: &mut Vec<FieldCause>) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let role = object.get("roleRef").cloned().unwrap_or(Value::Null);
    let group = text(&role, "apiGroup");
    if group != GROUP {
        causes.push(not_supported("roleRef.apiGroup", &group, &[GROUP]));
    }
    let role_kind = text(&role, "kind");
    let allowed: &[&str] = if kind == "RoleBinding" {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !allowed.contains(&role_kind.as_str()) {
        causes.push(not_supported("roleRef.kind", &role_kind, allowed));
    }
    if text(&role, "name").is_empty() {
        causes.push(required("roleRef.name", "Required value"));
    }
    let subjects = object.get("subjects").and_then(Value::as_array);
    for (i, subject) in subjects.into_iter().flatten().enumerate() {
        let path = format!("subjects[{i}]");
        if text(subject, "name").is_empty() {
            causes.push(required(&format!("{path}.name"), "Required value"));
        }
        let api_group = text(subject, "apiGroup");
        match text(subject, "kind").as_str() {
            "ServiceAccount" => {
                if !api_group.is_empty() {
                    causes.push(not_supported(
                        &format!("{path}.apiGroup"),
                        &api_group,
                        &[""],
                    ));
                }
                if kind == "ClusterRoleBinding" && text(subject, "namespace").is_empty() {
                    causes.push(required(&format!("{path}.namespace"), "Required value"));
                }
            }
            "User" | "Group" => {
                if api_group != GROUP {
                    causes.push(not_supported(
                        &format!("{path}.apiGroup"),
                        &api_group,
                        &[GROUP],
                    ));
                }
            }
            other => causes.push(not_supported(
                &format!("{path}.kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(kind: &str, object: Value) -> Vec<String> {
        let mut out = Vec::new();
        check(kind, &object, &mut out);
        out.into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn rules_need_verbs_and_a_target_of_one_sort() {
        assert!(
            causes(
                "ClusterRole",
                json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]})
            )
            .is_empty()
        );
        let found = causes(
            "Role",
            json!({"rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}),
        );
        assert!(
            found[0].contains("namespaced rules cannot apply to non-resource URLs"),
            "{found:?}"
        );
        let found = causes("Role", json!({"rules": [{"resources": ["pods"]}]}));
        assert!(
            found.iter().any(|c| c.starts_with("rules[0].verbs")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|c| c.starts_with("rules[0].apiGroups")),
            "{found:?}"
        );
    }

    #[test]
    fn bindings_name_a_role_and_known_subjects() {
        let good = json!({
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "edit"},
            "subjects": [
                {"kind": "User", "apiGroup": GROUP, "name": "alice"},
                {"kind": "ServiceAccount", "name": "default", "namespace": "a"},
            ],
        });
        assert!(causes("RoleBinding", good.clone()).is_empty());
        assert!(causes("ClusterRoleBinding", good).is_empty());
        let found = causes(
            "ClusterRoleBinding",
            json!({
                "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "x"}],
            }),
        );
        assert!(
            found.iter().any(|c| c.starts_with("roleRef.kind")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|c| c.starts_with("subjects[0].namespace")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|c| c.starts_with("subjects[1].kind")),
            "{found:?}"
        );
    }

    #[test]
    fn names_are_path_segments() {
        assert!(check_path_segment("system:basic-user").is_ok());
        assert!(check_path_segment("a/b").is_err());
        assert!(check_path_segment("..").is_err());
    }
}
