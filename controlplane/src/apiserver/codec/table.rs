//! Table responses (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is
//! how `kubectl get` prints: kind-appropriate columns (pods: READY, STATUS, RESTARTS, AGE;
//! deployments: READY, UP-TO-DATE, AVAILABLE, AGE; ...), wide columns at priority 1, and
//! each row's object as `PartialObjectMetadata` for `-A` and `--show-labels`.
//!
//! Parts: `columns` holds the columns of each kind and how their cells are computed.

mod columns;

use columns::columns;
pub use columns::short_duration;
use serde_json::{Value, json};

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    })
}

/// Which meta.k8s.io version of Table the client asked for first.
pub fn table_version(accept: &str) -> &'static str {
    match accept.split(',').find(|part| part.contains("as=Table")) {
        Some(part) if part.contains("v=v1beta1") => "v1beta1",
        _ => "v1",
    }
}

/// Builds a Table of `objects` of `kind`. `include_columns` is false for the events
/// after the first of a watch (kubectl reuses the first event's columns).
pub fn table(
    kind: &str,
    objects: impl IntoIterator<Item = Value>,
    resource_version: &str,
    continue_token: Option<&str>,
    include_columns: bool,
    version: &str,
) -> Value {
    let columns = columns(kind);
    let definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind,
                   "format": if c.name == "Name" { "name" } else { "" },
                   "description": "", "priority": c.priority})
        })
        .collect();
    // One object at a time: each is dropped once its row is built.
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|mut object| {
            let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(&object)).collect();
            let metadata = object
                .get_mut("metadata")
                .map(Value::take)
                .unwrap_or_else(|| json!({}));
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": format!("meta.k8s.io/{version}"),
                    "metadata": metadata,
                },
            })
        })
        .collect();
    let mut table = json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": {"resourceVersion": resource_version},
        "rows": rows,
    });
    if include_columns {
        table["columnDefinitions"] = Value::Array(definitions);
    }
    if let Some(token) = continue_token {
        table["metadata"]["continue"] = json!(token);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pod_rows_have_kubectl_columns() {
        let pod = json!({"metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"ready": true, "restartCount": 2}, {"ready": false, "restartCount": 1,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let t = table("Pod", [pod], "7", None, true, "v1");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            names,
            ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"]
        );
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], "CrashLoopBackOff");
        assert_eq!(cells[3], "3");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
        assert_eq!(t["rows"][0]["object"]["metadata"]["name"], "web");
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(short_duration(Duration::from_secs(45)), "45s");
        assert_eq!(short_duration(Duration::from_secs(310)), "5m10s");
        assert_eq!(short_duration(Duration::from_secs(3 * 3600)), "3h");
        assert_eq!(
            short_duration(Duration::from_secs(2 * 86_400 + 4 * 3600)),
            "2d4h"
        );
    }

    #[test]
    fn accept_header_selects_tables() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert!(wants_table(Some(kubectl)));
        assert_eq!(table_version(kubectl), "v1");
        assert!(!wants_table(Some("application/json")));
        assert!(!wants_table(None));
    }
}
