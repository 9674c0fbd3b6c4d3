//! Table responses (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is
//! how `kubectl get` prints: kind-appropriate columns (pods: READY, STATUS, RESTARTS, AGE;
//! deployments: READY, UP-TO-DATE, AVAILABLE, AGE; ...), wide columns at priority 1, and
//! each row's object as `PartialObjectMetadata` for `-A` and `--show-labels`.

use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

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

struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: fn(&Value) -> Value,
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

fn columns(kind: &str) -> Vec<Column> {
    let mut out = vec![Column {
        name: "Name",
        kind: "string",
        priority: 0,
        cell: name,
    }];
    match kind {
        "Pod" => out.extend([
            Column {
                name: "Ready",
                kind: "string",
                priority: 0,
                cell: pod_ready,
            },
            Column {
                name: "Status",
                kind: "string",
                priority: 0,
                cell: pod_status,
            },
            Column {
                name: "Restarts",
                kind: "string",
                priority: 0,
                cell: pod_restarts,
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
            Column {
                name: "IP",
                kind: "string",
                priority: 1,
                cell: |o| text(o, "/status/podIP"),
            },
            Column {
                name: "Node",
                kind: "string",
                priority: 1,
                cell: |o| text(o, "/spec/nodeName"),
            },
        ]),
        "Deployment" => out.extend([
            Column {
                name: "Ready",
                kind: "string",
                priority: 0,
                cell: |o| ratio(o, "/status/readyReplicas", "/spec/replicas"),
            },
            Column {
                name: "Up-to-date",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/status/updatedReplicas"),
            },
            Column {
                name: "Available",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/status/availableReplicas"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
            Column {
                name: "Containers",
                kind: "string",
                priority: 1,
                cell: |o| containers(o, "name"),
            },
            Column {
                name: "Images",
                kind: "string",
                priority: 1,
                cell: |o| containers(o, "image"),
            },
        ]),
        "ReplicaSet" => out.extend([
            Column {
                name: "Desired",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/spec/replicas"),
            },
            Column {
                name: "Current",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/status/replicas"),
            },
            Column {
                name: "Ready",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/status/readyReplicas"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Job" => out.extend([
            Column {
                name: "Status",
                kind: "string",
                priority: 0,
                cell: job_status,
            },
            Column {
                name: "Completions",
                kind: "string",
                priority: 0,
                cell: |o| ratio(o, "/status/succeeded", "/spec/completions"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Service" => out.extend([
            Column {
                name: "Type",
                kind: "string",
                priority: 0,
                cell: |o| text(o, "/spec/type"),
            },
            Column {
                name: "Cluster-IP",
                kind: "string",
                priority: 0,
                cell: |o| or_none(text(o, "/spec/clusterIP")),
            },
            Column {
                name: "External-IP",
                kind: "string",
                priority: 0,
                cell: external_ip,
            },
            Column {
                name: "Port(s)",
                kind: "string",
                priority: 0,
                cell: service_ports,
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Node" => out.extend([
            Column {
                name: "Status",
                kind: "string",
                priority: 0,
                cell: node_status,
            },
            Column {
                name: "Roles",
                kind: "string",
                priority: 0,
                cell: |_| json!("<none>"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
            Column {
                name: "Version",
                kind: "string",
                priority: 0,
                cell: |o| text(o, "/status/nodeInfo/kubeletVersion"),
            },
        ]),
        "Namespace" => out.extend([
            Column {
                name: "Status",
                kind: "string",
                priority: 0,
                cell: |o| text(o, "/status/phase"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "ConfigMap" => out.extend([
            Column {
                name: "Data",
                kind: "integer",
                priority: 0,
                cell: |o| count(o, &["/data", "/binaryData"]),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Secret" => out.extend([
            Column {
                name: "Type",
                kind: "string",
                priority: 0,
                cell: |o| text(o, "/type"),
            },
            Column {
                name: "Data",
                kind: "integer",
                priority: 0,
                cell: |o| count(o, &["/data"]),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Event" => {
            out.clear();
            out.extend([
                Column {
                    name: "Last Seen",
                    kind: "string",
                    priority: 0,
                    cell: |o| since(o, "/lastTimestamp"),
                },
                Column {
                    name: "Type",
                    kind: "string",
                    priority: 0,
                    cell: |o| text(o, "/type"),
                },
                Column {
                    name: "Reason",
                    kind: "string",
                    priority: 0,
                    cell: |o| text(o, "/reason"),
                },
                Column {
                    name: "Object",
                    kind: "string",
                    priority: 0,
                    cell: event_object,
                },
                Column {
                    name: "Message",
                    kind: "string",
                    priority: 0,
                    cell: |o| text(o, "/message"),
                },
            ]);
        }
        "HorizontalPodAutoscaler" => out.extend([
            Column {
                name: "Reference",
                kind: "string",
                priority: 0,
                cell: |o| {
                    json!(format!(
                        "{}/{}",
                        text_str(o, "/spec/scaleTargetRef/kind"),
                        text_str(o, "/spec/scaleTargetRef/name")
                    ))
                },
            },
            Column {
                name: "MinPods",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/spec/minReplicas"),
            },
            Column {
                name: "MaxPods",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/spec/maxReplicas"),
            },
            Column {
                name: "Replicas",
                kind: "integer",
                priority: 0,
                cell: |o| int(o, "/status/currentReplicas"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        "Lease" => out.extend([
            Column {
                name: "Holder",
                kind: "string",
                priority: 0,
                cell: |o| text(o, "/spec/holderIdentity"),
            },
            Column {
                name: "Age",
                kind: "string",
                priority: 0,
                cell: age,
            },
        ]),
        _ => out.push(Column {
            name: "Age",
            kind: "string",
            priority: 0,
            cell: age,
        }),
    }
    out
}

fn name(o: &Value) -> Value {
    text(o, "/metadata/name")
}

fn text(o: &Value, pointer: &str) -> Value {
    json!(text_str(o, pointer))
}

fn text_str<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn or_none(v: Value) -> Value {
    if v.as_str().is_none_or(str::is_empty) {
        json!("<none>")
    } else {
        v
    }
}

fn int(o: &Value, pointer: &str) -> Value {
    json!(o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0))
}

fn ratio(o: &Value, have: &str, want: &str) -> Value {
    let have = o.pointer(have).and_then(Value::as_i64).unwrap_or(0);
    let want = o.pointer(want).and_then(Value::as_i64).unwrap_or(0);
    json!(format!("{have}/{want}"))
}

fn count(o: &Value, pointers: &[&str]) -> Value {
    let n: usize = pointers
        .iter()
        .filter_map(|p| o.pointer(p).and_then(Value::as_object).map(|m| m.len()))
        .sum();
    json!(n)
}

fn containers(o: &Value, field: &str) -> Value {
    let list: Vec<&str> = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get(field).and_then(Value::as_str))
        .collect();
    json!(list.join(","))
}

fn age(o: &Value) -> Value {
    since(o, "/metadata/creationTimestamp")
}

fn since(o: &Value, pointer: &str) -> Value {
    let Some(time) = o
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
    else {
        return json!("<unknown>");
    };
    let elapsed = SystemTime::now().duration_since(time).unwrap_or_default();
    json!(short_duration(elapsed))
}

/// Kubernetes' `HumanDuration` style: `45s`, `5m10s`, `3h`, `2d4h`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10_800 => format!("{}m", s / 60),
        10_800..172_800 => format!("{}h", s / 3600),
        172_800..691_200 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn pod_ready(o: &Value) -> Value {
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses
        .into_iter()
        .flatten()
        .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    json!(format!("{ready}/{total}"))
}

fn pod_status(o: &Value) -> Value {
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return json!("Terminating");
    }
    if let Some(reason) = o.pointer("/status/reason").and_then(Value::as_str) {
        return json!(reason);
    }
    for status in o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(reason) = status
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
        {
            return json!(reason);
        }
        if let Some(reason) = status
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str)
        {
            return json!(reason);
        }
    }
    json!(
        o.pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending")
    )
}

fn pod_restarts(o: &Value) -> Value {
    let n: i64 = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("restartCount").and_then(Value::as_i64))
        .sum();
    json!(n.to_string())
}

fn job_status(o: &Value) -> Value {
    for condition in o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if condition.get("status").and_then(Value::as_str) == Some("True") {
            match condition.get("type").and_then(Value::as_str) {
                Some("Complete") => return json!("Complete"),
                Some("Failed") => return json!("Failed"),
                _ => {}
            }
        }
    }
    json!("Running")
}

fn node_status(o: &Value) -> Value {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        .and_then(|c| c.get("status").and_then(Value::as_str));
    let mut status = match ready {
        Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    json!(status)
}

fn external_ip(o: &Value) -> Value {
    let ingress: Vec<&str> = o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.get("ip")
                .or_else(|| i.get("hostname"))
                .and_then(Value::as_str)
        })
        .collect();
    if !ingress.is_empty() {
        return json!(ingress.join(","));
    }
    if text_str(o, "/spec/type") == "LoadBalancer" {
        json!("<pending>")
    } else {
        json!("<none>")
    }
}

fn service_ports(o: &Value) -> Value {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node_port) => format!("{port}:{node_port}/{protocol}"),
                None => format!("{port}/{protocol}"),
            }
        })
        .collect();
    or_none(json!(ports.join(",")))
}

fn event_object(o: &Value) -> Value {
    json!(format!(
        "{}/{}",
        text_str(o, "/involvedObject/kind").to_lowercase(),
        text_str(o, "/involvedObject/name")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
