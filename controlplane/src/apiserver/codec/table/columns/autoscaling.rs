//! The columns of HorizontalPodAutoscalers, as kubectl 1.33's printer shows them:
//! `NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE`, TARGETS being each metric's
//! current value over its target (`cpu: 42%/50%`, `10/20 (avg)`), the first two of them
//! and `+ N more...`, `<unknown>` for a metric with no current value yet. Printed from the
//! stored (`autoscaling/v2`) object whatever version was asked for, as Kubernetes prints
//! from its internal version.

use super::cell::{Column, age, int, text_str};
use serde_json::{Value, json};

/// How many metrics TARGETS shows before `+ N more...` (kubectl's printer).
const SHOWN: usize = 2;

/// The columns after NAME.
pub(super) fn columns() -> Vec<Column> {
    let column = |name, kind, cell| Column {
        name,
        kind,
        priority: 0,
        cell,
    };
    vec![
        column("Reference", "string", |o| {
            json!(format!(
                "{}/{}",
                text_str(o, "/spec/scaleTargetRef/kind"),
                text_str(o, "/spec/scaleTargetRef/name")
            ))
        }),
        column("Targets", "string", targets),
        column("MinPods", "string", |o| {
            match o.pointer("/spec/minReplicas").and_then(Value::as_i64) {
                Some(n) => json!(n.to_string()),
                None => json!("<unset>"),
            }
        }),
        column("MaxPods", "integer", |o| int(o, "/spec/maxReplicas")),
        column("Replicas", "integer", |o| int(o, "/status/currentReplicas")),
        column("Age", "string", age),
    ]
}

/// A quantity or number as its text.
fn quantity(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn percent(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_i64).map(|p| format!("{p}%"))
}

const UNKNOWN: &str = "<unknown>";

/// The TARGETS cell.
pub(super) fn targets(o: &Value) -> Value {
    let specs = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if specs.is_empty() {
        return json!("<none>");
    }
    let statuses = o
        .pointer("/status/currentMetrics")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| target(spec, statuses.get(i)))
        .collect();
    let count = list.len();
    if count > SHOWN {
        list.truncate(SHOWN);
        return json!(format!("{} + {} more...", list.join(", "), count - SHOWN));
    }
    json!(list.join(", "))
}

/// One metric: `current/target`, as the printer words each source type.
fn target(spec: &Value, status: Option<&Value>) -> String {
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or("");
    let source = |key: &str| -> (&Value, Option<&Value>) {
        (
            spec.get(key).unwrap_or(&Value::Null),
            status.and_then(|s| s.get(key)).filter(|v| v.is_object()),
        )
    };
    let text = |v: Option<String>| v.unwrap_or_else(|| UNKNOWN.to_string());
    match kind {
        "External" | "Object" => {
            let (spec, status) = source(if kind == "External" {
                "external"
            } else {
                "object"
            });
            match spec
                .pointer("/target/averageValue")
                .filter(|v| !v.is_null())
            {
                Some(target) => format!(
                    "{}/{} (avg)",
                    text(status.and_then(|s| quantity(s.pointer("/current/averageValue")))),
                    quantity(Some(target)).unwrap_or_default()
                ),
                None => format!(
                    "{}/{}",
                    text(status.and_then(|s| quantity(s.pointer("/current/value")))),
                    quantity(spec.pointer("/target/value")).unwrap_or_default()
                ),
            }
        }
        "Pods" => {
            let (spec, status) = source("pods");
            format!(
                "{}/{}",
                text(status.and_then(|s| quantity(s.pointer("/current/averageValue")))),
                quantity(spec.pointer("/target/averageValue")).unwrap_or_default()
            )
        }
        "Resource" | "ContainerResource" => {
            let (spec, status) = source(if kind == "Resource" {
                "resource"
            } else {
                "containerResource"
            });
            let name = text_str(spec, "/name");
            match spec
                .pointer("/target/averageValue")
                .filter(|v| !v.is_null())
            {
                Some(target) => format!(
                    "{name}: {}/{}",
                    text(status.and_then(|s| quantity(s.pointer("/current/averageValue")))),
                    quantity(Some(target)).unwrap_or_default()
                ),
                None => format!(
                    "{name}: {}/{}",
                    text(status.and_then(|s| percent(s.pointer("/current/averageUtilization")))),
                    percent(spec.pointer("/target/averageUtilization"))
                        .unwrap_or_else(|| "<auto>".to_string())
                ),
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(target: i64) -> Value {
        json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}})
    }

    #[test]
    fn targets_show_current_over_target_and_unknown_until_measured() {
        let mut hpa = json!({"spec": {"metrics": [cpu(50)]}});
        assert_eq!(targets(&hpa), json!("cpu: <unknown>/50%"));
        hpa["status"] = json!({"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": 42, "averageValue": "42m"}}}]});
        assert_eq!(targets(&hpa), json!("cpu: 42%/50%"));
    }

    #[test]
    fn every_source_type_and_the_more_suffix() {
        let hpa = json!({
            "spec": {"metrics": [
                {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                    "target": {"type": "AverageValue", "averageValue": "10"}}},
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "64Mi"}}},
                {"type": "External", "external": {"metric": {"name": "q"},
                    "target": {"type": "AverageValue", "averageValue": "3"}}},
            ]},
            "status": {"currentMetrics": [
                {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                    "current": {"averageValue": "12500m"}}},
                {"type": ""},
            ]},
        });
        assert_eq!(
            targets(&hpa),
            json!("12500m/10, memory: <unknown>/64Mi + 1 more...")
        );
        let external = json!({"spec": {"metrics": [
            {"type": "External", "external": {"metric": {"name": "q"},
                "target": {"type": "AverageValue", "averageValue": "3"}}},
            {"type": "Object", "object": {"metric": {"name": "hits"},
                "target": {"type": "Value", "value": "2k"}}},
        ]}});
        assert_eq!(targets(&external), json!("<unknown>/3 (avg), <unknown>/2k"));
        assert_eq!(targets(&json!({"spec": {}})), json!("<none>"));
    }
}
