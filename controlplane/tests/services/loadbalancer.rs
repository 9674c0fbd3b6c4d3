//! The ServiceLB controller: a `LoadBalancer` Service's ingress is the InternalIP of every
//! Ready node, kept current as nodes come, go and change readiness.

use crate::{Cluster, NS, eventually, service};
use k8s_openapi::api::core::v1::{Node, Service};
use serde_json::json;
use skiff_controlplane::machinery::client::Propagation;

async fn ingress(cluster: &Cluster, name: &str) -> Vec<String> {
    cluster
        .service(name)
        .await
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|l| l.ingress)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.ip)
        .collect()
}

async fn wait_for(cluster: &Cluster, name: &str, ips: &[&str]) {
    let want: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    eventually(&format!("ingress {want:?}"), || async {
        (ingress(cluster, name).await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn load_balancer_ingress_lists_the_ready_nodes() {
    let cluster = Cluster::start().await;
    cluster.node("node-a", "192.0.2.10", true).await;
    cluster.node("node-b", "192.0.2.11", true).await;
    cluster.node("node-c", "192.0.2.12", false).await;
    cluster
        .create_service(service("lb", "web", "LoadBalancer", json!(8080)))
        .await
        .expect("service");
    wait_for(&cluster, "lb", &["192.0.2.10", "192.0.2.11"]).await;

    // A node turns ready, another goes away, another goes unready.
    cluster.set_node("node-c", "192.0.2.12", true).await;
    wait_for(&cluster, "lb", &["192.0.2.10", "192.0.2.11", "192.0.2.12"]).await;
    cluster
        .client
        .delete::<Node>(None, "node-a", None, Propagation::Background)
        .await
        .expect("delete node");
    wait_for(&cluster, "lb", &["192.0.2.11", "192.0.2.12"]).await;
    cluster.set_node("node-b", "192.0.2.11", false).await;
    wait_for(&cluster, "lb", &["192.0.2.12"]).await;

    // Several agents on one machine share an address: it is listed once.
    cluster.node("node-d", "192.0.2.12", true).await;
    cluster.node("node-e", "192.0.2.13", true).await;
    wait_for(&cluster, "lb", &["192.0.2.12", "192.0.2.13"]).await;

    // A ClusterIP Service has no ingress; one that stops being a LoadBalancer loses it.
    cluster
        .create_service(service("plain", "web", "ClusterIP", json!(8080)))
        .await
        .expect("plain");
    cluster
        .client
        .update::<Service>(Some(NS), "lb", |s| {
            s.spec.get_or_insert_default().type_ = Some("NodePort".into());
            true
        })
        .await
        .expect("to NodePort");
    wait_for(&cluster, "lb", &[]).await;
    assert!(ingress(&cluster, "plain").await.is_empty());
}
