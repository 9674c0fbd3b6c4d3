//! The field set of an applied configuration — what its manager owns once it applies it —
//! as structured-merge-diff's `ToFieldSet` builds it: every scalar, atomic map and atomic
//! list; every associative-list and set item (`".": {}` when its fields are listed too);
//! every map field given as `{}` or `null`. Maps themselves are not members, so owning
//! `.metadata.labels.app` does not own `.metadata.labels`.
//!
//! Building the set also checks the configuration's associative lists: each item must carry
//! its key fields and no two items may share a key.

use super::path::{PathElement, display};
use super::schema::{self, Shape};
use super::set::FieldSet;
use serde_json::Value;

/// The field set of `config`, or why its lists cannot be keyed.
pub(crate) fn owned_by(config: &Value) -> Result<FieldSet, String> {
    let mut walk = Walk::default();
    walk.value(config, false)?;
    walk.set
        .remove(&[PathElement::Field("metadata".to_string())]);
    Ok(walk.set)
}

#[derive(Default)]
struct Walk<'a> {
    ctx: Vec<&'a str>,
    path: Vec<PathElement>,
    set: FieldSet,
}

impl<'a> Walk<'a> {
    fn value(&mut self, value: &'a Value, item: bool) -> Result<(), String> {
        let shape = schema::shape(&self.ctx, item, value);
        match (shape, value) {
            (Shape::Map, Value::Object(map)) => {
                for (key, child) in map {
                    self.ctx.push(key);
                    if !schema::ignored(&self.ctx) {
                        self.path.push(PathElement::Field(key.clone()));
                        self.value(child, false)?;
                        if child.is_null() || child.as_object().is_some_and(|m| m.is_empty()) {
                            self.set.insert(&self.path);
                        }
                        self.path.pop();
                    }
                    self.ctx.pop();
                }
            }
            (Shape::Set | Shape::Keyed(_), Value::Array(items)) => {
                let elements = schema::elements(shape, items)
                    .map_err(|e| format!("{}: {e}", display(&self.path)))?;
                for (element, item) in elements.into_iter().zip(items) {
                    self.path.push(element);
                    self.value(item, true)?;
                    self.set.insert(&self.path);
                    self.path.pop();
                }
            }
            _ => self.set.insert(&self.path),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_fields_leave_out_server_metadata_and_status() {
        let config = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns", "resourceVersion": "3",
                "labels": {"a": "1"}, "finalizers": ["x/y"]},
            "data": {"k": "v"}, "status": {"phase": "x"}, "extra": {}
        });
        let set = owned_by(&config).expect("valid");
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:data": {"f:k": {}},
                "f:extra": {},
                "f:metadata": {"f:finalizers": {"v:\"x/y\"": {}}, "f:labels": {"f:a": {}}}
            })
        );
    }

    #[test]
    fn service_ports_and_atomic_items_are_keyed_like_kubernetes() {
        let config = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "ownerReferences": [{"uid": "u1", "kind": "X", "name": "x"}]},
            "spec": {"selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080}, {"port": 53, "protocol": "UDP"}]},
        });
        assert_eq!(
            owned_by(&config).expect("valid").to_fields_v1(),
            json!({
                "f:metadata": {"f:ownerReferences": {r#"k:{"uid":"u1"}"#: {}}},
                "f:spec": {
                    "f:ports": {
                        r#"k:{"port":53,"protocol":"UDP"}"#: {
                            ".": {}, "f:port": {}, "f:protocol": {}},
                        r#"k:{"port":80,"protocol":"TCP"}"#: {
                            ".": {}, "f:port": {}, "f:targetPort": {}}
                    },
                    "f:selector": {}
                }
            })
        );
    }

    #[test]
    fn config_with_unkeyed_items_is_rejected() {
        let config = json!({"spec": {"containers": [{"image": "x"}]}});
        let err = owned_by(&config).expect_err("a container needs a name");
        assert!(err.starts_with(".spec.containers: element 0:"), "{err}");
    }
}
