//! The little of the built-in types' schema that field ownership needs, judged (as our
//! strategic merge is) by field names rather than read from OpenAPI: which lists are
//! associative and by which key fields (`x-kubernetes-list-map-keys`), which are sets of
//! scalars, which maps and list items are atomic (`+structType=atomic`, `+mapType=atomic`),
//! and which fields never enter a field set.
//!
//! Every list not named here is atomic, as Kubernetes treats a list with neither a list type
//! nor a merge key. A list whose items do not carry their keys (or repeat them) is treated as
//! atomic when it is read from a stored object, and rejected when it is applied.

use super::path::PathElement;
use serde_json::Value;
use std::collections::BTreeSet;

/// A key field of an associative list, with the value it defaults to when an item omits it
/// (structured-merge-diff keys items by defaulted keys, so `{containerPort: 80}` is
/// `k:{"containerPort":80,"protocol":"TCP"}`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct KeyField {
    /// The field's name.
    pub(crate) name: &'static str,
    /// Its default as JSON, if it has one.
    pub(crate) default: Option<&'static str>,
}

const fn key(name: &'static str) -> KeyField {
    KeyField {
        name,
        default: None,
    }
}

const BY_NAME: &[KeyField] = &[key("name")];
const BY_MOUNT_PATH: &[KeyField] = &[key("mountPath")];
const BY_DEVICE_PATH: &[KeyField] = &[key("devicePath")];
const BY_TYPE: &[KeyField] = &[key("type")];
const BY_UID: &[KeyField] = &[key("uid")];
const BY_IP: &[KeyField] = &[key("ip")];
const BY_TOPOLOGY: &[KeyField] = &[key("topologyKey"), key("whenUnsatisfiable")];
const TCP: Option<&str> = Some("\"TCP\"");
const CONTAINER_PORTS: &[KeyField] = &[
    key("containerPort"),
    KeyField {
        name: "protocol",
        default: TCP,
    },
];
const SERVICE_PORTS: &[KeyField] = &[
    key("port"),
    KeyField {
        name: "protocol",
        default: TCP,
    },
];

/// How a value takes part in field ownership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Owned and compared as a whole: scalars, atomic maps and lists, atomic list items.
    Leaf,
    /// A map whose fields are owned one by one.
    Map,
    /// A set of scalars (`finalizers`), whose items are owned one by one.
    Set,
    /// An associative list, whose items are owned one by one by their key fields.
    Keyed(&'static [KeyField]),
}

/// The shape of `value`, found under the field names `ctx` (list items add no name); `item`
/// says `value` is an item of the list named by the last of `ctx`.
pub(crate) fn shape(ctx: &[&str], item: bool, value: &Value) -> Shape {
    match value {
        Value::Object(_) if item && atomic_items(ctx) => Shape::Leaf,
        Value::Object(_) if !item && atomic_map(ctx) => Shape::Leaf,
        Value::Object(_) => Shape::Map,
        Value::Array(_) if !item => list_shape(ctx),
        _ => Shape::Leaf,
    }
}

fn list_shape(ctx: &[&str]) -> Shape {
    let Some((&field, parents)) = ctx.split_last() else {
        return Shape::Leaf;
    };
    let keys = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => BY_NAME,
        "claims" if parents.last() == Some(&"resources") => BY_NAME,
        "secrets" if parents.is_empty() => BY_NAME,
        "volumeMounts" => BY_MOUNT_PATH,
        "volumeDevices" => BY_DEVICE_PATH,
        "conditions" => BY_TYPE,
        "ownerReferences" => BY_UID,
        "hostAliases" => BY_IP,
        "topologySpreadConstraints" => BY_TOPOLOGY,
        "ports" => match parents.last() {
            Some(&("containers" | "initContainers" | "ephemeralContainers")) => CONTAINER_PORTS,
            _ if parents == ["spec"] => SERVICE_PORTS,
            _ => return Shape::Leaf,
        },
        "finalizers" if parents.last() == Some(&"metadata") => return Shape::Set,
        _ => return Shape::Leaf,
    };
    Shape::Keyed(keys)
}

/// Maps owned as a whole: label selectors (`+structType=atomic`), map selectors
/// (`+mapType=atomic`), node selectors and the key references of environment variables.
fn atomic_map(ctx: &[&str]) -> bool {
    matches!(
        ctx.last(),
        Some(
            &("selector"
                | "labelSelector"
                | "namespaceSelector"
                | "podSelector"
                | "nodeSelector"
                | "requiredDuringSchedulingIgnoredDuringExecution"
                | "configMapKeyRef"
                | "secretKeyRef"
                | "fieldRef"
                | "resourceFieldRef")
        )
    )
}

/// Lists whose items are atomic structs (`OwnerReference`, `LocalObjectReference`): an item
/// is owned whole, as `k:{"name":"regcred"}: {}`.
fn atomic_items(ctx: &[&str]) -> bool {
    matches!(ctx.last(), Some(&("ownerReferences" | "imagePullSecrets")))
}

/// Fields that never enter a field set, with everything under them: the type meta,
/// `status` (reset on the main resource) and the metadata the server sets — the
/// paths Kubernetes' `stripMetaManager` strips and its reset fields.
pub(crate) fn ignored(ctx: &[&str]) -> bool {
    match ctx {
        ["apiVersion" | "kind" | "status"] => true,
        ["metadata", field] => matches!(
            *field,
            "name"
                | "namespace"
                | "creationTimestamp"
                | "selfLink"
                | "uid"
                | "clusterName"
                | "generation"
                | "managedFields"
                | "resourceVersion"
        ),
        _ => false,
    }
}

/// Struct fields that a Go object always carries (as `{}` or `null` when empty), so adding
/// what is inside them never adds the field itself: `metadata`, `spec`, pod `template`s,
/// deployment `strategy`... A write records an added map or list as owned (`".": {}`) only
/// when it is not one of these, matching what Kubernetes' typed objects give.
pub(crate) fn always_present(ctx: &[&str]) -> bool {
    matches!(
        ctx.last(),
        Some(
            &("metadata"
                | "spec"
                | "template"
                | "jobTemplate"
                | "strategy"
                | "updateStrategy"
                | "containers")
        )
    )
}

/// The path element of one item of a list of `shape`; `None` when the item does not carry
/// its key fields (or is not a scalar, for a set).
pub(crate) fn element(shape: Shape, item: &Value) -> Option<PathElement> {
    match shape {
        Shape::Set if !item.is_object() && !item.is_array() => Some(PathElement::value(item)),
        Shape::Keyed(keys) => {
            let map = item.as_object()?;
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                let value = match map.get(key.name) {
                    Some(value) if !value.is_null() => value.to_string(),
                    _ => key.default?.to_string(),
                };
                fields.push((key.name.to_string(), value));
            }
            Some(PathElement::key(fields))
        }
        _ => None,
    }
}

/// The path elements of a list's items, in order; an error when an item has no element or
/// two items share one.
pub(crate) fn elements(shape: Shape, items: &[Value]) -> Result<Vec<PathElement>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(element) = element(shape, item) else {
            return Err(match shape {
                Shape::Keyed(keys) => format!(
                    "element {index}: associative list with keys has an element that omits \
                     key field {} (and doesn't have default value)",
                    keys.iter()
                        .find(|k| {
                            k.default.is_none() && item.get(k.name).is_none_or(Value::is_null)
                        })
                        .map_or_else(|| "\"\"".to_string(), |k| format!("{:?}", k.name))
                ),
                _ => format!("element {index}: a set can only hold scalars"),
            });
        };
        if !seen.insert(element.clone()) {
            return Err(format!(
                "duplicate entries for key {}",
                super::path::display(std::slice::from_ref(&element))
            ));
        }
        out.push(element);
    }
    Ok(out)
}

/// Whether `field` is a key field of items of a list of `shape`.
pub(crate) fn is_key_field(shape: Shape, field: &str) -> bool {
    matches!(shape, Shape::Keyed(keys) if keys.iter().any(|k| k.name == field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_keyed_by_kubernetes_merge_keys() {
        let containers = ["spec", "template", "spec", "containers"];
        assert_eq!(shape(&containers, false, &json!([])), Shape::Keyed(BY_NAME));
        let ports = ["spec", "template", "spec", "containers", "ports"];
        let Shape::Keyed(keys) = shape(&ports, false, &json!([])) else {
            panic!("container ports are keyed");
        };
        let port = element(Shape::Keyed(keys), &json!({"containerPort": 80}));
        assert_eq!(
            port.map(|p| p.trie_key()),
            Some(r#"k:{"containerPort":80,"protocol":"TCP"}"#.to_string())
        );
        assert_eq!(
            shape(&["spec", "ports"], false, &json!([])),
            Shape::Keyed(SERVICE_PORTS)
        );
        assert_eq!(
            shape(&["spec", "tolerations"], false, &json!([])),
            Shape::Leaf
        );
        assert_eq!(
            shape(&["metadata", "finalizers"], false, &json!([])),
            Shape::Set
        );
        assert_eq!(shape(&["spec", "selector"], false, &json!({})), Shape::Leaf);
        assert_eq!(
            shape(&["metadata", "ownerReferences"], true, &json!({})),
            Shape::Leaf
        );
    }

    #[test]
    fn elements_reject_missing_and_duplicate_keys() {
        let keyed = Shape::Keyed(BY_NAME);
        let missing = elements(keyed, &[json!({"image": "x"})]).expect_err("no name");
        assert!(missing.contains("omits key field \"name\""), "{missing}");
        let twice =
            elements(keyed, &[json!({"name": "a"}), json!({"name": "a"})]).expect_err("duplicate");
        assert_eq!(twice, r#"duplicate entries for key [name="a"]"#);
        assert!(elements(Shape::Set, &[json!({"a": 1})]).is_err());
    }
}
