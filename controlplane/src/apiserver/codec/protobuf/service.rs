//! `core/v1` Service: spec, ports, session affinity, and the status kubectl sends.

use super::schema::{
    Field,
    Type::{Bool, I32, IntOrString, Str},
    keep, list, map, msg, msgs, opt,
};

/// `core/v1` Service.
pub(crate) const SERVICE: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", SERVICE_SPEC),
    msg(3, "status", SERVICE_STATUS),
];

/// `core/v1` ServiceSpec.
pub(crate) const SERVICE_SPEC: &[Field] = &[
    msgs(1, "ports", SERVICE_PORT),
    map(2, "selector", Str),
    opt(3, "clusterIP", Str),
    list(18, "clusterIPs", Str),
    opt(4, "type", Str),
    list(5, "externalIPs", Str),
    opt(7, "sessionAffinity", Str),
    opt(8, "loadBalancerIP", Str),
    list(9, "loadBalancerSourceRanges", Str),
    opt(10, "externalName", Str),
    opt(11, "externalTrafficPolicy", Str),
    opt(12, "healthCheckNodePort", I32),
    opt(13, "publishNotReadyAddresses", Bool),
    msg(14, "sessionAffinityConfig", SESSION_AFFINITY_CONFIG),
    list(19, "ipFamilies", Str),
    keep(17, "ipFamilyPolicy", Str),
    keep(20, "allocateLoadBalancerNodePorts", Bool),
    keep(21, "loadBalancerClass", Str),
    keep(22, "internalTrafficPolicy", Str),
    keep(23, "trafficDistribution", Str),
];

/// `core/v1` ServicePort.
pub(crate) const SERVICE_PORT: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "protocol", Str),
    keep(6, "appProtocol", Str),
    keep(3, "port", I32),
    keep(4, "targetPort", IntOrString),
    opt(5, "nodePort", I32),
];

/// `core/v1` SessionAffinityConfig.
pub(crate) const SESSION_AFFINITY_CONFIG: &[Field] = &[msg(1, "clientIP", CLIENT_IP_CONFIG)];

/// `core/v1` ClientIpConfig.
pub(crate) const CLIENT_IP_CONFIG: &[Field] = &[keep(1, "timeoutSeconds", I32)];

/// `core/v1` ServiceStatus, reduced to the empty `loadBalancer` Go always writes.
pub(crate) const SERVICE_STATUS: &[Field] = &[msg(1, "loadBalancer", &[])];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s, strings};
    use k8s_openapi::api::core::v1 as openapi;
    use k8s_pb::api::core::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    #[test]
    fn load_balancer_service() {
        let object = pb::Service {
            metadata: Some(meta::ObjectMeta {
                labels: strings(&[("app", "web")]),
                ..new_meta("web")
            }),
            spec: Some(pb::ServiceSpec {
                ports: vec![
                    pb::ServicePort {
                        name: s("http"),
                        protocol: s("TCP"),
                        port: Some(80),
                        target_port: Some(IntOrString {
                            r#type: Some(0),
                            int_val: Some(8080),
                            str_val: s(""),
                        }),
                        node_port: Some(0),
                        app_protocol: s("http"),
                    },
                    pb::ServicePort {
                        name: s("https"),
                        protocol: s("TCP"),
                        port: Some(443),
                        target_port: Some(IntOrString {
                            r#type: Some(1),
                            int_val: Some(0),
                            str_val: s("https"),
                        }),
                        node_port: Some(30443),
                        app_protocol: None,
                    },
                ],
                selector: strings(&[("app", "web")]),
                cluster_ip: s(""),
                r#type: s("LoadBalancer"),
                external_ips: vec!["203.0.113.7".to_owned()],
                session_affinity: s("ClientIP"),
                load_balancer_source_ranges: vec!["10.0.0.0/8".to_owned()],
                external_traffic_policy: s("Local"),
                health_check_node_port: Some(0),
                publish_not_ready_addresses: Some(false),
                session_affinity_config: Some(pb::SessionAffinityConfig {
                    client_ip: Some(pb::ClientIpConfig {
                        timeout_seconds: Some(600),
                    }),
                }),
                ip_families: vec!["IPv4".to_owned()],
                ip_family_policy: s("SingleStack"),
                allocate_load_balancer_node_ports: Some(false),
                internal_traffic_policy: s("Cluster"),
                ..Default::default()
            }),
            status: Some(pb::ServiceStatus {
                load_balancer: Some(pb::LoadBalancerStatus::default()),
                conditions: vec![],
            }),
        };
        check::<openapi::Service>(
            &body("v1", "Service", &object),
            json!({
                "kind": "Service", "apiVersion": "v1",
                "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {
                    "ports": [
                        {"name": "http", "protocol": "TCP", "appProtocol": "http", "port": 80,
                         "targetPort": 8080},
                        {"name": "https", "protocol": "TCP", "port": 443, "targetPort": "https",
                         "nodePort": 30443}
                    ],
                    "selector": {"app": "web"},
                    "type": "LoadBalancer",
                    "externalIPs": ["203.0.113.7"],
                    "sessionAffinity": "ClientIP",
                    "loadBalancerSourceRanges": ["10.0.0.0/8"],
                    "externalTrafficPolicy": "Local",
                    "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                    "allocateLoadBalancerNodePorts": false,
                    "internalTrafficPolicy": "Cluster"
                },
                "status": {"loadBalancer": {}}
            }),
        );
    }
}
