//! Finds fields of a request body that its Kubernetes type does not have, by comparing
//! the body with its typed round trip: a key present (and not null) in the body but gone
//! after the round trip is unknown. Paths are written as Kubernetes writes them
//! (`spec.containers[0].imagee`).

use serde_json::Value;

/// Paths of the fields in `input` that are absent from `typed`.
pub fn unknown_fields(input: &Value, typed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, typed, String::new(), &mut out);
    out.sort();
    out
}

fn walk(input: &Value, typed: &Value, path: String, out: &mut Vec<String>) {
    match (input, typed) {
        (Value::Object(input), Value::Object(typed)) => {
            for (key, value) in input {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match typed.get(key) {
                    Some(typed_value) => walk(value, typed_value, child, out),
                    None if value.is_null() => {}
                    None => out.push(child),
                }
            }
        }
        (Value::Array(input), Value::Array(typed)) => {
            for (i, (value, typed_value)) in input.iter().zip(typed).enumerate() {
                walk(value, typed_value, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_unknown_fields() {
        let input = json!({"spec": {"containers": [{"name": "a", "imagee": "x"}], "foo": 1},
                           "metadata": {"name": "p", "labelz": {}}, "gone": null});
        let typed = json!({"spec": {"containers": [{"name": "a"}]}, "metadata": {"name": "p"}});
        assert_eq!(
            unknown_fields(&input, &typed),
            vec!["metadata.labelz", "spec.containers[0].imagee", "spec.foo"]
        );
    }
}
