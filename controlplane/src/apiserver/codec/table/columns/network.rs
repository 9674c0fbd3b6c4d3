//! The columns of the kinds that describe Service traffic, as kubectl's printers show them:
//! Services (`NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE`, `SELECTOR` wide), Endpoints
//! (`NAME ENDPOINTS AGE`) and EndpointSlices (`NAME ADDRESSTYPE PORTS ENDPOINTS AGE`).

use super::cell::{Column, age, or_none, text, text_str};
use serde_json::{Value, json};

/// How many entries a list cell shows before `+ N more...` (kubectl's printers).
const SHOWN: usize = 3;

/// The columns after NAME of `kind` (one of the three).
pub(super) fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Service" => vec![
            string("Type", |o| text(o, "/spec/type")),
            string("Cluster-IP", |o| or_none(text(o, "/spec/clusterIP"))),
            string("External-IP", external_ip),
            string("Port(s)", service_ports),
            string("Age", age),
            Column {
                name: "Selector",
                kind: "string",
                priority: 1,
                cell: selector,
            },
        ],
        "Endpoints" => vec![string("Endpoints", endpoints), string("Age", age)],
        _ => vec![
            string("AddressType", |o| text(o, "/addressType")),
            string("Ports", slice_ports),
            string("Endpoints", slice_endpoints),
            string("Age", age),
        ],
    }
}

/// A string column shown by default.
fn string(name: &'static str, cell: fn(&Value) -> Value) -> Column {
    Column {
        name,
        kind: "string",
        priority: 0,
        cell,
    }
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
    let ports: Vec<String> = array(o, "/spec/ports")
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

fn selector(o: &Value) -> Value {
    let pairs: Vec<String> = o
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    or_none(json!(pairs.join(",")))
}

/// kubectl's `formatEndpoints`: the ready `ip:port` pairs (just `ip` when a subset has no
/// ports), three at most, then `+ N more...`; `<none>` without subsets.
fn endpoints(o: &Value) -> Value {
    let subsets: Vec<&Value> = array(o, "/subsets").collect();
    if subsets.is_empty() {
        return json!("<none>");
    }
    let mut shown = Vec::new();
    let mut count = 0;
    for subset in subsets {
        let addresses: Vec<&str> = array(subset, "/addresses")
            .filter_map(|a| a.get("ip").and_then(Value::as_str))
            .collect();
        let ports: Vec<i64> = array(subset, "/ports")
            .filter_map(|p| p.get("port").and_then(Value::as_i64))
            .collect();
        if ports.is_empty() {
            count += addresses.len();
            shown.extend(addresses.iter().map(|a| a.to_string()));
            continue;
        }
        for port in ports {
            count += addresses.len();
            shown.extend(addresses.iter().map(|a| format!("{a}:{port}")));
        }
    }
    shown.truncate(SHOWN);
    let list = shown.join(",");
    if count > SHOWN {
        json!(format!("{list} + {} more...", count - SHOWN))
    } else {
        json!(list)
    }
}

/// kubectl's `formatDiscoveryPorts`: port numbers (or names), `<unset>` when none.
fn slice_ports(o: &Value) -> Value {
    let ports: Vec<String> = array(o, "/ports")
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string(),
        })
        .collect();
    with_more(ports)
}

/// kubectl's `formatDiscoveryEndpoints`: every endpoint's addresses, `<unset>` when none.
fn slice_endpoints(o: &Value) -> Value {
    let addresses: Vec<String> = array(o, "/endpoints")
        .flat_map(|e| array(e, "/addresses"))
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    with_more(addresses)
}

/// kubectl's `listWithMoreString`.
fn with_more(mut list: Vec<String>) -> Value {
    let count = list.len();
    list.truncate(SHOWN);
    let joined = list.join(",");
    if count > SHOWN {
        json!(format!("{joined} + {} more...", count - SHOWN))
    } else if joined.is_empty() {
        json!("<unset>")
    } else {
        json!(joined)
    }
}

fn array<'a>(o: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_show_three_ready_pairs_then_a_count() {
        let ep = json!({"subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
            "notReadyAddresses": [{"ip": "10.0.0.9"}],
            "ports": [{"port": 80}, {"port": 81}]}]});
        assert_eq!(
            endpoints(&ep),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 1 more..."
        );
        assert_eq!(endpoints(&json!({})), "<none>");
        let not_ready = json!({"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.9"}],
                                            "ports": [{"port": 80}]}]});
        assert_eq!(endpoints(&not_ready), "");
    }

    #[test]
    fn slices_list_ports_and_addresses() {
        let slice = json!({"addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
        assert_eq!(slice_ports(&slice), "8080");
        assert_eq!(slice_endpoints(&slice), "10.0.0.1,10.0.0.2");
        assert_eq!(slice_endpoints(&json!({"endpoints": []})), "<unset>");
    }

    #[test]
    fn services_show_node_ports_and_ingress() {
        let svc = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.9",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}});
        assert_eq!(service_ports(&svc), "80:30080/TCP");
        assert_eq!(external_ip(&svc), "<pending>");
        let mut ready = svc.clone();
        ready["status"] = json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}});
        assert_eq!(external_ip(&ready), "192.0.2.1");
        assert_eq!(
            external_ip(&json!({"spec": {"type": "ClusterIP"}})),
            "<none>"
        );
    }
}
