//! Path elements: one step from a value to a part of it, as structured-merge-diff names
//! them. A field of a map (`f:replicas`), an item of an associative list by its key fields
//! (`k:{"name":"web"}`), an item of a set by its value (`v:"example.com/x"`) or, only when
//! read back from a stored entry, an item by index (`i:0`).
//!
//! Each element has two spellings: its key in a `fieldsV1` trie ([`PathElement::trie_key`])
//! and its part of a human-readable path such as `.spec.containers[name="web"].image`
//! ([`display`]), which conflicts report.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// One step into a value. The derived order (fields, then keys, then values, then
/// indices) is the order structured-merge-diff sorts and serializes them in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PathElement {
    /// A field of a map.
    Field(String),
    /// An item of an associative list: its key fields, sorted by name, each with its value
    /// as compact JSON.
    Key(Vec<(String, String)>),
    /// An item of a set-like list of scalars, by its value as compact JSON.
    Value(String),
    /// An item of a list by position; only kept when read from a stored entry.
    Index(usize),
}

impl PathElement {
    /// A key element from `(name, value)` pairs, in any order.
    pub(crate) fn key(mut fields: Vec<(String, String)>) -> Self {
        fields.sort();
        Self::Key(fields)
    }

    /// A set element for `value`.
    pub(crate) fn value(value: &Value) -> Self {
        Self::Value(value.to_string())
    }

    /// The element's key in a `fieldsV1` trie: `f:name`, `k:{"name":"web"}`, `v:"x"`, `i:0`.
    pub(crate) fn trie_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{}:{value}", Value::String(name.clone()));
                }
                out.push('}');
                out
            }
            Self::Value(value) => format!("v:{value}"),
            Self::Index(index) => format!("i:{index}"),
        }
    }

    /// Parses a trie key; `None` when it is not one of the four forms.
    pub(crate) fn parse(key: &str) -> Option<Self> {
        let (kind, rest) = key.split_at_checked(2)?;
        match kind {
            "f:" => Some(Self::Field(rest.to_string())),
            "k:" => {
                let fields: Map<String, Value> = serde_json::from_str(rest).ok()?;
                Some(Self::key(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k, v.to_string()))
                        .collect(),
                ))
            }
            "v:" => serde_json::from_str::<Value>(rest)
                .ok()
                .map(|value| Self::value(&value)),
            "i:" => rest.parse().ok().map(Self::Index),
            _ => None,
        }
    }
}

/// A path as Kubernetes prints it in conflicts: `.spec.template.spec.containers[name="web"].image`,
/// `.metadata.finalizers[="example.com/x"]`.
pub(crate) fn display(path: &[PathElement]) -> String {
    let mut out = String::new();
    for element in path {
        match element {
            PathElement::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            PathElement::Key(fields) => {
                out.push('[');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}={value}");
                }
                out.push(']');
            }
            PathElement::Value(value) => {
                let _ = write!(out, "[={value}]");
            }
            PathElement::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trie_keys_round_trip() {
        let port = PathElement::key(vec![
            ("protocol".into(), json!("TCP").to_string()),
            ("containerPort".into(), json!(80).to_string()),
        ]);
        assert_eq!(
            port.trie_key(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#
        );
        for element in [
            port,
            PathElement::Field("replicas".into()),
            PathElement::value(&json!("example.com/x")),
            PathElement::Index(3),
        ] {
            assert_eq!(PathElement::parse(&element.trie_key()), Some(element));
        }
        assert_eq!(PathElement::parse("x:1"), None);
        assert_eq!(PathElement::parse("k:{not json"), None);
    }

    #[test]
    fn paths_display_like_kubernetes() {
        let path = [
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::key(vec![("name".into(), json!("web").to_string())]),
            PathElement::Field("image".into()),
        ];
        assert_eq!(display(&path), r#".spec.containers[name="web"].image"#);
        let finalizer = [
            PathElement::Field("metadata".into()),
            PathElement::Field("finalizers".into()),
            PathElement::value(&json!("a/b")),
        ];
        assert_eq!(display(&finalizer), r#".metadata.finalizers[="a/b"]"#);
    }
}
