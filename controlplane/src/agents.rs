//! Where the control plane reaches a node's agent: [`address`] reads it from the Node's
//! status, as the kube-apiserver finds a kubelet. The API server's log handler and the
//! metrics collector's node follower both use it.

use serde_json::Value;

/// Where a node's agent listens: `status.addresses` (the `InternalIP`, else the
/// `Hostname`) and `status.daemonEndpoints.kubeletEndpoint.Port`, as `host:port`.
pub fn address(node: &Value) -> Option<String> {
    let addresses = node.pointer("/status/addresses")?.as_array()?;
    let of_type = |kind: &str| {
        addresses
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(kind))
            .and_then(|a| a.get("address")?.as_str())
            .filter(|a| !a.is_empty())
    };
    let host = of_type("InternalIP").or_else(|| of_type("Hostname"))?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")?
        .as_u64()
        .filter(|p| (1..=u64::from(u16::MAX)).contains(p))?;
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        Some(format!("[{host}]:{port}"))
    } else {
        Some(format!("{host}:{port}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_agent_address() {
        let node = |addresses: Value, port: Value| {
            json!({"status": {"addresses": addresses,
                "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})
        };
        let both = json!([{"type": "Hostname", "address": "n1"},
            {"type": "InternalIP", "address": "10.0.0.5"}]);
        assert_eq!(
            address(&node(both, json!(10250))).as_deref(),
            Some("10.0.0.5:10250")
        );
        let host = json!([{"type": "Hostname", "address": "n1"}]);
        assert_eq!(
            address(&node(host.clone(), json!(1))).as_deref(),
            Some("n1:1")
        );
        let v6 = json!([{"type": "InternalIP", "address": "::1"}]);
        assert_eq!(address(&node(v6, json!(80))).as_deref(), Some("[::1]:80"));
        assert_eq!(address(&node(host, json!(0))), None);
    }
}
