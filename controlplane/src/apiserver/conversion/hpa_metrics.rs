//! The metric shapes of `autoscaling/v1`'s round-trip annotations and their `autoscaling/v2`
//! counterparts: v1 keeps metrics in the older flat form (`targetAverageUtilization`,
//! `metricName`, `currentAverageValue`), v2 in `metric`/`target`/`current` objects
//! (Kubernetes' `Convert_v1_MetricSpec_To_autoscaling_MetricSpec` and kin).
//!
//! Parts: [`spec_to_v1`] and [`spec_from_v1`] (a `MetricSpec`), [`status_to_v1`] and
//! [`status_from_v1`] (a `MetricStatus`).

use serde_json::{Map, Value, json};

/// Copies `from[key]` into `to[as_key]` when present and not null.
fn copy(from: &Value, key: &str, to: &mut Map<String, Value>, as_key: &str) {
    if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
        to.insert(as_key.to_string(), v.clone());
    }
}

fn has(value: &Value, key: &str) -> bool {
    value.get(key).is_some_and(|v| !v.is_null())
}

/// A v2 `MetricSpec` in v1's annotation form.
pub fn spec_to_v1(metric: &Value) -> Value {
    let mut out = Map::new();
    copy(metric, "type", &mut out, "type");
    let empty = json!({});
    if let Some(source) = metric.get("resource").filter(|v| v.is_object()) {
        out.insert("resource".into(), resource_spec_to_v1(source));
    }
    if let Some(source) = metric.get("containerResource").filter(|v| v.is_object()) {
        let mut r = resource_spec_to_v1(source);
        copy(
            source,
            "container",
            r.as_object_mut().expect("object"),
            "container",
        );
        out.insert("containerResource".into(), r);
    }
    if let Some(source) = metric.get("pods").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let t = source.get("target").unwrap_or(&empty);
        let mut p = Map::new();
        copy(m, "name", &mut p, "metricName");
        copy(m, "selector", &mut p, "selector");
        copy(t, "averageValue", &mut p, "targetAverageValue");
        out.insert("pods".into(), Value::Object(p));
    }
    if let Some(source) = metric.get("object").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let t = source.get("target").unwrap_or(&empty);
        let mut o = Map::new();
        copy(source, "describedObject", &mut o, "target");
        copy(m, "name", &mut o, "metricName");
        copy(m, "selector", &mut o, "selector");
        copy(t, "value", &mut o, "targetValue");
        copy(t, "averageValue", &mut o, "averageValue");
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("external").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let t = source.get("target").unwrap_or(&empty);
        let mut e = Map::new();
        copy(m, "name", &mut e, "metricName");
        copy(m, "selector", &mut e, "metricSelector");
        copy(t, "value", &mut e, "targetValue");
        copy(t, "averageValue", &mut e, "targetAverageValue");
        out.insert("external".into(), Value::Object(e));
    }
    Value::Object(out)
}

fn resource_spec_to_v1(source: &Value) -> Value {
    let empty = json!({});
    let t = source.get("target").unwrap_or(&empty);
    let mut r = Map::new();
    copy(source, "name", &mut r, "name");
    copy(t, "averageUtilization", &mut r, "targetAverageUtilization");
    copy(t, "averageValue", &mut r, "targetAverageValue");
    Value::Object(r)
}

/// A v1 annotation `MetricSpec` in v2's form.
pub fn spec_from_v1(metric: &Value) -> Value {
    let mut out = Map::new();
    copy(metric, "type", &mut out, "type");
    if let Some(source) = metric.get("resource").filter(|v| v.is_object()) {
        out.insert("resource".into(), resource_spec_from_v1(source));
    }
    if let Some(source) = metric.get("containerResource").filter(|v| v.is_object()) {
        let mut r = resource_spec_from_v1(source);
        copy(
            source,
            "container",
            r.as_object_mut().expect("object"),
            "container",
        );
        out.insert("containerResource".into(), r);
    }
    if let Some(source) = metric.get("pods").filter(|v| v.is_object()) {
        let mut target = Map::new();
        target.insert("type".into(), json!("AverageValue"));
        copy(source, "targetAverageValue", &mut target, "averageValue");
        out.insert(
            "pods".into(),
            json!({"metric": identifier(source, "selector"), "target": target}),
        );
    }
    if let Some(source) = metric.get("object").filter(|v| v.is_object()) {
        let mut target = Map::new();
        let average = has(source, "averageValue");
        target.insert(
            "type".into(),
            json!(if average { "AverageValue" } else { "Value" }),
        );
        copy(source, "targetValue", &mut target, "value");
        copy(source, "averageValue", &mut target, "averageValue");
        let mut o = Map::new();
        copy(source, "target", &mut o, "describedObject");
        o.insert("metric".into(), identifier(source, "selector"));
        o.insert("target".into(), Value::Object(target));
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("external").filter(|v| v.is_object()) {
        let mut target = Map::new();
        let average = has(source, "targetAverageValue");
        target.insert(
            "type".into(),
            json!(if average { "AverageValue" } else { "Value" }),
        );
        copy(source, "targetValue", &mut target, "value");
        copy(source, "targetAverageValue", &mut target, "averageValue");
        out.insert(
            "external".into(),
            json!({"metric": identifier(source, "metricSelector"), "target": target}),
        );
    }
    Value::Object(out)
}

fn resource_spec_from_v1(source: &Value) -> Value {
    let mut target = Map::new();
    let utilization = has(source, "targetAverageUtilization");
    target.insert(
        "type".into(),
        json!(if utilization {
            "Utilization"
        } else {
            "AverageValue"
        }),
    );
    copy(
        source,
        "targetAverageUtilization",
        &mut target,
        "averageUtilization",
    );
    copy(source, "targetAverageValue", &mut target, "averageValue");
    let mut r = Map::new();
    copy(source, "name", &mut r, "name");
    r.insert("target".into(), Value::Object(target));
    Value::Object(r)
}

/// A v2 `MetricIdentifier` from v1's `metricName` and the selector under `selector_key`.
fn identifier(source: &Value, selector_key: &str) -> Value {
    let mut m = Map::new();
    copy(source, "metricName", &mut m, "name");
    copy(source, selector_key, &mut m, "selector");
    Value::Object(m)
}

/// A v2 `MetricStatus` in v1's annotation form.
pub fn status_to_v1(metric: &Value) -> Value {
    let empty = json!({});
    let mut out = Map::new();
    copy(metric, "type", &mut out, "type");
    if let Some(source) = metric.get("resource").filter(|v| v.is_object()) {
        out.insert("resource".into(), resource_status_to_v1(source));
    }
    if let Some(source) = metric.get("containerResource").filter(|v| v.is_object()) {
        let mut r = resource_status_to_v1(source);
        copy(
            source,
            "container",
            r.as_object_mut().expect("object"),
            "container",
        );
        out.insert("containerResource".into(), r);
    }
    if let Some(source) = metric.get("pods").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let c = source.get("current").unwrap_or(&empty);
        let mut p = Map::new();
        copy(m, "name", &mut p, "metricName");
        copy(m, "selector", &mut p, "selector");
        copy(c, "averageValue", &mut p, "currentAverageValue");
        out.insert("pods".into(), Value::Object(p));
    }
    if let Some(source) = metric.get("object").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let c = source.get("current").unwrap_or(&empty);
        let mut o = Map::new();
        copy(source, "describedObject", &mut o, "target");
        copy(m, "name", &mut o, "metricName");
        copy(m, "selector", &mut o, "selector");
        copy(c, "value", &mut o, "currentValue");
        copy(c, "averageValue", &mut o, "averageValue");
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("external").filter(|v| v.is_object()) {
        let m = source.get("metric").unwrap_or(&empty);
        let c = source.get("current").unwrap_or(&empty);
        let mut e = Map::new();
        copy(m, "name", &mut e, "metricName");
        copy(m, "selector", &mut e, "metricSelector");
        copy(c, "value", &mut e, "currentValue");
        copy(c, "averageValue", &mut e, "currentAverageValue");
        out.insert("external".into(), Value::Object(e));
    }
    Value::Object(out)
}

fn resource_status_to_v1(source: &Value) -> Value {
    let empty = json!({});
    let c = source.get("current").unwrap_or(&empty);
    let mut r = Map::new();
    copy(source, "name", &mut r, "name");
    copy(c, "averageUtilization", &mut r, "currentAverageUtilization");
    copy(c, "averageValue", &mut r, "currentAverageValue");
    Value::Object(r)
}

/// A v1 annotation `MetricStatus` in v2's form.
pub fn status_from_v1(metric: &Value) -> Value {
    let mut out = Map::new();
    copy(metric, "type", &mut out, "type");
    if let Some(source) = metric.get("resource").filter(|v| v.is_object()) {
        out.insert("resource".into(), resource_status_from_v1(source));
    }
    if let Some(source) = metric.get("containerResource").filter(|v| v.is_object()) {
        let mut r = resource_status_from_v1(source);
        copy(
            source,
            "container",
            r.as_object_mut().expect("object"),
            "container",
        );
        out.insert("containerResource".into(), r);
    }
    if let Some(source) = metric.get("pods").filter(|v| v.is_object()) {
        let mut current = Map::new();
        copy(source, "currentAverageValue", &mut current, "averageValue");
        out.insert(
            "pods".into(),
            json!({"metric": identifier(source, "selector"), "current": current}),
        );
    }
    if let Some(source) = metric.get("object").filter(|v| v.is_object()) {
        let mut current = Map::new();
        copy(source, "currentValue", &mut current, "value");
        copy(source, "averageValue", &mut current, "averageValue");
        let mut o = Map::new();
        copy(source, "target", &mut o, "describedObject");
        o.insert("metric".into(), identifier(source, "selector"));
        o.insert("current".into(), Value::Object(current));
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("external").filter(|v| v.is_object()) {
        let mut current = Map::new();
        copy(source, "currentValue", &mut current, "value");
        copy(source, "currentAverageValue", &mut current, "averageValue");
        out.insert(
            "external".into(),
            json!({"metric": identifier(source, "metricSelector"), "current": current}),
        );
    }
    Value::Object(out)
}

fn resource_status_from_v1(source: &Value) -> Value {
    let mut current = Map::new();
    copy(
        source,
        "currentAverageUtilization",
        &mut current,
        "averageUtilization",
    );
    copy(source, "currentAverageValue", &mut current, "averageValue");
    let mut r = Map::new();
    copy(source, "name", &mut r, "name");
    r.insert("current".into(), Value::Object(current));
    Value::Object(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_source_round_trips() {
        let specs = json!([
            {"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
            {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                "target": {"type": "Utilization", "averageUtilization": 60}}},
            {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Object", "object": {
                "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "web"},
                "metric": {"name": "hits", "selector": {"matchLabels": {"a": "b"}}},
                "target": {"type": "Value", "value": "2k"}}},
            {"type": "External", "external": {"metric": {"name": "queue"},
                "target": {"type": "AverageValue", "averageValue": "30"}}},
        ]);
        for spec in specs.as_array().expect("array") {
            assert_eq!(&spec_from_v1(&spec_to_v1(spec)), spec);
        }
        assert_eq!(
            spec_to_v1(&specs[2]),
            json!({"type": "Pods", "pods": {"metricName": "requests_per_second",
                "targetAverageValue": "10"}})
        );
        let statuses = json!([
            {"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": 42, "averageValue": "210m"}}},
            {"type": "Pods", "pods": {"metric": {"name": "requests_in_flight"},
                "current": {"averageValue": "3"}}},
            {"type": "External", "external": {"metric": {"name": "queue"},
                "current": {"value": "7"}}},
        ]);
        for status in statuses.as_array().expect("array") {
            assert_eq!(&status_from_v1(&status_to_v1(status)), status);
        }
        assert_eq!(
            status_to_v1(&statuses[0]),
            json!({"type": "Resource", "resource": {"name": "cpu",
                "currentAverageUtilization": 42, "currentAverageValue": "210m"}})
        );
    }
}
