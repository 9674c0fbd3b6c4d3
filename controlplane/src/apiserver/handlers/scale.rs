//! The `scale` subresource: the `autoscaling/v1 Scale` view of a Deployment's or
//! ReplicaSet's `spec.replicas` ([`scale_of`]), and a desired `Scale` written back
//! ([`apply_scale`]).

use crate::apiserver::error::{ApiError, ApiResult};
use serde_json::{Value, json};

/// The `Scale` view of a scalable object.
pub fn scale_of(object: &Value) -> Value {
    let meta = object.get("metadata").cloned().unwrap_or(json!({}));
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// Applies a desired `Scale` to the object: its `spec.replicas`, and its
/// `resourceVersion` as a precondition when the client gave one.
pub fn apply_scale(object: &Value, scale: &Value) -> ApiResult<Value> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("spec.replicas is required in a Scale"))?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            "Scale",
            object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
            vec![skiff_model::field::FieldCause {
                kind: "FieldValueInvalid",
                field: "spec.replicas".into(),
                message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
            }],
        ));
    }
    let mut next = object.clone();
    next["spec"]["replicas"] = json!(replicas);
    match scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        Some(rv) if !rv.is_empty() => next["metadata"]["resourceVersion"] = json!(rv),
        _ => {
            if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
        }
    }
    Ok(next)
}
