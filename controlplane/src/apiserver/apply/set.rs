//! Field sets: the paths a manager owns, kept as a trie of [`PathElement`]s, and their
//! `fieldsV1` encoding.
//!
//! A node is a *member* when its own path is in the set; it may also have children (an
//! owned list item whose fields are owned too). In `fieldsV1` a member with no children is
//! `{}` and a member with children carries `".": {}` beside them, exactly as
//! structured-merge-diff writes it.

use super::path::PathElement;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A set of paths. The root node stands for the empty path and is never a member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// Whether the set holds no path.
    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Whether this node's own path is in the set.
    pub(crate) fn is_member(&self) -> bool {
        self.member
    }

    /// Whether some path below this node is in the set.
    pub(crate) fn has_children(&self) -> bool {
        !self.children.is_empty()
    }

    /// The node one step below, if any path goes through it.
    pub(crate) fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    /// The nodes one step below, in order.
    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    /// Adds `path`. The empty path is ignored.
    pub(crate) fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let mut node = self.children.entry(first.clone()).or_default();
        for element in rest {
            node = node.children.entry(element.clone()).or_default();
        }
        node.member = true;
    }

    /// Takes `path` out of the set (its children stay).
    pub(crate) fn remove(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if let Some(child) = self.children.get_mut(first) {
            if rest.is_empty() {
                child.member = false;
            } else {
                child.remove(rest);
            }
            if child.is_empty() {
                self.children.remove(first);
            }
        }
    }

    /// Whether `path` is in the set.
    pub(crate) fn has(&self, path: &[PathElement]) -> bool {
        let mut node = self;
        for element in path {
            match node.children.get(element) {
                Some(child) => node = child,
                None => return false,
            }
        }
        !path.is_empty() && node.member
    }

    /// Paths in either set.
    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (element, theirs) in &other.children {
            let merged = match out.children.get(element) {
                Some(ours) => ours.union(theirs),
                None => theirs.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// Paths in this set and not in `other` (membership by membership: owning a path does
    /// not take away the paths below it).
    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (element, ours) in &self.children {
            let left = match other.children.get(element) {
                Some(theirs) => ours.difference(theirs),
                None => ours.clone(),
            };
            if !left.is_empty() {
                out.children.insert(element.clone(), left);
            }
        }
        out
    }

    /// Paths in both sets.
    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, ours) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = ours.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// Every path in the set, in order.
    pub(crate) fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for (element, child) in &self.children {
            prefix.push(element.clone());
            if child.member {
                out.push(prefix.clone());
            }
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The set in `fieldsV1` form.
    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut out = Map::new();
        if self.member && !self.children.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            out.insert(element.trie_key(), child.to_fields_v1());
        }
        Value::Object(out)
    }

    /// Reads a `fieldsV1` trie; `None` when it is not one.
    pub(crate) fn from_fields_v1(trie: &Value) -> Option<FieldSet> {
        let mut set = Self::node_from_fields_v1(trie)?;
        set.member = false;
        Some(set)
    }

    fn node_from_fields_v1(trie: &Value) -> Option<FieldSet> {
        let map = trie.as_object()?;
        let mut node = FieldSet {
            member: map.is_empty(),
            children: BTreeMap::new(),
        };
        for (key, value) in map {
            if key == "." {
                node.member = true;
                continue;
            }
            let child = Self::node_from_fields_v1(value)?;
            if !child.is_empty() {
                node.children.insert(PathElement::parse(key)?, child);
            }
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.to_string())
    }

    fn set(paths: &[&[&str]]) -> FieldSet {
        let mut out = FieldSet::default();
        for path in paths {
            let path: Vec<_> = path.iter().map(|name| field(name)).collect();
            out.insert(&path);
        }
        out
    }

    #[test]
    fn fields_v1_round_trips_with_dot_for_members_with_children() {
        let trie = json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {r#"k:{"name":"web"}"#: {".": {}, "f:image": {}}}}
        });
        let parsed = FieldSet::from_fields_v1(&trie).expect("a valid trie");
        assert_eq!(parsed.to_fields_v1(), trie);
        let web = PathElement::parse(r#"k:{"name":"web"}"#).expect("a key");
        assert!(parsed.has(&[field("spec"), field("containers"), web.clone()]));
        assert!(!parsed.has(&[field("spec"), field("containers")]));
        assert!(parsed.has(&[field("metadata"), field("labels"), field("app")]));
        assert_eq!(FieldSet::from_fields_v1(&json!({"x:y": {}})), None);
        assert_eq!(FieldSet::from_fields_v1(&json!([])), None);
    }

    #[test]
    fn algebra_is_membership_wise() {
        let a = set(&[&["spec", "replicas"], &["spec", "paused"], &["spec"]]);
        let b = set(&[&["spec", "replicas"]]);
        assert_eq!(a.difference(&b), set(&[&["spec", "paused"], &["spec"]]));
        assert_eq!(a.intersection(&b), b);
        assert_eq!(b.union(&set(&[&["spec", "paused"]])).paths().len(), 2);
        assert!(a.difference(&a).is_empty());
        let mut c = a.clone();
        c.remove(&[field("spec")]);
        assert_eq!(c, set(&[&["spec", "replicas"], &["spec", "paused"]]));
        assert_eq!(
            a.paths(),
            vec![
                vec![field("spec")],
                vec![field("spec"), field("paused")],
                vec![field("spec"), field("replicas")],
            ]
        );
    }
}
