//! Cluster IPs and nodePorts: allocated unique and in range, even by concurrent creates;
//! requested values checked with Kubernetes' wording; kept across updates and applies that
//! omit them; released when the type goes back to `ClusterIP`. And the port rules.

use crate::{Cluster, NS, causes, service};
use axum::http::{Method, StatusCode};
use k8s_openapi::api::core::v1::Service;
use serde_json::json;
use std::collections::HashSet;
use std::net::Ipv4Addr;

fn node_port(service: &Service) -> i32 {
    service
        .spec
        .as_ref()
        .expect("spec")
        .ports
        .as_ref()
        .expect("ports")[0]
        .node_port
        .expect("nodePort")
}

fn cluster_ip(service: &Service) -> String {
    service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .expect("clusterIP")
}

fn in_service_range(ip: &str) -> bool {
    let ip: Ipv4Addr = ip.parse().expect("an IPv4 address");
    let [a, b, c, d] = ip.octets();
    a == 10 && (96..112).contains(&b) && !(b == 96 && c == 0 && d < 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_unique_values_in_range() {
    let cluster = std::sync::Arc::new(Cluster::start().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..150 {
        let cluster = cluster.clone();
        tasks.spawn(async move {
            cluster
                .create_service(service(&format!("svc-{i}"), "web", "NodePort", json!(8080)))
                .await
                .expect("create")
        });
    }
    let mut ports = HashSet::new();
    let mut ips = HashSet::new();
    while let Some(created) = tasks.join_next().await {
        let created = created.expect("task");
        let port = node_port(&created);
        assert!(
            (30000..=32767).contains(&port),
            "nodePort {port} out of range"
        );
        assert!(ports.insert(port), "nodePort {port} allocated twice");
        let ip = cluster_ip(&created);
        assert!(in_service_range(&ip), "clusterIP {ip} out of range");
        assert!(ips.insert(ip.clone()), "clusterIP {ip} allocated twice");
        let spec = created.spec.expect("spec");
        assert_eq!(spec.cluster_ips, Some(vec![ip]));
        assert_eq!(spec.ip_families, Some(vec!["IPv4".to_string()]));
        assert_eq!(spec.ip_family_policy.as_deref(), Some("SingleStack"));
    }
    assert_eq!(ports.len(), 150);
}

#[tokio::test]
async fn a_requested_node_port_must_be_free_and_in_range() {
    let cluster = Cluster::start().await;
    let mut first = service("first", "web", "NodePort", json!(8080));
    first["spec"]["ports"][0]["nodePort"] = json!(30080);
    let created = cluster.create_service(first).await.expect("first");
    assert_eq!(node_port(&created), 30080);

    let mut second = service("second", "web", "NodePort", json!(8080));
    second["spec"]["ports"][0]["nodePort"] = json!(30080);
    let err = cluster
        .create_service(second.clone())
        .await
        .expect_err("taken");
    assert_eq!(err.code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        causes(&err),
        [(
            "spec.ports[0].nodePort".to_string(),
            "Invalid value: 30080: provided port is already allocated".to_string()
        )]
    );
    assert!(
        err.message.contains("Service \"second\" is invalid"),
        "{}",
        err.message
    );

    second["spec"]["ports"][0]["nodePort"] = json!(40000);
    let err = cluster
        .create_service(second.clone())
        .await
        .expect_err("out of range");
    assert_eq!(err.code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err.message.contains(
            "provided port is not in the valid range. The range of valid ports is 30000-32767"
        ),
        "{}",
        err.message
    );

    // Deleting the first frees its port.
    cluster
        .client
        .delete::<Service>(
            Some(NS),
            "first",
            None,
            skiff_controlplane::machinery::client::Propagation::Background,
        )
        .await
        .expect("delete");
    second["spec"]["ports"][0]["nodePort"] = json!(30080);
    let created = cluster.create_service(second).await.expect("freed");
    assert_eq!(node_port(&created), 30080);
}

#[tokio::test]
async fn a_requested_cluster_ip_must_be_free_and_in_range() {
    let cluster = Cluster::start().await;
    let mut a = service("a", "web", "ClusterIP", json!(8080));
    a["spec"]["clusterIP"] = json!("10.96.10.10");
    cluster.create_service(a).await.expect("a");
    let mut b = service("b", "web", "ClusterIP", json!(8080));
    b["spec"]["clusterIP"] = json!("10.96.10.10");
    let err = cluster.create_service(b.clone()).await.expect_err("taken");
    assert!(
        err.message.contains("provided IP is already allocated"),
        "{}",
        err.message
    );
    b["spec"]["clusterIP"] = json!("192.168.0.1");
    let err = cluster.create_service(b).await.expect_err("outside");
    assert!(
        err.message
            .contains("The range of valid IPs is 10.96.0.0/12"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn the_cluster_ip_is_kept_across_updates_and_immutable() {
    let cluster = Cluster::start().await;
    let created = cluster
        .create_service(service("web", "web", "ClusterIP", json!(8080)))
        .await
        .expect("create");
    let ip = cluster_ip(&created);

    // A PUT of the object without clusterIP (as `kubectl replace` of the original file).
    let uri = format!("/api/v1/namespaces/{NS}/services/web");
    let mut body = service("web", "web", "ClusterIP", json!(8081));
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Service");
    let (status, object) = cluster
        .request(Method::PUT, &uri, "application/json", &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{object}");
    assert_eq!(object["spec"]["clusterIP"], json!(ip));
    assert_eq!(object["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(object["spec"]["ports"][0]["targetPort"], 8081);

    // An update through the client that changes something else.
    let updated = cluster
        .client
        .update::<Service>(Some(NS), "web", |s| {
            s.metadata
                .labels
                .get_or_insert_default()
                .insert("tier".into(), "front".into());
            true
        })
        .await
        .expect("update");
    assert_eq!(cluster_ip(&updated), ip);

    body["spec"]["clusterIP"] = json!("10.96.77.77");
    let (status, error) = cluster
        .request(Method::PUT, &uri, "application/json", &body)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let message = error["message"].as_str().unwrap_or("");
    assert!(message.contains("spec.clusterIP"), "{message}");
    assert!(message.contains("field is immutable"), "{message}");
    assert_eq!(cluster_ip(&cluster.service("web").await), ip);
}

#[tokio::test]
async fn node_ports_are_kept_when_an_apply_omits_them() {
    let cluster = Cluster::start().await;
    let uri = format!("/api/v1/namespaces/{NS}/services/web?fieldManager=kubectl&force=true");
    let mut config = service("web", "web", "NodePort", json!(8080));
    config["apiVersion"] = json!("v1");
    config["kind"] = json!("Service");
    let (status, first) = cluster
        .request(Method::PATCH, &uri, "application/apply-patch+yaml", &config)
        .await;
    assert!(status.is_success(), "{status} {first}");
    let port = first["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .expect("allocated");
    let ip = first["spec"]["clusterIP"].clone();

    config["metadata"]["labels"] = json!({"changed": "yes"});
    let (status, second) = cluster
        .request(Method::PATCH, &uri, "application/apply-patch+yaml", &config)
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["spec"]["ports"][0]["nodePort"], port);
    assert_eq!(second["spec"]["clusterIP"], ip);
    assert_eq!(second["metadata"]["labels"]["changed"], "yes");

    // A client-side apply: a strategic merge patch that leaves the ports' nodePorts alone.
    let patch = json!({"spec": {"ports": [{"name": "web", "port": 80, "targetPort": 9090}]}});
    let plain = format!("/api/v1/namespaces/{NS}/services/web");
    let (status, third) = cluster
        .request(
            Method::PATCH,
            &plain,
            "application/strategic-merge-patch+json",
            &patch,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["spec"]["ports"][0]["nodePort"], port);
    assert_eq!(third["spec"]["ports"][0]["targetPort"], 9090);

    // A replace (PUT) of the original file, which names no nodePort.
    let (status, fourth) = cluster
        .request(Method::PUT, &plain, "application/json", &config)
        .await;
    assert_eq!(status, StatusCode::OK, "{fourth}");
    assert_eq!(fourth["spec"]["ports"][0]["nodePort"], port);
    assert_eq!(fourth["spec"]["ports"][0]["targetPort"], 8080);
}

#[tokio::test]
async fn going_back_to_cluster_ip_releases_the_node_port() {
    let cluster = Cluster::start().await;
    let mut web = service("web", "web", "NodePort", json!(8080));
    web["spec"]["ports"][0]["nodePort"] = json!(31234);
    cluster.create_service(web).await.expect("create");
    let updated = cluster
        .client
        .update::<Service>(Some(NS), "web", |s| {
            s.spec.get_or_insert_default().type_ = Some("ClusterIP".into());
            true
        })
        .await
        .expect("to ClusterIP");
    let spec = updated.spec.expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.ports.expect("ports")[0].node_port, None);

    let mut other = service("other", "web", "NodePort", json!(8080));
    other["spec"]["ports"][0]["nodePort"] = json!(31234);
    let created = cluster.create_service(other).await.expect("released port");
    assert_eq!(node_port(&created), 31234);

    // A LoadBalancer gets a nodePort too.
    let lb = cluster
        .create_service(service("lb", "web", "LoadBalancer", json!(8080)))
        .await
        .expect("lb");
    assert!((30000..=32767).contains(&node_port(&lb)));
}

#[tokio::test]
async fn ports_are_validated() {
    let cluster = Cluster::start().await;
    let mut udp = service("udp", "web", "ClusterIP", json!(53));
    udp["spec"]["ports"][0]["protocol"] = json!("UDP");
    let err = cluster.create_service(udp).await.expect_err("udp");
    assert_eq!(err.code, StatusCode::UNPROCESSABLE_ENTITY);
    let found = causes(&err);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "spec.ports[0].protocol");
    assert!(found[0].1.contains("TCP only"), "{}", found[0].1);

    let two_unnamed = json!({"metadata": {"name": "two", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 80}]}});
    let err = cluster
        .create_service(two_unnamed)
        .await
        .expect_err("names");
    let fields: Vec<String> = causes(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        ["spec.ports[0].name", "spec.ports[1].name", "spec.ports[1]"]
    );

    let zero = json!({"metadata": {"name": "zero", "namespace": NS},
        "spec": {"ports": [{"port": 70000}]}});
    let err = cluster.create_service(zero).await.expect_err("range");
    assert_eq!(causes(&err)[0].0, "spec.ports[0].port");

    let mut cluster_ip_with_node_port = service("cip", "web", "ClusterIP", json!(8080));
    cluster_ip_with_node_port["spec"]["ports"][0]["nodePort"] = json!(30500);
    let err = cluster
        .create_service(cluster_ip_with_node_port)
        .await
        .expect_err("nodePort on ClusterIP");
    assert_eq!(causes(&err)[0].0, "spec.ports[0].nodePort");

    // A headless Service keeps `None` and needs no ports.
    let headless = json!({"metadata": {"name": "headless", "namespace": NS},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}}});
    let created = cluster.create_service(headless).await.expect("headless");
    assert_eq!(cluster_ip(&created), "None");
}
