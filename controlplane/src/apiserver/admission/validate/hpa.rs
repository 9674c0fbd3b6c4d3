//! A HorizontalPodAutoscaler's spec, as Kubernetes' `pkg/apis/autoscaling/validation`
//! checks it (with its messages): the scale target reference, `minReplicas` ≥ 1 and
//! `maxReplicas` ≥ 1 and ≥ `minReplicas`, each metric (its type, exactly one source that
//! matches it, names, targets that fit the source) and `behavior` (policies, periods up to
//! 1800 s, stabilization windows up to an hour, `selectPolicy`).

use super::cause::{invalid, required};
use serde_json::Value;
use skiff_model::field::FieldCause;
use skiff_model::quantity::Quantity;

/// Longest `periodSeconds` of a scaling policy (Kubernetes' `MaxPeriodSeconds`).
pub const MAX_PERIOD_SECONDS: i64 = 1800;
/// Longest `stabilizationWindowSeconds` (Kubernetes' `MaxStabilizationWindowSeconds`).
pub const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

const METRIC_SOURCE_TYPES: [&str; 5] = [
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];

fn not_supported(field: &str, value: &Value, supported: &[&str]) -> FieldCause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    FieldCause {
        kind: "FieldValueNotSupported",
        field: field.to_string(),
        message: format!(
            "Unsupported value: {}: supported values: {}",
            shown(value),
            list.join(", ")
        ),
    }
}

fn forbidden(field: &str, message: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueForbidden",
        field: field.to_string(),
        message: format!("Forbidden: {message}"),
    }
}

/// A value as Kubernetes prints it in a cause: strings quoted, numbers bare.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn bad(field: &str, value: &Value, message: &str) -> FieldCause {
    invalid(
        field,
        &format!("Invalid value: {}: {message}", shown(value)),
    )
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn present<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| !v.is_null())
}

/// Checks `spec` of a (v2) HorizontalPodAutoscaler.
pub(super) fn check(object: &Value, causes: &mut Vec<FieldCause>) {
    let Some(spec) = object.get("spec") else {
        causes.push(required("spec", "Required value"));
        return;
    };
    let min = present(spec, "minReplicas").and_then(Value::as_i64);
    let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if let Some(min) = min
        && min < 1
    {
        causes.push(bad(
            "spec.minReplicas",
            &Value::from(min),
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        causes.push(bad(
            "spec.maxReplicas",
            &Value::from(max),
            "must be greater than 0",
        ));
    }
    if let Some(min) = min
        && max < min
    {
        causes.push(bad(
            "spec.maxReplicas",
            &Value::from(max),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let empty = Value::Null;
    cross_version_reference(
        "spec.scaleTargetRef",
        spec.get("scaleTargetRef").unwrap_or(&empty),
        causes,
    );
    for (i, metric) in spec
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        metric_spec(&format!("spec.metrics[{i}]"), metric, causes);
    }
    if let Some(behavior) = present(spec, "behavior") {
        for side in ["scaleUp", "scaleDown"] {
            if let Some(rules) = present(behavior, side) {
                scaling_rules(&format!("spec.behavior.{side}"), rules, causes);
            }
        }
    }
}

/// Kubernetes' `IsValidPathSegmentName`.
fn path_segment(field: &str, name: &str, causes: &mut Vec<FieldCause>) {
    let value = Value::from(name);
    if name == "." || name == ".." {
        causes.push(bad(field, &value, &format!("may not be '{name}'")));
        return;
    }
    for c in ['/', '%'] {
        if name.contains(c) {
            causes.push(bad(field, &value, &format!("may not contain '{c}'")));
        }
    }
}

fn cross_version_reference(path: &str, reference: &Value, causes: &mut Vec<FieldCause>) {
    for key in ["kind", "name"] {
        let value = str_at(reference, key);
        let field = format!("{path}.{key}");
        if value.is_empty() {
            causes.push(required(&field, "Required value"));
        } else {
            path_segment(&field, value, causes);
        }
    }
}

fn metric_spec(path: &str, metric: &Value, causes: &mut Vec<FieldCause>) {
    let kind = str_at(metric, "type");
    if kind.is_empty() {
        causes.push(required(
            &format!("{path}.type"),
            "Required value: must specify a metric source type",
        ));
    }
    let sources = [
        ("object", "Object"),
        ("external", "External"),
        ("pods", "Pods"),
        ("resource", "Resource"),
        ("containerResource", "ContainerResource"),
    ];
    let present_sources: Vec<&str> = sources
        .iter()
        .filter(|(key, _)| present(metric, key).is_some())
        .map(|(key, _)| *key)
        .collect();
    if let Some(first) = present_sources.first() {
        let source = &metric[*first];
        let at = format!("{path}.{first}");
        match *first {
            "object" => object_source(&at, source, causes),
            "external" => external_source(&at, source, causes),
            "pods" => pods_source(&at, source, causes),
            "resource" => resource_source(&at, source, causes),
            _ => container_resource_source(&at, source, causes),
        }
    }
    let expected = sources
        .iter()
        .find(|(_, t)| *t == kind)
        .map(|(key, _)| *key);
    match expected {
        Some(key) if present(metric, key).is_none() => causes.push(required(
            &format!("{path}.{key}"),
            "Required value: must populate information for the given metric source",
        )),
        Some(_) => {}
        None if kind.is_empty() => {}
        None => causes.push(not_supported(
            &format!("{path}.type"),
            &Value::from(kind),
            &METRIC_SOURCE_TYPES,
        )),
    }
    if present_sources.len() != 1 {
        for key in present_sources.iter().filter(|k| Some(**k) != expected) {
            causes.push(forbidden(
                &format!("{path}.{key}"),
                "must populate the given metric source only",
            ));
        }
    }
}

fn metric_identifier(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    let name = source
        .pointer("/metric/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let field = format!("{path}.metric.name");
    if name.is_empty() {
        causes.push(required(
            &field,
            "Required value: must specify a metric name",
        ));
    } else {
        path_segment(&field, name, causes);
    }
}

/// The sign of a quantity target, or a cause when it does not parse.
fn positive(field: &str, value: &Value, causes: &mut Vec<FieldCause>) {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match Quantity::parse(&text) {
        Ok(q) if !q.is_zero() && !q.is_negative() => {}
        Ok(_) => causes.push(invalid(
            field,
            &format!("Invalid value: {text}: must be positive"),
        )),
        Err(_) => causes.push(bad(
            field,
            value,
            "quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        )),
    }
}

fn metric_target(path: &str, target: &Value, causes: &mut Vec<FieldCause>) {
    let kind = str_at(target, "type");
    if kind.is_empty() {
        causes.push(required(
            &format!("{path}.type"),
            "Required value: must specify a metric target type",
        ));
    }
    if !["Utilization", "Value", "AverageValue"].contains(&kind) {
        causes.push(bad(
            &format!("{path}.type"),
            &Value::from(kind),
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for key in ["value", "averageValue"] {
        if let Some(v) = present(target, key) {
            positive(&format!("{path}.{key}"), v, causes);
        }
    }
    if let Some(u) = present(target, "averageUtilization")
        && u.as_i64().unwrap_or(0) < 1
    {
        causes.push(bad(
            &format!("{path}.averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
}

fn target_of(source: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    source.get("target").unwrap_or(&EMPTY)
}

fn resource_source(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    let name = str_at(source, "name");
    if name.is_empty() {
        causes.push(required(
            &format!("{path}.name"),
            "Required value: must specify a resource name",
        ));
    }
    let target = target_of(source);
    metric_target(&format!("{path}.target"), target, causes);
    let utilization = present(target, "averageUtilization").is_some();
    let average = present(target, "averageValue").is_some();
    if !utilization && !average {
        causes.push(required(
            &format!("{path}.target.averageUtilization"),
            "Required value: must set either a target raw value or a target utilization",
        ));
    }
    if utilization && average {
        causes.push(forbidden(
            &format!("{path}.target.averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
}

fn container_resource_source(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    resource_source(path, source, causes);
    if str_at(source, "container").is_empty() {
        causes.push(required(
            &format!("{path}.container"),
            "Required value: must specify a container",
        ));
    }
}

fn pods_source(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    metric_identifier(path, source, causes);
    let target = target_of(source);
    metric_target(&format!("{path}.target"), target, causes);
    if present(target, "averageValue").is_none() {
        causes.push(required(
            &format!("{path}.target.averageValue"),
            "Required value: must specify a positive target averageValue",
        ));
    }
}

fn object_source(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    let empty = Value::Null;
    cross_version_reference(
        &format!("{path}.describedObject"),
        source.get("describedObject").unwrap_or(&empty),
        causes,
    );
    metric_identifier(path, source, causes);
    let target = target_of(source);
    metric_target(&format!("{path}.target"), target, causes);
    if present(target, "value").is_none() && present(target, "averageValue").is_none() {
        causes.push(required(
            &format!("{path}.target.averageValue"),
            "Required value: must set either a target value or averageValue",
        ));
    }
}

fn external_source(path: &str, source: &Value, causes: &mut Vec<FieldCause>) {
    metric_identifier(path, source, causes);
    let target = target_of(source);
    metric_target(&format!("{path}.target"), target, causes);
    let value = present(target, "value").is_some();
    let average = present(target, "averageValue").is_some();
    if !value && !average {
        causes.push(required(
            &format!("{path}.target.averageValue"),
            "Required value: must set either a target value for metric or a per-pod target",
        ));
    }
    if value && average {
        causes.push(forbidden(
            &format!("{path}.target.value"),
            "may not set both a target value for metric and a per-pod target",
        ));
    }
}

fn scaling_rules(path: &str, rules: &Value, causes: &mut Vec<FieldCause>) {
    if let Some(window) = present(rules, "stabilizationWindowSeconds") {
        let seconds = window.as_i64().unwrap_or(-1);
        let field = format!("{path}.stabilizationWindowSeconds");
        if seconds < 0 {
            causes.push(bad(&field, window, "must be greater than or equal to zero"));
        }
        if seconds > MAX_STABILIZATION_WINDOW_SECONDS {
            causes.push(bad(
                &field,
                window,
                &format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(select) = present(rules, "selectPolicy")
        && !["Disabled", "Max", "Min"].contains(&select.as_str().unwrap_or(""))
    {
        causes.push(not_supported(
            &format!("{path}.selectPolicy"),
            select,
            &["Disabled", "Max", "Min"],
        ));
    }
    let policies = rules.get("policies").and_then(Value::as_array);
    if policies.is_none_or(Vec::is_empty) {
        causes.push(required(
            &format!("{path}.policies"),
            "Required value: must specify at least one Policy",
        ));
    }
    for (i, policy) in policies.into_iter().flatten().enumerate() {
        let at = format!("{path}.policies[{i}]");
        let kind = policy.get("type").cloned().unwrap_or(Value::from(""));
        if !["Pods", "Percent"].contains(&kind.as_str().unwrap_or("")) {
            causes.push(not_supported(
                &format!("{at}.type"),
                &kind,
                &["Percent", "Pods"],
            ));
        }
        let value = policy.get("value").cloned().unwrap_or(Value::from(0));
        if value.as_i64().unwrap_or(0) <= 0 {
            causes.push(bad(
                &format!("{at}.value"),
                &value,
                "must be greater than zero",
            ));
        }
        let period = policy
            .get("periodSeconds")
            .cloned()
            .unwrap_or(Value::from(0));
        let seconds = period.as_i64().unwrap_or(0);
        if seconds <= 0 {
            causes.push(bad(
                &format!("{at}.periodSeconds"),
                &period,
                "must be greater than zero",
            ));
        }
        if seconds > MAX_PERIOD_SECONDS {
            causes.push(bad(
                &format!("{at}.periodSeconds"),
                &period,
                &format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hpa(spec: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": spec})
    }

    fn causes(spec: Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        check(&hpa(spec), &mut out);
        out.into_iter().map(|c| (c.field, c.message)).collect()
    }

    fn valid() -> Value {
        json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}]})
    }

    #[test]
    fn a_valid_spec_passes() {
        assert!(causes(valid()).is_empty());
    }

    #[test]
    fn replica_bounds_as_kubernetes_words_them() {
        let mut spec = valid();
        spec["minReplicas"] = json!(3);
        spec["maxReplicas"] = json!(2);
        assert_eq!(
            causes(spec),
            [(
                "spec.maxReplicas".to_string(),
                "Invalid value: 2: must be greater than or equal to `minReplicas`".to_string()
            )]
        );
        let mut spec = valid();
        spec["minReplicas"] = json!(0);
        spec["maxReplicas"] = json!(0);
        assert_eq!(
            causes(spec),
            [
                (
                    "spec.minReplicas".to_string(),
                    "Invalid value: 0: must be greater than or equal to 1".to_string()
                ),
                (
                    "spec.maxReplicas".to_string(),
                    "Invalid value: 0: must be greater than 0".to_string()
                ),
            ]
        );
    }

    #[test]
    fn scale_target_reference_needs_kind_and_a_plain_name() {
        let mut spec = valid();
        spec["scaleTargetRef"] = json!({"name": "a/b"});
        assert_eq!(
            causes(spec),
            [
                (
                    "spec.scaleTargetRef.kind".to_string(),
                    "Required value".to_string()
                ),
                (
                    "spec.scaleTargetRef.name".to_string(),
                    "Invalid value: \"a/b\": may not contain '/'".to_string()
                ),
            ]
        );
    }

    #[test]
    fn metric_types_and_sources_must_agree() {
        let mut spec = valid();
        spec["metrics"] = json!([
            {"type": "Bogus"},
            {"type": "Pods", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 0, "averageValue": "1Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "-1"}}},
        ]);
        let got = causes(spec);
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.metrics[0].type",
                "spec.metrics[1].pods",
                "spec.metrics[2].resource.target.averageUtilization",
                "spec.metrics[2].resource.target.averageValue",
                "spec.metrics[3].pods.target.averageValue",
            ]
        );
        assert_eq!(
            got[0].1,
            "Unsupported value: \"Bogus\": supported values: \"ContainerResource\", \
             \"External\", \"Object\", \"Pods\", \"Resource\""
        );
        assert_eq!(
            got[1].1,
            "Required value: must populate information for the given metric source"
        );
        assert_eq!(got[4].1, "Invalid value: -1: must be positive");
    }

    #[test]
    fn behavior_limits() {
        let mut spec = valid();
        spec["behavior"] = json!({
            "scaleUp": {"stabilizationWindowSeconds": 3601, "selectPolicy": "Sometimes",
                "policies": [{"type": "Pods", "value": 0, "periodSeconds": 1801}]},
            "scaleDown": {"stabilizationWindowSeconds": -1, "policies": []},
        });
        assert_eq!(
            causes(spec),
            [
                (
                    "spec.behavior.scaleUp.stabilizationWindowSeconds".to_string(),
                    "Invalid value: 3601: must be less than or equal to 3600".to_string()
                ),
                (
                    "spec.behavior.scaleUp.selectPolicy".to_string(),
                    "Unsupported value: \"Sometimes\": supported values: \"Disabled\", \"Max\", \"Min\""
                        .to_string()
                ),
                (
                    "spec.behavior.scaleUp.policies[0].value".to_string(),
                    "Invalid value: 0: must be greater than zero".to_string()
                ),
                (
                    "spec.behavior.scaleUp.policies[0].periodSeconds".to_string(),
                    "Invalid value: 1801: must be less than or equal to 1800".to_string()
                ),
                (
                    "spec.behavior.scaleDown.stabilizationWindowSeconds".to_string(),
                    "Invalid value: -1: must be greater than or equal to zero".to_string()
                ),
                (
                    "spec.behavior.scaleDown.policies".to_string(),
                    "Required value: must specify at least one Policy".to_string()
                ),
            ]
        );
    }
}
