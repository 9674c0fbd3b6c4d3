//! The pod garbage collector: orphans, terminated pods, out-of-service nodes.

use crate::{Cluster, eventually};
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use skiff_controlplane::machinery::client::Propagation;
use skiff_controlplane::machinery::config::Config;
use std::time::Duration;

#[tokio::test]
async fn pods_of_a_deleted_node_are_deleted() {
    let cluster = Cluster::start(Config {
        node_monitor_grace: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    cluster.add_node("kept").await;
    cluster.add_node("removed").await;
    cluster.add_pod("orphan-a", "removed", vec![]).await;
    cluster.add_pod("orphan-b", "removed", vec![]).await;
    cluster.add_pod("housed", "kept", vec![]).await;
    cluster
        .client
        .delete::<Node>(None, "removed", None, Propagation::Background)
        .await
        .expect("delete node");
    cluster.gone("orphan-a").await;
    cluster.gone("orphan-b").await;
    let housed = cluster.pod("housed").await.expect("housed pod");
    assert!(housed.metadata.deletion_timestamp.is_none());
}

async fn finish(cluster: &Cluster, name: &str) {
    cluster
        .client
        .update_status::<Pod>(Some("default"), name, |pod| {
            pod.status.get_or_insert_default().phase = Some("Succeeded".into());
            true
        })
        .await
        .expect("pod status");
}

#[tokio::test]
async fn terminated_pods_beyond_the_threshold_go_oldest_first() {
    let cluster = Cluster::start(Config {
        node_monitor_grace: Duration::from_secs(3600),
        terminated_pod_threshold: 2,
        ..Config::default()
    })
    .await;
    cluster.add_node("n").await;
    cluster.add_pod("running", "n", vec![]).await;
    // Names sort against their age, so the order is the creation time's. Creation times
    // have second precision: a second apart each.
    for name in ["p4", "p3", "p2", "p1"] {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        cluster.add_pod(name, "n", vec![]).await;
    }
    for name in ["p1", "p2", "p3", "p4"] {
        finish(&cluster, name).await;
    }
    cluster.gone("p4").await;
    cluster.gone("p3").await;
    for name in ["p1", "p2", "running"] {
        assert!(cluster.pod(name).await.is_some(), "{name} deleted");
    }
}

#[tokio::test]
async fn terminating_pods_of_an_out_of_service_node_are_force_deleted() {
    let cluster = Cluster::start(Config {
        node_monitor_grace: Duration::from_secs(3600),
        default_toleration: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    cluster.add_node("alive").await;
    cluster.add_node("down").await;
    cluster.report("down", "False").await;
    cluster.add_pod("stuck", "down", vec![]).await;
    cluster
        .client
        .delete::<Pod>(Some("default"), "stuck", None, Propagation::Background)
        .await
        .expect("delete pod");
    let stuck = cluster.pod("stuck").await.expect("terminating, not gone");
    assert!(stuck.metadata.deletion_timestamp.is_some());
    cluster
        .client
        .update::<Node>(None, "down", |node| {
            node.spec
                .get_or_insert_default()
                .taints
                .get_or_insert_default()
                .push(Taint {
                    key: "node.kubernetes.io/out-of-service".into(),
                    value: Some("nodeshutdown".into()),
                    effect: "NoExecute".into(),
                    time_added: None,
                });
            true
        })
        .await
        .expect("taint node");
    cluster.gone("stuck").await;
}

#[tokio::test]
async fn an_out_of_service_node_loses_its_running_pods_too() {
    // The out-of-service taint is NoExecute: the taint eviction controller deletes the
    // pods that do not tolerate it, and the garbage collector force-deletes them.
    let cluster = Cluster::start(Config {
        node_monitor_grace: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    cluster.add_node("down").await;
    cluster.report("down", "False").await;
    cluster.add_pod("running", "down", vec![]).await;
    eventually("the pod bound", || async { cluster.pod("running").await }).await;
    cluster
        .client
        .update::<Node>(None, "down", |node| {
            node.spec
                .get_or_insert_default()
                .taints
                .get_or_insert_default()
                .push(Taint {
                    key: "node.kubernetes.io/out-of-service".into(),
                    value: None,
                    effect: "NoExecute".into(),
                    time_added: None,
                });
            true
        })
        .await
        .expect("taint node");
    cluster.gone("running").await;
}
