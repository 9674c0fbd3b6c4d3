//! The pod `binding` subresource the scheduler uses (`POST .../pods/{name}/binding`):
//! [`bind`] sets the pod's `spec.nodeName` from the `Binding` and its `PodScheduled`
//! condition, and refuses a pod already bound elsewhere.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::path::ResourcePath;
use serde_json::{Value, json};

/// Binds a pod to the node a `Binding` names; 409 if it is already bound elsewhere.
pub fn bind(path: &ResourcePath, pod: &Value, binding: &Value) -> ApiResult<Value> {
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("a Binding needs target.name"))?;
    let name = path.require_name()?;
    match pod.pointer("/spec/nodeName").and_then(Value::as_str) {
        Some(current) if !current.is_empty() => Err(ApiError::conflict(
            "pods/binding",
            name,
            &format!("pod {name} is already assigned to node \"{current}\""),
        )),
        _ => {
            let mut next = pod.clone();
            next["spec"]["nodeName"] = json!(node);
            set_condition(
                &mut next,
                json!({"type": "PodScheduled", "status": "True",
                       "lastProbeTime": null, "lastTransitionTime": skiff_model::time::now_rfc3339()}),
            );
            if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
            Ok(next)
        }
    }
}

/// Puts `condition` in the pod's `status.conditions`, replacing one of the same type.
fn set_condition(pod: &mut Value, condition: Value) {
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let status = &mut pod["status"];
    if !status.get("conditions").is_some_and(Value::is_array) {
        status["conditions"] = json!([]);
    }
    let conditions = status["conditions"].as_array_mut().expect("an array");
    conditions.retain(|c| c.get("type") != condition.get("type"));
    conditions.push(condition);
}
