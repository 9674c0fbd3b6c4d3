//! `autoscaling/v1` ⇄ `autoscaling/v2` HorizontalPodAutoscaler, as Kubernetes'
//! `pkg/apis/autoscaling/v1/conversion.go` converts them.
//!
//! v1 has one metric, `targetCPUUtilizationPercentage` (and its status
//! `currentCPUUtilizationPercentage`). Everything else v2 holds travels in annotations so
//! that a v1 client's read-modify-write keeps it: the other metrics
//! ([`METRICS_ANNOTATION`]), every current metric ([`CURRENT_METRICS_ANNOTATION`]), the
//! conditions ([`CONDITIONS_ANNOTATION`]) and `behavior` ([`BEHAVIOR_ANNOTATION`]).
//! Writing v1 takes them back out of the annotations (an annotation that does not parse is
//! ignored, as upstream); they are never stored as annotations.

use super::hpa_metrics::{spec_from_v1, spec_to_v1, status_from_v1, status_to_v1};
use serde_json::{Map, Value, json};

/// v2 metrics other than a CPU utilization target, in v1's form.
pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// Every v2 current metric, in v1's form.
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// The v2 conditions.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// The v2 `spec.behavior`.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";

const ROUND_TRIP: [&str; 4] = [
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
];

/// The CPU utilization a v1 HPA without a target aims for (`autoscaling.DefaultCPUUtilization`).
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

fn is_cpu_resource(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
}

/// The object's annotations without the round-trip ones.
fn annotations_without_round_trip(object: &Value) -> Map<String, Value> {
    let mut annotations = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in ROUND_TRIP {
        annotations.remove(key);
    }
    annotations
}

fn set_annotations(object: &mut Value, annotations: Map<String, Value>) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if annotations.is_empty() {
        meta.remove("annotations");
    } else {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A stored v2 object as v1 shows it.
pub fn v2_to_v1(v2: Value) -> Value {
    let spec = v2.get("spec").cloned().unwrap_or(json!({}));
    let metrics = list(spec.get("metrics"));
    let mut out_spec = Map::new();
    for key in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(v) = spec.get(key) {
            out_spec.insert(key.into(), v.clone());
        }
    }
    // The first CPU resource metric decides, whatever its target type.
    if let Some(cpu) = metrics.iter().find(|m| is_cpu_resource(m))
        && let Some(target) = cpu.pointer("/resource/target/averageUtilization")
    {
        out_spec.insert("targetCPUUtilizationPercentage".into(), target.clone());
    }
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| {
            !(is_cpu_resource(m) && m.pointer("/resource/target/averageUtilization").is_some())
        })
        .map(spec_to_v1)
        .collect();

    let mut annotations = annotations_without_round_trip(&v2);
    if !others.is_empty() {
        annotations.insert(
            METRICS_ANNOTATION.into(),
            json!(Value::Array(others).to_string()),
        );
    }
    if let Some(behavior) = spec.get("behavior").filter(|b| !b.is_null()) {
        annotations.insert(BEHAVIOR_ANNOTATION.into(), json!(behavior.to_string()));
    }

    let mut out = json!({
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": v2.get("metadata").cloned().unwrap_or(json!({})),
        "spec": out_spec,
    });
    if let Some(status) = v2.get("status").filter(|s| s.is_object()) {
        let current = list(status.get("currentMetrics"));
        let conditions = list(status.get("conditions"));
        let mut out_status = Map::new();
        for key in ["observedGeneration", "lastScaleTime"] {
            if let Some(v) = status.get(key).filter(|v| !v.is_null()) {
                out_status.insert(key.into(), v.clone());
            }
        }
        for key in ["currentReplicas", "desiredReplicas"] {
            out_status.insert(key.into(), status.get(key).cloned().unwrap_or(json!(0)));
        }
        for metric in current.iter().filter(|m| is_cpu_resource(m)) {
            if let Some(u) = metric.pointer("/resource/current/averageUtilization") {
                out_status.insert("currentCPUUtilizationPercentage".into(), u.clone());
            }
        }
        if !current.is_empty() {
            let v1: Vec<Value> = current.iter().map(status_to_v1).collect();
            annotations.insert(
                CURRENT_METRICS_ANNOTATION.into(),
                json!(Value::Array(v1).to_string()),
            );
        }
        if !conditions.is_empty() {
            annotations.insert(
                CONDITIONS_ANNOTATION.into(),
                json!(Value::Array(conditions.to_vec()).to_string()),
            );
        }
        out["status"] = Value::Object(out_status);
    }
    set_annotations(&mut out, annotations);
    out
}

/// Parses a round-trip annotation holding a JSON list; `None` when absent or unparsable.
fn annotation_list(object: &Value, key: &str) -> Option<Vec<Value>> {
    let text = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Some(items),
        _ => None,
    }
}

/// A v1 object as v2 stores it.
pub fn v1_to_v2(v1: Value) -> Value {
    let spec = v1.get("spec").cloned().unwrap_or(json!({}));
    let mut out_spec = Map::new();
    for key in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(v) = spec.get(key) {
            out_spec.insert(key.into(), v.clone());
        }
    }
    let cpu = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|v| !v.is_null())
        .map(|target| {
            json!({"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": target}}})
        });
    let mut metrics: Vec<Value> = match annotation_list(&v1, METRICS_ANNOTATION) {
        Some(others) => others.iter().map(spec_from_v1).collect(),
        None => Vec::new(),
    };
    metrics.extend(cpu);
    if metrics.is_empty() {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}));
    }
    out_spec.insert("metrics".into(), Value::Array(metrics));
    if let Some(text) = v1
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(BEHAVIOR_ANNOTATION))
        .and_then(Value::as_str)
        && let Ok(behavior @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        && behavior.as_object().is_some_and(|b| !b.is_empty())
    {
        out_spec.insert("behavior".into(), behavior);
    }

    let mut out = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": v1.get("metadata").cloned().unwrap_or(json!({})),
        "spec": out_spec,
    });
    if let Some(status) = v1.get("status").filter(|s| s.is_object()) {
        let mut out_status = Map::new();
        for key in [
            "observedGeneration",
            "lastScaleTime",
            "currentReplicas",
            "desiredReplicas",
        ] {
            if let Some(v) = status.get(key).filter(|v| !v.is_null()) {
                out_status.insert(key.into(), v.clone());
            }
        }
        let current = match annotation_list(&v1, CURRENT_METRICS_ANNOTATION) {
            Some(current) => current.iter().map(status_from_v1).collect(),
            None => status
                .get("currentCPUUtilizationPercentage")
                .filter(|v| !v.is_null())
                .map(|u| {
                    vec![json!({"type": "Resource", "resource": {"name": "cpu",
                        "current": {"averageUtilization": u}}})]
                })
                .unwrap_or_default(),
        };
        if !current.is_empty() {
            out_status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(conditions) = annotation_list(&v1, CONDITIONS_ANNOTATION) {
            out_status.insert("conditions".into(), Value::Array(conditions));
        }
        out["status"] = Value::Object(out_status);
    }
    let annotations = annotations_without_round_trip(&v1);
    set_annotations(&mut out, annotations);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_full() -> Value {
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50}}},
                    {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                        "target": {"type": "AverageValue", "averageValue": "10"}}},
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5,
                    "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}},
            },
            "status": {
                "observedGeneration": 2, "currentReplicas": 3, "desiredReplicas": 4,
                "lastScaleTime": "2026-01-01T00:00:00Z",
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu",
                        "current": {"averageUtilization": 75, "averageValue": "150m"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                        "current": {"averageValue": "12"}}},
                ],
                "conditions": [{"type": "AbleToScale", "status": "True",
                    "reason": "SucceededRescale", "message": "m",
                    "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            },
        })
    }

    #[test]
    fn v2_reads_as_v1_with_the_rest_in_annotations() {
        let v1 = v2_to_v1(v2_full());
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
        assert!(v1["spec"].get("metrics").is_none());
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 75);
        assert_eq!(v1["status"]["currentReplicas"], 3);
        let annotations = &v1["metadata"]["annotations"];
        assert_eq!(annotations["team"], "a");
        let others: Value =
            serde_json::from_str(annotations[METRICS_ANNOTATION].as_str().expect("metrics"))
                .expect("json");
        assert_eq!(
            others,
            json!([{"type": "Pods", "pods": {"metricName": "requests_per_second",
                "targetAverageValue": "10"}}])
        );
        assert!(annotations[CONDITIONS_ANNOTATION].is_string());
        assert!(annotations[BEHAVIOR_ANNOTATION].is_string());
        assert!(annotations[CURRENT_METRICS_ANNOTATION].is_string());
    }

    #[test]
    fn v2_survives_a_round_trip_through_v1() {
        let original = v2_full();
        let back = v1_to_v2(v2_to_v1(original.clone()));
        // v1 puts the CPU metric last, after the annotation's metrics.
        let mut expected = original;
        let metrics = expected["spec"]["metrics"].as_array_mut().expect("metrics");
        metrics.rotate_left(1);
        assert_eq!(back, expected);
    }

    #[test]
    fn a_bare_v1_object_gets_the_default_cpu_target_and_no_annotations() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
        let v2 = v1_to_v2(v1);
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert!(v2["metadata"].get("annotations").is_none());
        assert!(v2.get("status").is_none());
        let with_target = json!({"metadata": {"name": "web",
                "annotations": {METRICS_ANNOTATION: "not json"}},
            "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
            "status": {"currentReplicas": 1, "desiredReplicas": 1,
                "currentCPUUtilizationPercentage": 20}});
        let v2 = v1_to_v2(with_target);
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            50
        );
        assert_eq!(
            v2["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            20
        );
        assert!(v2["metadata"].get("annotations").is_none());
    }
}
