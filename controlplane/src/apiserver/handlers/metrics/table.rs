//! `NodeMetrics` and `PodMetrics` as a `Table`, for `kubectl get nodemetrics` and
//! `kubectl get podmetrics`: metrics-server's columns — Name, cpu, memory, Window — with
//! each row's object as `PartialObjectMetadata`.

use serde_json::{Value, json};

/// One row: the object's metadata and its cells after the name.
pub struct Row {
    /// The metrics object's metadata.
    pub metadata: Value,
    /// CPU, as a quantity.
    pub cpu: String,
    /// Memory, as a quantity.
    pub memory: String,
    /// The window, as a duration.
    pub window: String,
}

/// The Table of `rows`, in `meta.k8s.io/{version}`.
pub fn table(rows: Vec<Row>, version: &str) -> Value {
    let column = |name: &str, format: &str, description: &str| {
        json!({"name": name, "type": "string", "format": format,
            "description": description, "priority": 0})
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let name = row.metadata["name"].clone();
            json!({
                "cells": [name, row.cpu, row.memory, row.window],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": format!("meta.k8s.io/{version}"),
                    "metadata": row.metadata,
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": {},
        "columnDefinitions": [
            column("Name", "name", "Name of the resource"),
            column("cpu", "quantity", ""),
            column("memory", "quantity", ""),
            column("Window", "duration", ""),
        ],
        "rows": rows,
    })
}
