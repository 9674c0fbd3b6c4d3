//! Comparing two versions of an object into the paths that were added, modified and removed,
//! as structured-merge-diff's `Compare` does.
//!
//! Scalars and atomic values are compared whole. Maps and keyed lists are walked; a map
//! field or list item present on one side only is added or removed itself besides
//! everything inside it (so a write that adds `labels` owns `f:labels: {".": {}, ...}`),
//! except the struct fields a typed object always has ([`schema::always_present`]). Two
//! empty (or absent) maps or lists are compared as scalars. Fields that never enter a field
//! set ([`schema::ignored`]) are skipped.

use super::path::PathElement;
use super::schema::{self, Shape};
use super::set::FieldSet;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What changed between two objects.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    /// Paths on both sides with different values (scalars and atomic values only).
    pub(crate) modified: FieldSet,
    /// Paths only in the new object.
    pub(crate) added: FieldSet,
    /// Paths only in the old object.
    pub(crate) removed: FieldSet,
}

impl Comparison {
    /// The paths a write sets: modified or added.
    pub(crate) fn changed(&self) -> FieldSet {
        self.modified.union(&self.added)
    }
}

/// Compares `old` with `new` (both whole objects).
pub(crate) fn compare(old: &Value, new: &Value) -> Comparison {
    let mut walk = Walk::default();
    walk.node(Some(old), Some(new), false);
    walk.out
}

#[derive(Default)]
struct Walk<'a> {
    ctx: Vec<&'a str>,
    path: Vec<PathElement>,
    out: Comparison,
}

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

impl<'a> Walk<'a> {
    fn node(&mut self, old: Option<&'a Value>, new: Option<&'a Value>, item: bool) {
        let old_shape = old.map(|v| schema::shape(&self.ctx, item, v));
        let new_shape = new.map(|v| schema::shape(&self.ctx, item, v));
        let shape = match (old_shape, new_shape) {
            (Some(a), Some(b)) if a != b => Shape::Leaf,
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return,
        };
        if shape == Shape::Leaf || (is_empty(old) && is_empty(new)) {
            self.leaf(old, new);
            return;
        }
        let walked = match shape {
            Shape::Map => {
                self.map(old, new);
                true
            }
            _ => self.list(shape, old, new),
        };
        if !walked {
            self.leaf(old, new);
            return;
        }
        if !self.path.is_empty() && (item || !schema::always_present(&self.ctx)) {
            match (old, new) {
                (None, Some(_)) => self.out.added.insert(&self.path),
                (Some(_), None) => self.out.removed.insert(&self.path),
                _ => {}
            }
        }
    }

    fn leaf(&mut self, old: Option<&Value>, new: Option<&Value>) {
        match (old, new) {
            (None, Some(_)) => self.out.added.insert(&self.path),
            (Some(_), None) => self.out.removed.insert(&self.path),
            (Some(a), Some(b)) if a != b => self.out.modified.insert(&self.path),
            _ => {}
        }
    }

    fn map(&mut self, old: Option<&'a Value>, new: Option<&'a Value>) {
        let old = old.and_then(Value::as_object);
        let new = new.and_then(Value::as_object);
        let keys: BTreeSet<&'a String> = old
            .iter()
            .chain(new.iter())
            .flat_map(|m| m.keys())
            .collect();
        for key in keys {
            self.ctx.push(key);
            if !schema::ignored(&self.ctx) {
                self.path.push(PathElement::Field(key.clone()));
                self.node(
                    old.and_then(|m| m.get(key)),
                    new.and_then(|m| m.get(key)),
                    false,
                );
                self.path.pop();
            }
            self.ctx.pop();
        }
    }

    /// Walks a keyed list item by item; `false` when either side cannot be keyed, and the
    /// list must be compared whole.
    fn list(&mut self, shape: Shape, old: Option<&'a Value>, new: Option<&'a Value>) -> bool {
        let (Some(old), Some(new)) = (keyed(shape, old), keyed(shape, new)) else {
            return false;
        };
        let elements: BTreeSet<&PathElement> = old.keys().chain(new.keys()).collect();
        for element in elements {
            self.path.push(element.clone());
            self.node(old.get(element).copied(), new.get(element).copied(), true);
            self.path.pop();
        }
        true
    }
}

/// A list's items by path element; empty for an absent list, `None` when it cannot be keyed.
fn keyed(shape: Shape, list: Option<&Value>) -> Option<BTreeMap<PathElement, &Value>> {
    let items = match list {
        None | Some(Value::Null) => return Some(BTreeMap::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return None,
    };
    let elements = schema::elements(shape, items).ok()?;
    Some(elements.into_iter().zip(items).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn added_maps_and_items_are_owned_but_not_always_present_structs() {
        let old = json!({"metadata": {"name": "c"}, "spec": {"containers": []}});
        let new = json!({
            "metadata": {"name": "c", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "web", "image": "a", "ports": [{"containerPort": 80}]}]}
        });
        let c = compare(&old, &new);
        assert_eq!(
            c.added.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:containers": {r#"k:{"name":"web"}"#: {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {".": {}, r#"k:{"containerPort":80,"protocol":"TCP"}"#: {
                        ".": {}, "f:containerPort": {}}}}}}
            })
        );
        assert!(c.modified.is_empty() && c.removed.is_empty());
    }

    #[test]
    fn scalars_and_atomic_values_are_modified_whole() {
        let old = json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"a": "1"}},
            "template": {"spec": {"tolerations": [{"key": "k"}]}}}, "status": {"replicas": 1}});
        let new = json!({"spec": {"replicas": 2, "selector": {"matchLabels": {"a": "2"}},
            "template": {"spec": {"tolerations": [{"key": "j"}]}}}, "status": {"replicas": 2}});
        let c = compare(&old, &new);
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}, "f:selector": {},
                "f:template": {"f:spec": {"f:tolerations": {}}}}})
        );
        let removed = compare(&new, &json!({"spec": {}}));
        assert!(removed.removed.has(&[
            PathElement::Field("spec".into()),
            PathElement::Field("replicas".into())
        ]));
    }
}
