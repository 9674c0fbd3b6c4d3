//! The columns of the RBAC kinds, as kube-apiserver prints them: roles show when they were
//! created; bindings show the role they grant (`ClusterRole/view`), their age, and with
//! `-o wide` the users, groups and ServiceAccounts they name.

use super::cell::{Column, age, or_none, text};
use serde_json::{Value, json};

/// The columns after the name, for `kind`.
pub(super) fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Role" | "ClusterRole" => vec![Column {
            name: "Created At",
            kind: "date",
            priority: 0,
            cell: |o| text(o, "/metadata/creationTimestamp"),
        }],
        _ => vec![
            Column {
                name: "Role",
                kind: "string",
                priority: 0,
                cell: role,
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
            Column {
                name: "Users",
                kind: "string",
                priority: 1,
                cell: |o| subjects(o, "User"),
            },
            Column {
                name: "Groups",
                kind: "string",
                priority: 1,
                cell: |o| subjects(o, "Group"),
            },
            Column {
                name: "ServiceAccounts",
                kind: "string",
                priority: 1,
                cell: |o| subjects(o, "ServiceAccount"),
            },
        ],
    }
}

/// `Kind/name` of the role a binding grants.
fn role(o: &Value) -> Value {
    let text = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("");
    json!(format!(
        "{}/{}",
        text("/roleRef/kind"),
        text("/roleRef/name")
    ))
}

/// The names of the subjects of `kind`, comma-separated (ServiceAccounts as
/// `namespace:name`).
fn subjects(o: &Value, kind: &str) -> Value {
    let names: Vec<String> = o
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
        .map(|s| {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("");
            match s.get("namespace").and_then(Value::as_str) {
                Some(ns) if kind == "ServiceAccount" => format!("{ns}:{name}"),
                _ => name.to_string(),
            }
        })
        .collect();
    or_none(json!(names.join(", ")))
}
