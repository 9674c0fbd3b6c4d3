//! Tests of the routing table: what Services, EndpointSlices and Nodes turn into.

use super::*;
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, NodeAddress, NodeDaemonEndpoints, NodeStatus, ObjectReference, ServicePort,
    ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{
    Endpoint as SliceEndpoint, EndpointConditions, EndpointPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// A Service of `kind` with `ports` as (name, port, nodePort).
pub(crate) fn service(
    name: &str,
    kind: &str,
    cluster_ip: &str,
    ports: &[(&str, i32, Option<i32>)],
) -> Arc<Service> {
    Arc::new(Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(kind.into()),
            cluster_ip: Some(cluster_ip.into()),
            ports: Some(
                ports
                    .iter()
                    .map(|(name, port, node_port)| ServicePort {
                        name: (!name.is_empty()).then(|| name.to_string()),
                        port: *port,
                        node_port: *node_port,
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

/// A slice of `service` with `ports` as (name, port) and `endpoints` as (pod, node,
/// ready).
pub(crate) fn slice(
    service: &str,
    ports: &[(&str, i32)],
    endpoints: &[(&str, &str, Option<bool>)],
) -> Arc<EndpointSlice> {
    Arc::new(EndpointSlice {
        metadata: ObjectMeta {
            name: Some(format!("{service}-abc")),
            namespace: Some("default".into()),
            labels: Some(BTreeMap::from([(
                SERVICE_NAME_LABEL.into(),
                service.into(),
            )])),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        ports: Some(
            ports
                .iter()
                .map(|(name, port)| EndpointPort {
                    name: Some(name.to_string()),
                    port: Some(*port),
                    protocol: Some("TCP".into()),
                    ..EndpointPort::default()
                })
                .collect(),
        ),
        endpoints: endpoints
            .iter()
            .map(|(pod, node, ready)| SliceEndpoint {
                addresses: vec!["127.0.0.1".into()],
                conditions: Some(EndpointConditions {
                    ready: *ready,
                    serving: *ready,
                    terminating: Some(false),
                }),
                node_name: Some(node.to_string()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    namespace: Some("default".into()),
                    name: Some(pod.to_string()),
                    uid: Some(format!("uid-{pod}")),
                    ..ObjectReference::default()
                }),
                ..SliceEndpoint::default()
            })
            .collect(),
    })
}

/// A Node whose agent listens at `addr`.
pub(crate) fn node(name: &str, addr: SocketAddr) -> Arc<Node> {
    Arc::new(Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress {
                    type_: "InternalIP".into(),
                    address: addr.ip().to_string(),
                },
                NodeAddress {
                    type_: "Hostname".into(),
                    address: name.into(),
                },
            ]),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint {
                    port: addr.port().into(),
                }),
            }),
            ..NodeStatus::default()
        }),
    })
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn objects() -> ClusterObjects {
    ClusterObjects {
        services: vec![
            service(
                "web",
                "NodePort",
                "10.96.0.10",
                &[("http", 80, Some(30080)), ("admin", 81, None)],
            ),
            service(
                "lb",
                "LoadBalancer",
                "10.96.0.11",
                &[("", 8000, Some(30081))],
            ),
            service(
                "internal",
                "ClusterIP",
                "10.96.0.12",
                &[("", 80, Some(30099))],
            ),
            service("headless", "ClusterIP", "None", &[("", 80, None)]),
        ],
        slices: vec![
            slice(
                "web",
                &[("http", 8080), ("admin", 9090)],
                &[
                    ("web-a", "a", Some(true)),
                    ("web-b", "b", Some(true)),
                    ("web-c", "b", Some(false)),
                ],
            ),
            slice(
                "web",
                &[("http", 8080)],
                &[("web-d", "c", None), ("web-e", "unknown", Some(true))],
            ),
            slice("lb", &[("", 8080)], &[("lb-a", "a", Some(true))]),
        ],
        nodes: vec![
            node("a", addr("127.0.0.2:10250")),
            node("b", addr("127.0.0.3:10251")),
            node("c", addr("127.0.0.4:10252")),
        ],
    }
}

fn pods(port: &PortRoute) -> Vec<(&str, u16, bool)> {
    port.endpoints
        .iter()
        .map(|e| (e.pod.name.as_str(), e.target_port, e.is_local()))
        .collect()
}

#[test]
fn routes_services_to_their_ready_endpoints() {
    let mut registry = Registry::default();
    let table = build(&objects(), &[], "a", &mut registry);
    let web = table.service("default", "web").expect("web");
    assert_eq!(web.display(), "default/web");
    // Not-ready web-c and web-e (on an unknown node) are left out; unset ready is ready.
    assert_eq!(
        pods(&web.ports[0]),
        vec![
            ("web-a", 8080, true),
            ("web-b", 8080, false),
            ("web-d", 8080, false)
        ]
    );
    assert_eq!(
        pods(&web.ports[1]),
        vec![("web-a", 9090, true), ("web-b", 9090, false)]
    );
    let b = &web.ports[0].endpoints[1];
    assert_eq!(b.forward_to, "default/web-b/8080");
    assert!(
        matches!(&b.place, Place::Peer { addr: a, node, .. } if *a == addr("127.0.0.3:10251") && node == "b")
    );
    let headless = table.service("default", "headless").expect("headless");
    assert_eq!(headless.ports[0].port, 80);
    assert!(table.service("default", "nope").is_none());
}

#[test]
fn maps_node_ports_balancer_ports_and_cluster_ips() {
    let mut registry = Registry::default();
    let table = build(&objects(), &[], "b", &mut registry);
    let web = table.node_port(30080).expect("node port");
    assert_eq!(
        (web.service.display(), web.port().port),
        ("default/web".into(), 80)
    );
    // Seen from node b, web-b is the local one.
    assert_eq!(pods(web.port())[1], ("web-b", 8080, true));
    let lb = table.node_port(30081).expect("LoadBalancer node port");
    assert_eq!(lb.service.display(), "default/lb");
    assert_eq!(
        table.balancer_port(8000).map(|p| p.service.display()),
        Some("default/lb".into())
    );
    // A ClusterIP Service has no node port even if the field is set.
    assert!(table.node_port(30099).is_none());
    assert_eq!(table.listen_ports(), (vec![30080, 30081], vec![8000]));
    let admin = table.cluster_ip(addr("10.96.0.10:81")).expect("cluster IP");
    assert_eq!(admin.port().port, 81);
    assert!(table.cluster_ip(addr("10.96.0.10:82")).is_none());
    assert!(table.cluster_ip(addr("10.96.0.12:80")).is_some());
}

#[test]
fn counters_survive_rebuilds_and_go_with_their_pods() {
    let mut registry = Registry::default();
    let first = build(&objects(), &[], "a", &mut registry);
    let load = first.service("default", "web").expect("web").ports[0].endpoints[0]
        .load
        .clone();
    load.fetch_add(3, std::sync::atomic::Ordering::Relaxed);
    let second = build(&objects(), &[], "a", &mut registry);
    let again = &second.service("default", "web").expect("web").ports[0].endpoints[0];
    assert!(
        Arc::ptr_eq(&load, &again.load),
        "same counter after a rebuild"
    );

    let mut fewer = objects();
    fewer.slices.truncate(1);
    fewer.services.truncate(1);
    drop((first, second));
    let _ = build(&fewer, &[], "a", &mut registry);
    assert!(
        !registry
            .services
            .contains_key(&("default".into(), "lb".into()))
    );
    assert!(!registry.answers.keys().any(|(_, pod)| pod == "web-d"));
    assert!(!registry.loads.keys().any(|((_, pod), _)| pod == "web-d"));
    // web-a is still in a slice: its counter stays.
    assert!(registry.loads.values().any(|l| Arc::ptr_eq(l, &load)));
}

#[test]
fn local_pods_have_request_counters_ready_or_not() {
    let mut registry = Registry::default();
    let table = build(&objects(), &[], "b", &mut registry);
    let web_b = table.local_requests("default", "web-b").expect("web-b");
    // Not ready, but on this node: a peer with a newer view may still send it requests.
    assert!(table.local_requests("default", "web-c").is_some());
    assert!(table.local_requests("default", "web-a").is_none(), "on a");
    let endpoint = table.service("default", "web").expect("web").ports[0]
        .endpoints
        .iter()
        .find(|e| e.pod.name == "web-b")
        .expect("web-b's endpoint");
    assert!(Arc::ptr_eq(
        web_b,
        endpoint.requests.as_ref().expect("local")
    ));
    let peer = table.service("default", "web").expect("web").ports[0]
        .endpoints
        .iter()
        .find(|e| e.pod.name == "web-a")
        .expect("web-a's endpoint");
    assert!(peer.requests.is_none(), "a peer counts its own pods");
    let mut pods: Vec<_> = registry.requests.keys().map(|(_, p)| p.as_str()).collect();
    pods.sort_unstable();
    assert_eq!(pods, ["web-b", "web-c"]);
}

/// A pod ready on this node with `labels` and named ports.
fn ready_pod(namespace: &str, name: &str, app: &str, named: &[(&str, u16)]) -> Arc<ReadyPod> {
    Arc::new(ReadyPod {
        pod: PodKey {
            namespace: namespace.into(),
            name: name.into(),
        },
        uid: format!("uid-{name}"),
        labels: BTreeMap::from([("app".to_string(), app.to_string())]),
        named_ports: named.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
    })
}

#[test]
fn pods_ready_here_join_the_services_that_select_them_before_their_slices() {
    let mut objects = objects();
    let mut web = (*objects.services[0]).clone();
    let spec = web.spec.as_mut().expect("spec");
    spec.selector = Some(BTreeMap::from([("app".to_string(), "web".to_string())]));
    let ports = spec.ports.as_mut().expect("ports");
    ports[0].target_port = Some(IntOrString::String("http".into()));
    ports[1].target_port = Some(IntOrString::Int(9090));
    objects.services[0] = Arc::new(web);
    let ready = [
        // Already in the slice: not listed twice.
        ready_pod("default", "web-a", "web", &[("http", 8080)]),
        ready_pod("default", "web-new", "web", &[("http", 8081)]),
        // No port named `http`: only the numbered target port.
        ready_pod("default", "web-unnamed", "web", &[]),
        ready_pod("other", "web-elsewhere", "web", &[("http", 8080)]),
        ready_pod("default", "api-1", "api", &[("http", 8080)]),
    ];
    let mut registry = Registry::default();
    let table = build(&objects, &ready, "a", &mut registry);
    let web = table.service("default", "web").expect("web");
    assert_eq!(
        pods(&web.ports[0]),
        vec![
            ("web-a", 8080, true),
            ("web-b", 8080, false),
            ("web-d", 8080, false),
            ("web-new", 8081, true),
        ]
    );
    let mut admin = pods(&web.ports[1]);
    admin.sort_unstable();
    assert_eq!(
        admin,
        vec![
            ("web-a", 9090, true),
            ("web-b", 9090, false),
            ("web-new", 9090, true),
            ("web-unnamed", 9090, true),
        ]
    );
    let new = &web.ports[0].endpoints[3];
    assert_eq!(new.forward_to, "default/web-new/8081");
    assert!(
        table.local_requests("default", "web-new").is_some(),
        "its requests are counted"
    );
    // A Service without a selector (hand-written endpoints) gets none.
    let internal = table.service("default", "internal").expect("internal");
    assert!(internal.ports[0].endpoints.is_empty());
}
