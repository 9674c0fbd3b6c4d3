//! Validation of a Service's spec, with Kubernetes' field paths and wording: the type,
//! the ports (number, name, protocol, target port, nodePort only where the type has one),
//! and the cluster IP's shape. Whether a clusterIP or nodePort is free and in range is the
//! allocator's to say ([`crate::apiserver::admission::allocate`]).

use super::cause::{invalid, required};
use crate::apiserver::admission::allocate::service::{HEADLESS, needs_cluster_ip, service_type};
use serde_json::Value;
use skiff_model::field::FieldCause;
use std::net::Ipv4Addr;

/// The Service types Kubernetes has.
const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// Every problem with a Service's spec.
pub(super) fn check(service: &Value, causes: &mut Vec<FieldCause>) {
    let kind = service_type(service);
    if !TYPES.contains(&kind) {
        causes.push(not_supported(
            "spec.type",
            kind,
            "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            "",
        ));
        return;
    }
    let cluster_ip = service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("");
    check_cluster_ip(kind, cluster_ip, service, causes);
    let ports = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if ports.is_empty() && kind != "ExternalName" && cluster_ip != HEADLESS {
        causes.push(required("spec.ports", "Required value"));
    }
    let mut names: Vec<&str> = Vec::new();
    let mut numbers: Vec<(i64, &str)> = Vec::new();
    let mut node_ports: Vec<i64> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        let name = port.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            if ports.len() > 1 {
                causes.push(required(&format!("{at}.name"), "Required value"));
            }
        } else if names.contains(&name) {
            causes.push(duplicate(&format!("{at}.name"), &format!("{name:?}")));
        } else {
            if let Err(why) = dns_label(name) {
                causes.push(invalid(
                    &format!("{at}.name"),
                    &format!("Invalid value: {name:?}: {why}"),
                ));
            }
            names.push(name);
        }
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            causes.push(invalid(
                &format!("{at}.port"),
                &format!("Invalid value: {number}: must be between 1 and 65535, inclusive"),
            ));
        }
        let protocol = port
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP");
        if protocol != "TCP" {
            causes.push(not_supported(
                &format!("{at}.protocol"),
                protocol,
                "\"TCP\"",
                " (Skiff routes HTTP to Services over TCP only)",
            ));
        }
        if numbers.contains(&(number, protocol)) {
            causes.push(duplicate(&at, &format!("\"{number}/{protocol}\"")));
        } else {
            numbers.push((number, protocol));
        }
        check_target_port(&at, port.get("targetPort"), causes);
        let node_port = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 {
            if kind == "ClusterIP" || kind == "ExternalName" {
                causes.push(FieldCause {
                    kind: "FieldValueForbidden",
                    field: format!("{at}.nodePort"),
                    message: format!("Forbidden: may not be used when `type` is '{kind}'"),
                });
            } else if node_ports.contains(&node_port) {
                causes.push(duplicate(&format!("{at}.nodePort"), &node_port.to_string()));
            } else {
                node_ports.push(node_port);
            }
        }
    }
}

/// A clusterIP is empty (to allocate), `None` (headless, `ClusterIP` type only) or an IPv4
/// address matching `clusterIPs[0]`; Skiff clusters are IPv4 single-stack.
fn check_cluster_ip(kind: &str, ip: &str, service: &Value, causes: &mut Vec<FieldCause>) {
    if !needs_cluster_ip(service) {
        return;
    }
    if ip == HEADLESS {
        if kind != "ClusterIP" {
            causes.push(invalid(
                "spec.clusterIP",
                &format!("Invalid value: \"None\": may not be set to 'None' for {kind} services"),
            ));
        }
    } else if !ip.is_empty() && ip.parse::<Ipv4Addr>().is_err() {
        causes.push(invalid(
            "spec.clusterIP",
            &format!("Invalid value: {ip:?}: must be a valid IPv4 address (e.g. 10.96.0.10)"),
        ));
    }
    let ips = service
        .pointer("/spec/clusterIPs")
        .and_then(Value::as_array);
    if let Some(first) = ips.and_then(|l| l.first()).and_then(Value::as_str)
        && !ip.is_empty()
        && first != ip
    {
        causes.push(invalid(
            "spec.clusterIPs[0]",
            &format!("Invalid value: {first:?}: must match `clusterIP` {ip:?}"),
        ));
    }
    if ips.is_some_and(|l| l.len() > 1) {
        causes.push(invalid(
            "spec.clusterIPs",
            "Invalid value: may have at most one address: Skiff clusters are IPv4 single-stack",
        ));
    }
    for (i, family) in service
        .pointer("/spec/ipFamilies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let family = family.as_str().unwrap_or("");
        if family != "IPv4" {
            causes.push(not_supported(
                &format!("spec.ipFamilies[{i}]"),
                family,
                "\"IPv4\"",
                " (Skiff clusters are IPv4 single-stack)",
            ));
        }
    }
    if let Some(policy) = service
        .pointer("/spec/ipFamilyPolicy")
        .and_then(Value::as_str)
        && policy == "RequireDualStack"
    {
        causes.push(invalid(
            "spec.ipFamilyPolicy",
            "Invalid value: \"RequireDualStack\": this cluster is IPv4 single-stack",
        ));
    }
}

/// A target port is a number in 1–65535 or the name of a container port (an IANA service
/// name: at most 15 lowercase letters, digits and single inner dashes, one letter at least).
fn check_target_port(at: &str, target: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let field = format!("{at}.targetPort");
    match target {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            if !(1..=65535).contains(&n) {
                causes.push(invalid(
                    &field,
                    &format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
                ));
            }
        }
        Some(Value::String(name)) => {
            let ok = !name.is_empty()
                && name.len() <= 15
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.chars().any(|c| c.is_ascii_lowercase())
                && !name.starts_with('-')
                && !name.ends_with('-')
                && !name.contains("--");
            if !ok {
                causes.push(invalid(
                    &field,
                    &format!(
                        "Invalid value: {name:?}: must be a port number or an IANA_SVC_NAME \
                         (at most 15 characters, only lowercase alphanumerics and '-', at least \
                         one letter)"
                    ),
                ));
            }
        }
        Some(_) => {}
    }
}

fn dns_label(name: &str) -> Result<(), &'static str> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character",
        )
    }
}

fn duplicate(field: &str, value: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueDuplicate",
        field: field.to_string(),
        message: format!("Duplicate value: {value}"),
    }
}

fn not_supported(field: &str, value: &str, supported: &str, why: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueNotSupported",
        field: field.to_string(),
        message: format!("Unsupported value: {value:?}: supported values: {supported}{why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn causes(spec: Value) -> Vec<FieldCause> {
        let mut out = Vec::new();
        check(&json!({"metadata": {"name": "s"}, "spec": spec}), &mut out);
        out
    }

    fn fields(spec: Value) -> Vec<String> {
        causes(spec).into_iter().map(|c| c.field).collect()
    }

    #[test]
    fn a_plain_service_is_valid() {
        assert!(causes(json!({"ports": [{"port": 80, "targetPort": "http"}]})).is_empty());
        assert!(causes(json!({"clusterIP": "None"})).is_empty());
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(fields(json!({})), ["spec.ports"]);
        assert_eq!(
            fields(json!({"ports": [{"port": 0}]})),
            ["spec.ports[0].port"]
        );
        assert_eq!(
            fields(json!({"ports": [{"port": 80}, {"port": 81}]})),
            ["spec.ports[0].name", "spec.ports[1].name"]
        );
        assert_eq!(
            fields(json!({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]})),
            ["spec.ports[1]"]
        );
        assert_eq!(
            fields(json!({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]})),
            ["spec.ports[1].name"]
        );
        assert_eq!(
            fields(json!({"ports": [{"port": 80, "targetPort": 70000}]})),
            ["spec.ports[0].targetPort"]
        );
        assert_eq!(
            fields(json!({"ports": [{"port": 80, "targetPort": "Not_A_Name"}]})),
            ["spec.ports[0].targetPort"]
        );
    }

    #[test]
    fn only_tcp_is_routed() {
        let out = causes(json!({"ports": [{"port": 53, "protocol": "UDP"}]}));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field, "spec.ports[0].protocol");
        assert!(out[0].message.contains("TCP only"), "{}", out[0].message);
    }

    #[test]
    fn node_ports_belong_to_node_port_types() {
        assert_eq!(
            fields(json!({"ports": [{"port": 80, "nodePort": 30080}]})),
            ["spec.ports[0].nodePort"]
        );
        assert!(
            causes(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}))
                .is_empty()
        );
        assert_eq!(
            fields(json!({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]})),
            ["spec.clusterIP"]
        );
        assert_eq!(fields(json!({"type": "Bogus"})), ["spec.type"]);
    }
}
