//! Merging an applied configuration into the live object, and pruning what its manager
//! stopped applying — structured-merge-diff's `Merge` and `prune`.
//!
//! [`merge`]: maps merge field by field, keyed lists and sets item by item (the
//! configuration's items in its order, live-only items kept where they were), everything
//! else — scalars, atomic maps and lists — is replaced. A `null` in the configuration
//! removes the field (a typed object cannot hold one).
//!
//! [`prune`]: a path the manager owned before and no longer applies is removed unless
//! another manager owns it, or (for a field) something under it; key fields of a kept
//! item stay. A map or list emptied by pruning is removed too, as Go's `omitempty` drops it.

use super::path::PathElement;
use super::schema::{self, Shape};
use super::set::FieldSet;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};

/// `config` merged into `live` (both objects).
pub(crate) fn merge(live: &Value, config: &Value) -> Value {
    node(&mut Vec::new(), false, Some(live), config)
}

fn node<'a>(ctx: &mut Vec<&'a str>, item: bool, live: Option<&Value>, config: &'a Value) -> Value {
    let Some(live) = live else {
        return without_nulls(config);
    };
    let shape = schema::shape(ctx, item, config);
    if shape != schema::shape(ctx, item, live) {
        return without_nulls(config);
    }
    match (shape, live, config) {
        (Shape::Map, Value::Object(live), Value::Object(config)) => {
            let mut out = live.clone();
            for (key, value) in config {
                if value.is_null() {
                    out.remove(key);
                    continue;
                }
                ctx.push(key);
                let merged = node(ctx, false, live.get(key), value);
                ctx.pop();
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::Set | Shape::Keyed(_), Value::Array(live), Value::Array(config)) => {
            list(ctx, shape, live, config)
                .unwrap_or_else(|| without_nulls(&Value::Array(config.clone())))
        }
        _ => without_nulls(config),
    }
}

/// Merges two keyed lists in structured-merge-diff's order; `None` when either cannot be
/// keyed.
fn list<'a>(
    ctx: &mut Vec<&'a str>,
    shape: Shape,
    live: &[Value],
    config: &'a [Value],
) -> Option<Value> {
    let lhs: Vec<(PathElement, &Value)> = schema::elements(shape, live)
        .ok()?
        .into_iter()
        .zip(live)
        .collect();
    let rhs: Vec<(PathElement, &Value)> = schema::elements(shape, config)
        .ok()?
        .into_iter()
        .zip(config)
        .collect();
    let in_lhs: BTreeMap<&PathElement, &Value> = lhs.iter().map(|(e, v)| (e, *v)).collect();
    let in_rhs: BTreeMap<&PathElement, &Value> = rhs.iter().map(|(e, v)| (e, *v)).collect();
    let mut shared: VecDeque<&PathElement> = rhs
        .iter()
        .map(|(e, _)| e)
        .filter(|e| in_lhs.contains_key(e))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut l, mut r) = (0, 0);
    while l < lhs.len() || r < rhs.len() {
        if l < lhs.len() && r < rhs.len() {
            let element = &lhs[l].0;
            if *element == rhs[r].0 {
                out.push(node(ctx, true, Some(lhs[l].1), rhs[r].1));
                l += 1;
                r += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if in_rhs.contains_key(element) && next_shared.is_some_and(|n| n != element) {
                // A shared item the configuration places later: it is merged there.
                l += 1;
                continue;
            }
        }
        if l < lhs.len() {
            let element = &lhs[l].0;
            if !in_rhs.contains_key(element) {
                out.push(lhs[l].1.clone());
                l += 1;
                continue;
            }
            if r >= rhs.len() {
                l += 1;
                continue;
            }
        }
        if r < rhs.len() {
            let (element, value) = &rhs[r];
            out.push(node(ctx, true, in_lhs.get(element).copied(), value));
            r += 1;
            if next_shared == Some(element) {
                next_shared = shared.pop_front();
            }
        }
    }
    Some(Value::Array(out))
}

/// `value` with every `null` map field removed.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Removes from `object` the paths in `last` (what the manager applied before) that neither
/// `keep` (what it applies now and what others own) nor anything under them in `keep` claims.
pub(crate) fn prune(object: &mut Value, last: &FieldSet, keep: &FieldSet) {
    prune_node(object, &mut Vec::new(), None, last, Some(keep));
}

/// Whether a trie node claims its path: as a member or, for a field, through a path under it
/// (structured-merge-diff's `EnsureNamedFieldsAreMembers`).
fn claims(element: &PathElement, node: &FieldSet) -> bool {
    node.is_member() || (matches!(element, PathElement::Field(_)) && node.has_children())
}

fn prune_node<'a>(
    value: &mut Value,
    ctx: &mut Vec<&'a str>,
    item_of: Option<Shape>,
    last: &'a FieldSet,
    keep: Option<&FieldSet>,
) {
    for (element, last_child) in last.children() {
        let keep_child = keep.and_then(|k| k.child(element));
        // `metadata` holds the server's fields, which no field set lists: never drop it whole.
        let server_owned = ctx.is_empty() && *element == PathElement::Field("metadata".into());
        let drop = claims(element, last_child)
            && !keep_child.is_some_and(|k| claims(element, k))
            && !server_owned;
        match (element, &mut *value) {
            (PathElement::Field(name), Value::Object(map)) => {
                if item_of.is_some_and(|shape| schema::is_key_field(shape, name)) {
                    continue;
                }
                if drop {
                    map.remove(name);
                    continue;
                }
                let Some(child) = map.get_mut(name) else {
                    continue;
                };
                let was_empty = is_empty_container(child);
                ctx.push(name);
                prune_node(child, ctx, None, last_child, keep_child);
                ctx.pop();
                if !was_empty && is_empty_container(child) {
                    map.remove(name);
                }
            }
            (PathElement::Key(_) | PathElement::Value(_), Value::Array(items)) => {
                let shape = schema::shape(ctx, false, &Value::Array(Vec::new()));
                let Some(index) = items
                    .iter()
                    .position(|item| schema::element(shape, item).as_ref() == Some(element))
                else {
                    continue;
                };
                if drop {
                    items.remove(index);
                    continue;
                }
                prune_node(&mut items[index], ctx, Some(shape), last_child, keep_child);
            }
            _ => {}
        }
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_merge_in_config_order_keeping_live_only_items_in_place() {
        let live = json!({"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "x", "image": "x:1"}, {"name": "b", "image": "b:1"}],
            "tolerations": [{"key": "t"}]}});
        let config = json!({"spec": {"containers": [
            {"name": "b", "image": "b:2"}, {"name": "a"}, {"name": "c", "image": "c:1"}],
            "tolerations": [{"key": "u"}]}});
        let out = merge(&live, &config);
        let names: Vec<_> = out["spec"]["containers"]
            .as_array()
            .map(|items| items.iter().map(|c| c["name"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(names, vec![json!("x"), json!("b"), json!("a"), json!("c")]);
        assert_eq!(out["spec"]["containers"][1]["image"], "b:2");
        assert_eq!(out["spec"]["containers"][2]["image"], "a:1");
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "u"}]));
    }

    #[test]
    fn nulls_remove_and_sets_union() {
        let live = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}}});
        let config = json!({"metadata": {"finalizers": ["b"], "labels": {"x": null}}});
        let out = merge(&live, &config);
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["metadata"]["labels"], json!({"y": "2"}));
    }

    #[test]
    fn prune_spares_what_others_own_and_key_fields() {
        let mut object = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "web", "image": "x", "args": ["1"]}]}});
        let last = FieldSet::from_fields_v1(&json!({
            "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}},
            "f:spec": {"f:containers": {r#"k:{"name":"web"}"#: {
                ".": {}, "f:name": {}, "f:image": {}, "f:args": {}}}}}))
        .expect("trie");
        let keep = FieldSet::from_fields_v1(&json!({
            "f:metadata": {"f:labels": {"f:b": {}}},
            "f:spec": {"f:containers": {r#"k:{"name":"web"}"#: {".": {}, "f:image": {}}}}}))
        .expect("trie");
        prune(&mut object, &last, &keep);
        assert_eq!(
            object,
            json!({"metadata": {"labels": {"b": "2"}},
                "spec": {"containers": [{"name": "web", "image": "x"}]}})
        );
        prune(&mut object, &last, &FieldSet::default());
        assert_eq!(object, json!({}));
    }
}
