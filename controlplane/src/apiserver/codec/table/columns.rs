//! The columns `kubectl get` shows for each kind, and how each cell is read from an
//! object (ages as Kubernetes' short durations, pod status as kubectl derives it).
//!
//! Parts: `cell` holds [`Column`] and the cell readers every kind shares; `network` holds
//! the columns of Services, Endpoints and EndpointSlices; `autoscaling` those of
//! HorizontalPodAutoscalers; `rbac` those of roles and bindings.

mod autoscaling;
mod cell;
mod network;
mod rbac;

pub(crate) use cell::Column;
pub use cell::short_duration;
use cell::{age, containers, count, int, name, ratio, since, text, text_str};
use serde_json::{Value, json};

/// The columns of `kind`.
pub(super) fn columns(kind: &str) -> Vec<Column> {
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
        "Service" | "Endpoints" | "EndpointSlice" => out.extend(network::columns(kind)),
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
        "HorizontalPodAutoscaler" => out.extend(autoscaling::columns()),
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            out.extend(rbac::columns(kind));
        }
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

fn event_object(o: &Value) -> Value {
    json!(format!(
        "{}/{}",
        text_str(o, "/involvedObject/kind").to_lowercase(),
        text_str(o, "/involvedObject/name")
    ))
}
