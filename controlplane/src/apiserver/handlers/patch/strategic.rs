//! Strategic merge patch, as Kubernetes' `strategicpatch` package applies it for the
//! built-in types: maps merge recursively, `null` deletes, lists of objects with a merge
//! key (containers by `name`, container ports by `containerPort`, volume mounts by
//! `mountPath`, conditions by `type`...) merge element by element, `finalizers` merge as a
//! set, every other list is replaced. Directives: `$patch: replace|delete|merge`,
//! `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Merges `patch` into `original`.
pub fn merge(original: &Value, patch: &Value) -> Value {
    match (original, patch) {
        (Value::Object(original), Value::Object(patch)) => {
            Value::Object(merge_maps(original, patch))
        }
        (_, patch) => strip_directives(patch),
    }
}

fn merge_maps(original: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            return strip_directives(&Value::Object(patch.clone()))
                .as_object()
                .cloned()
                .unwrap_or_default();
        }
        Some("delete") => return Map::new(),
        _ => {}
    }
    let mut out = original.clone();
    if let Some(keep) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            if let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST)
                && let (Some(Value::Array(items)), Some(remove)) =
                    (out.get_mut(list), value.as_array())
            {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if value.is_null() {
            out.remove(key);
            continue;
        }
        let merged = match (out.get(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => Value::Object(merge_maps(o, p)),
            (Some(Value::Array(o)), Value::Array(p)) => merge_lists(key, o, p),
            (_, Value::Object(p)) if p.get("$patch").and_then(Value::as_str) == Some("delete") => {
                out.remove(key);
                continue;
            }
            (_, v) => strip_directives(v),
        };
        out.insert(key.clone(), merged);
    }
    for (key, order) in patch {
        if let (Some(list), Some(order)) = (key.strip_prefix(SET_ELEMENT_ORDER), order.as_array())
            && let Some(Value::Array(items)) = out.get_mut(list)
        {
            reorder(list, items, order);
        }
    }
    out
}

/// The merge key of a list field, judged by its name and elements.
fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" => match sample {
            Some(p) if p.get("containerPort").is_some() => Some("containerPort"),
            _ => Some("port"),
        },
        _ => None,
    }
}

fn merge_lists(field: &str, original: &[Value], patch: &[Value]) -> Value {
    if field == "finalizers" {
        let mut out = original.to_vec();
        for item in patch {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        return Value::Array(out);
    }
    let Some(key) = merge_key(field, patch.first().or(original.first())) else {
        return Value::Array(patch.iter().map(strip_directives).collect());
    };
    if patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(
            patch
                .iter()
                .filter(|p| p.get("$patch").is_none())
                .map(strip_directives)
                .collect(),
        );
    }
    let mut out: Vec<Value> = original.to_vec();
    for item in patch {
        let id = item.get(key);
        let position = id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => out[i] = merge(&out[i], item),
            (None, false) => out.push(strip_directives(item)),
        }
    }
    Value::Array(out)
}

/// Orders `items` as `order` lists them (by merge key); items not listed keep their
/// relative order after those that are.
fn reorder(field: &str, items: &mut [Value], order: &[Value]) {
    let Some(key) = merge_key(field, items.first()) else {
        return;
    };
    let rank = |item: &Value| {
        order
            .iter()
            .position(|o| o.get(key).is_some() && o.get(key) == item.get(key))
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(rank);
}

fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_in_set_order() {
        let original = json!({"spec": {"containers": [
            {"name": "c", "image": "a:1", "env": [{"name": "X", "value": "1"}]}]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "c"}],
            "containers": [{"name": "c", "image": "a:2"}, {"name": "sidecar", "image": "s"}]}});
        let out = merge(&original, &patch);
        assert_eq!(out["spec"]["containers"][0]["name"], "sidecar");
        assert_eq!(out["spec"]["containers"][1]["image"], "a:2");
        assert_eq!(out["spec"]["containers"][1]["env"][0]["value"], "1");
    }

    #[test]
    fn directives_delete_and_replace() {
        let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c"}, {"name": "d"}], "args": ["1", "2"]}});
        let patch = json!({"metadata": {"labels": {"a": null}, "finalizers": ["y"]},
            "spec": {"containers": [{"name": "d", "$patch": "delete"}], "args": ["3"]}});
        let out = merge(&original, &patch);
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(out["spec"]["containers"], json!([{"name": "c"}]));
        assert_eq!(out["spec"]["args"], json!(["3"]));
        let replaced = merge(
            &original,
            &json!({"spec": {"$patch": "replace", "args": []}}),
        );
        assert_eq!(replaced["spec"], json!({"args": []}));
    }
}
