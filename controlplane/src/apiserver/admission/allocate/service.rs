//! What the server keeps of a Service across writes, as Kubernetes' service registry does
//! (`patchAllocatedValues`, `dropTypeDependentFields`): an update that leaves out
//! `spec.clusterIP` or a port's `nodePort` keeps the allocated value; a set clusterIP never
//! changes; nodePorts go when the type no longer needs them. Pure JSON in, JSON out; it
//! runs before admission, so it is careful with shapes it does not expect.
//!
//! Allocation itself (the free values, under a lock) is in
//! [`allocate`](crate::apiserver::admission::allocate); validation of the spec in
//! [`validate`](crate::apiserver::admission::validate).

use serde_json::{Value, json};
use skiff_model::field::FieldCause;

/// The first port of the NodePort range (Kubernetes' `--service-node-port-range`).
pub const NODE_PORT_MIN: i64 = 30000;
/// The last port of the NodePort range.
pub const NODE_PORT_MAX: i64 = 32767;
/// What a Service's `spec.clusterIP` is when it has none (a headless Service).
pub const HEADLESS: &str = "None";

/// The Service type, `ClusterIP` when unset.
pub fn service_type(service: &Value) -> &str {
    service
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// Whether a Service of this shape gets nodePorts: `NodePort`, and `LoadBalancer` unless
/// `allocateLoadBalancerNodePorts` is false.
pub fn needs_node_ports(service: &Value) -> bool {
    match service_type(service) {
        "NodePort" => true,
        "LoadBalancer" => {
            service
                .pointer("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false)
        }
        _ => false,
    }
}

/// Whether a Service of this shape has a cluster IP (every type but `ExternalName`).
pub fn needs_cluster_ip(service: &Value) -> bool {
    service_type(service) != "ExternalName"
}

/// The Service's `spec.clusterIP` (or the first of `clusterIPs`), if set and not empty.
pub fn cluster_ip(service: &Value) -> Option<&str> {
    service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty())
        .or_else(|| {
            service
                .pointer("/spec/clusterIPs/0")
                .and_then(Value::as_str)
                .filter(|ip| !ip.is_empty())
        })
}

/// The nodePorts a Service's ports name, with each port's index.
pub fn node_ports(service: &Value) -> Vec<(usize, i64)> {
    ports(service)
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.get("nodePort")?.as_i64()?)))
        .filter(|(_, n)| *n != 0)
        .collect()
}

fn ports(service: &Value) -> &[Value] {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Carries what the server allocated from `old` into an update `new` that left it out, and
/// refuses a change of a set clusterIP. Returns the problems as field causes (empty when
/// the update may go on).
pub fn carry_over(old: &Value, new: &mut Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    if !new.get("spec").is_some_and(Value::is_object) {
        return causes;
    }
    keep_cluster_ip(old, new, &mut causes);
    if needs_node_ports(old) && needs_node_ports(new) {
        keep_node_ports(old, new);
    } else if needs_node_ports(old) {
        drop_unchanged_node_ports(old, new);
    }
    causes
}

/// An omitted clusterIP keeps the old one; a different one is refused, except when the
/// type moves to or from `ExternalName` (which has none).
fn keep_cluster_ip(old: &Value, new: &mut Value, causes: &mut Vec<FieldCause>) {
    if !needs_cluster_ip(new) {
        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut)
            && needs_cluster_ip(old)
            && spec.get("clusterIP") == old.pointer("/spec/clusterIP")
        {
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                spec.remove(field);
            }
        }
        return;
    }
    let Some(old_ip) = cluster_ip(old).filter(|_| needs_cluster_ip(old)) else {
        return;
    };
    match cluster_ip(new) {
        None => {
            new["spec"]["clusterIP"] = json!(old_ip);
            new["spec"]["clusterIPs"] = json!([old_ip]);
        }
        Some(ip) if ip != old_ip => causes.push(FieldCause {
            kind: "FieldValueInvalid",
            field: "spec.clusterIP".into(),
            message: format!("Invalid value: {ip:?}: field is immutable"),
        }),
        Some(_) => {}
    }
}

/// A port without a nodePort keeps the one its old self had (matched by name, else by port
/// and protocol), unless another port of the update took it.
fn keep_node_ports(old: &Value, new: &mut Value) {
    let old_ports = ports(old).to_vec();
    let taken: Vec<i64> = node_ports(new).into_iter().map(|(_, n)| n).collect();
    let Some(new_ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
        return;
    };
    let mut given = taken;
    for port in new_ports.iter_mut() {
        if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        let Some(previous) = old_ports
            .iter()
            .find(|o| same_port(o, port))
            .and_then(|o| o.get("nodePort")?.as_i64())
            .filter(|n| *n != 0 && !given.contains(n))
        else {
            continue;
        };
        if let Some(map) = port.as_object_mut() {
            map.insert("nodePort".into(), json!(previous));
            given.push(previous);
        }
    }
}

/// Whether `old` is the earlier version of service port `new`: the same name when `new`
/// has one, else the same port number and protocol.
fn same_port(old: &Value, new: &Value) -> bool {
    let name = |p: &Value| {
        p.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let protocol = |p: &Value| {
        p.get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string()
    };
    if !name(new).is_empty() {
        return name(old) == name(new);
    }
    old.get("port") == new.get("port") && protocol(old) == protocol(new)
}

/// A Service whose new type needs no nodePorts loses those it still carries unchanged from
/// before (they were allocated, not asked for); a nodePort the writer changed stays, for
/// validation to refuse.
fn drop_unchanged_node_ports(old: &Value, new: &mut Value) {
    let old_ports: Vec<i64> = node_ports(old).into_iter().map(|(_, n)| n).collect();
    let Some(new_ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
        return;
    };
    for port in new_ports {
        let unchanged = port
            .get("nodePort")
            .and_then(Value::as_i64)
            .is_some_and(|n| n == 0 || old_ports.contains(&n));
        if unchanged && let Some(map) = port.as_object_mut() {
            map.remove("nodePort");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(kind: &str, ip: Option<&str>, ports: Value) -> Value {
        let mut s = json!({"metadata": {"name": "web"}, "spec": {"type": kind, "ports": ports}});
        if let Some(ip) = ip {
            s["spec"]["clusterIP"] = json!(ip);
            s["spec"]["clusterIPs"] = json!([ip]);
        }
        s
    }

    #[test]
    fn an_update_without_allocated_values_keeps_them() {
        let old = service(
            "NodePort",
            Some("10.96.0.7"),
            json!([{"name": "http", "port": 80, "nodePort": 30080},
                   {"name": "admin", "port": 81, "nodePort": 31000}]),
        );
        let mut new = service(
            "NodePort",
            None,
            json!([{"name": "admin", "port": 8181}, {"name": "http", "port": 80}]),
        );
        assert!(carry_over(&old, &mut new).is_empty());
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.7");
        assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.7"]));
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 31000);
        assert_eq!(new["spec"]["ports"][1]["nodePort"], 30080);
    }

    #[test]
    fn a_changed_cluster_ip_is_refused() {
        let old = service("ClusterIP", Some("10.96.0.7"), json!([{"port": 80}]));
        let mut new = service("ClusterIP", Some("10.96.0.8"), json!([{"port": 80}]));
        let causes = carry_over(&old, &mut new);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.clusterIP");
        assert!(causes[0].message.contains("field is immutable"));
    }

    #[test]
    fn going_back_to_cluster_ip_releases_node_ports() {
        let old = service(
            "NodePort",
            Some("10.96.0.7"),
            json!([{"port": 80, "nodePort": 30080}]),
        );
        let mut new = service("ClusterIP", None, json!([{"port": 80, "nodePort": 30080}]));
        assert!(carry_over(&old, &mut new).is_empty());
        assert!(new["spec"]["ports"][0].get("nodePort").is_none());
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.7");
    }

    #[test]
    fn a_node_port_taken_by_another_port_is_not_reused() {
        let old = service("NodePort", None, json!([{"port": 80, "nodePort": 30080}]));
        let mut new = service(
            "NodePort",
            None,
            json!([{"port": 81, "nodePort": 30080}, {"port": 80}]),
        );
        carry_over(&old, &mut new);
        assert!(new["spec"]["ports"][1].get("nodePort").is_none());
    }
}
