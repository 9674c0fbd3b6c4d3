//! Validation with field paths, as Kubernetes reports it (`422 Invalid` with one cause per
//! field): object names per kind, label keys and values, and the required parts of the
//! specs that Skiff acts on.
//!
//! Parts: `service` checks a Service's spec; `hpa` a HorizontalPodAutoscaler's; `probe` a
//! container's probes; `rbac` roles and bindings; `autoscaling` a Deployment's `autoscaling.knative.dev/*`
//! annotations; `cause` builds the field causes they all report.

mod autoscaling;
mod cause;
mod hpa;
mod probe;
mod rbac;
mod service;

use cause::{invalid, required};
use serde_json::Value;
use skiff_model::field::FieldCause;
use skiff_model::kinds::ResourceKind;
use skiff_model::selector::LabelSelector;

/// Kinds whose names must be DNS labels (no dots), as upstream.
const DNS_LABEL_NAMED: &[&str] = &["Namespace", "Service"];

/// Every problem with `object`, as field causes; empty when it is valid.
pub fn validate(kind: &ResourceKind, object: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        causes.push(required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if let Err(why) = check_name(kind, name) {
        causes.push(invalid(
            "metadata.name",
            &format!("Invalid value: {name:?}: {why}"),
        ));
    }
    for (field, map) in [("labels", true), ("annotations", false)] {
        if let Some(entries) = object.pointer(&format!("/metadata/{field}")) {
            check_string_map(&format!("metadata.{field}"), entries, map, &mut causes);
        }
    }
    match kind.kind {
        "Pod" => {
            if let Some(spec) = object.get("spec") {
                check_pod_spec("spec", spec, &mut causes);
            } else {
                causes.push(required("spec", "Required value"));
            }
        }
        "Deployment" => {
            check_workload(object, &mut causes);
            autoscaling::check(object, &mut causes);
        }
        "ReplicaSet" => check_workload(object, &mut causes),
        "Job" => match object.pointer("/spec/template/spec") {
            Some(spec) => check_pod_spec("spec.template.spec", spec, &mut causes),
            None => causes.push(required("spec.template.spec", "Required value")),
        },
        "Service" => service::check(object, &mut causes),
        "HorizontalPodAutoscaler" => hpa::check(object, &mut causes),
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            rbac::check(kind.kind, object, &mut causes);
        }
        "EndpointSlice" => {
            let address_type = object
                .get("addressType")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !["IPv4", "IPv6", "FQDN"].contains(&address_type) {
                causes.push(FieldCause {
                    kind: "FieldValueNotSupported",
                    field: "addressType".into(),
                    message: format!(
                        "Unsupported value: {address_type:?}: supported values: \"IPv4\", \"IPv6\", \"FQDN\""
                    ),
                });
            }
        }
        _ => {}
    }
    causes
}

/// Checks a name for `kind`: a DNS subdomain (≤ 253), a DNS label (≤ 63) for the kinds
/// upstream restricts so, or a path segment for the RBAC kinds.
pub fn check_name(kind: &ResourceKind, name: &str) -> Result<(), String> {
    if rbac::path_segment_named(kind.kind) {
        return rbac::check_path_segment(name);
    }
    let label_only = DNS_LABEL_NAMED.contains(&kind.kind);
    let max = if label_only { 63 } else { 253 };
    if name.len() > max {
        return Err(format!("must be no more than {max} characters"));
    }
    let parts: Vec<&str> = if label_only {
        vec![name]
    } else {
        name.split('.').collect()
    };
    let ok = parts.iter().all(|part| {
        !part.is_empty()
            && part.len() <= 63
            && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if ok {
        Ok(())
    } else if label_only {
        Err(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters \
             or '-', and must start and end with an alphanumeric character"
                .into(),
        )
    } else {
        Err(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
             characters, '-' or '.', and must start and end with an alphanumeric character"
                .into(),
        )
    }
}

fn check_string_map(path: &str, entries: &Value, labels: bool, causes: &mut Vec<FieldCause>) {
    let Some(map) = entries.as_object() else {
        return;
    };
    for (key, value) in map {
        if let Err(why) = skiff_model::selector::validate_label_key(key) {
            causes.push(invalid(path, &why));
            continue;
        }
        if labels
            && let Some(value) = value.as_str()
            && let Err(why) = skiff_model::selector::validate_label_value(value)
        {
            causes.push(invalid(path, &why));
        }
    }
}

fn check_pod_spec(path: &str, spec: &Value, causes: &mut Vec<FieldCause>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    match containers {
        None => causes.push(required(&format!("{path}.containers"), "Required value")),
        Some(list) if list.is_empty() => {
            causes.push(required(&format!("{path}.containers"), "Required value"));
        }
        Some(_) => {}
    }
    for list in ["initContainers", "containers"] {
        let mut names = Vec::new();
        for (i, container) in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{path}.{list}[{i}]");
            match container.get("name").and_then(Value::as_str) {
                None | Some("") => causes.push(required(&format!("{at}.name"), "Required value")),
                Some(name) if names.contains(&name) => {
                    causes.push(FieldCause {
                        kind: "FieldValueDuplicate",
                        field: format!("{at}.name"),
                        message: format!("Duplicate value: {name:?}"),
                    });
                }
                Some(name) => names.push(name),
            }
            if container
                .get("image")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                causes.push(required(&format!("{at}.image"), "Required value"));
            }
            probe::check(&at, container, causes);
            if container.pointer("/lifecycle").is_some() {
                causes.push(FieldCause {
                    kind: "FieldValueNotSupported",
                    field: format!("{at}.lifecycle"),
                    message:
                        "lifecycle hooks are not supported: wasm containers have no exec or signals"
                            .into(),
                });
            }
        }
    }
    if let Some(policy) = spec.get("restartPolicy").and_then(Value::as_str)
        && !["Always", "OnFailure", "Never"].contains(&policy)
    {
        causes.push(FieldCause {
            kind: "FieldValueNotSupported",
            field: format!("{path}.restartPolicy"),
            message: format!(
                "Unsupported value: {policy:?}: supported values: \"Always\", \"OnFailure\", \"Never\""
            ),
        });
    }
}

fn check_workload(object: &Value, causes: &mut Vec<FieldCause>) {
    let selector = object.pointer("/spec/selector");
    let Some(selector) = selector else {
        causes.push(required("spec.selector", "Required value"));
        return;
    };
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let expressions: Vec<(String, String, Vec<String>)> = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e.get("key")?.as_str()?.to_string(),
                e.get("operator")?.as_str()?.to_string(),
                e.get("values")
                    .and_then(Value::as_array)
                    .map(|v| {
                        v.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            ))
        })
        .collect();
    let selector = match LabelSelector::from_parts(&match_labels, &expressions) {
        Ok(selector) => selector,
        Err(e) => {
            causes.push(invalid("spec.selector", &e.to_string()));
            return;
        }
    };
    if selector.is_empty() {
        causes.push(invalid(
            "spec.selector",
            "empty selector is invalid for deployment",
        ));
    }
    let template_labels = object
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if !selector.matches(&template_labels) {
        causes.push(invalid(
            "spec.template.metadata.labels",
            "Invalid value: `selector` does not match template `labels`",
        ));
    }
    match object.pointer("/spec/template/spec") {
        Some(spec) => check_pod_spec("spec.template.spec", spec, causes),
        None => causes.push(required("spec.template.spec", "Required value")),
    }
    if let Some(replicas) = object.pointer("/spec/replicas").and_then(Value::as_i64)
        && replicas < 0
    {
        causes.push(invalid(
            "spec.replicas",
            "Invalid value: must be greater than or equal to 0",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skiff_model::kinds::find;

    #[test]
    fn names_follow_the_kind_rules() {
        let pods = find("", "v1", "pods").expect("pods");
        let services = find("", "v1", "services").expect("services");
        assert!(check_name(pods, "web-1.example").is_ok());
        assert!(check_name(services, "web-1.example").is_err());
        assert!(check_name(pods, "Web").is_err());
        assert!(check_name(pods, "-web").is_err());
        assert!(check_name(pods, &"a".repeat(254)).is_err());
    }

    #[test]
    fn pod_without_image_names_the_field() {
        let pods = find("", "v1", "pods").expect("pods");
        let causes = validate(
            pods,
            &json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}),
        );
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.containers[0].image");
    }

    #[test]
    fn deployment_selector_must_match_template() {
        let deployments = find("apps", "v1", "deployments").expect("deployments");
        let causes = validate(
            deployments,
            &json!({"metadata": {"name": "d"}, "spec": {
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "b"}},
                             "spec": {"containers": [{"name": "c", "image": "x.wasm"}]}}}}),
        );
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec.template.metadata.labels");
    }
}
