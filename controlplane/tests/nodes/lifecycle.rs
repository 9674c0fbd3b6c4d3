//! The node lifecycle controller: heartbeats, Ready=Unknown, the node taints.

use crate::{Cluster, config, eventually, ready, taint, taints};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::machinery::informer::Informer;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";

#[tokio::test]
async fn a_silent_node_goes_unknown_with_the_unreachable_taints_and_recovers_when_it_reports() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("silent").await;

    let node = eventually("the silent node to be tainted unreachable", || async {
        let node = cluster.node("silent").await;
        taint(&node, UNREACHABLE, "NoExecute")
            .is_some()
            .then_some(node)
    })
    .await;
    assert_eq!(
        ready(&node),
        Some(("Unknown".into(), "NodeStatusUnknown".into()))
    );
    let message = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone());
    assert_eq!(
        message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    assert!(
        taint(&node, UNREACHABLE, "NoExecute")
            .and_then(|t| t.time_added.as_ref())
            .is_some(),
        "the NoExecute taint says when it was added"
    );
    assert!(
        taint(&node, UNREACHABLE, "NoSchedule").is_some(),
        "{:?}",
        taints(&node)
    );
    assert_eq!(taints(&node).len(), 2, "{:?}", taints(&node));

    // The node kept alive is untouched.
    let alive = cluster.node("alive").await;
    assert_eq!(ready(&alive).map(|r| r.0), Some("True".into()));
    assert!(taints(&alive).is_empty(), "{:?}", taints(&alive));
    eventually("a NodeNotReady event", || async {
        (!cluster.events_of("silent", "NodeNotReady").is_empty()).then_some(())
    })
    .await;

    // The agent comes back: its lease and Ready status are fresh again.
    cluster.keep_alive("silent");
    let node = eventually("the taints to be removed", || async {
        let node = cluster.node("silent").await;
        taints(&node).is_empty().then_some(node)
    })
    .await;
    assert_eq!(ready(&node).map(|r| r.0), Some("True".into()));
}

#[tokio::test]
async fn a_node_reporting_not_ready_gets_the_not_ready_taints() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("sick").await;
    // Its agent keeps reporting (so it never goes Unknown), but not ready.
    cluster.keep_reporting("sick", "False");
    let node = eventually("the not-ready taints", || async {
        let node = cluster.node("sick").await;
        (taint(&node, NOT_READY, "NoExecute").is_some()
            && taint(&node, NOT_READY, "NoSchedule").is_some())
        .then_some(node)
    })
    .await;
    assert!(
        taint(&node, UNREACHABLE, "NoExecute").is_none(),
        "{:?}",
        taints(&node)
    );
}

#[tokio::test]
async fn a_node_that_never_reported_is_unknown_after_the_grace_from_its_creation() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster
        .client
        .create(&Node {
            metadata: ObjectMeta {
                name: Some("mute".into()),
                ..ObjectMeta::default()
            },
            ..Node::default()
        })
        .await
        .expect("create node");
    let node = eventually("the mute node to be marked", || async {
        let node = cluster.node("mute").await;
        ready(&node).is_some().then_some(node)
    })
    .await;
    assert_eq!(
        ready(&node),
        Some(("Unknown".into(), "NodeStatusNeverUpdated".into()))
    );
}

#[tokio::test]
async fn when_every_node_is_silent_none_gets_a_noexecute_taint() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("only").await;
    let node = eventually("the node to be marked unreachable", || async {
        let node = cluster.node("only").await;
        taint(&node, UNREACHABLE, "NoSchedule")
            .is_some()
            .then_some(node)
    })
    .await;
    assert_eq!(ready(&node).map(|r| r.0), Some("Unknown".into()));
    // The NoSchedule taint and the NoExecute decision are written together: with no node
    // ready anywhere, the control plane suspects itself and evicts nothing.
    assert_eq!(taints(&node), [format!("{UNREACHABLE}:NoSchedule")]);
}

#[tokio::test]
async fn the_unreachable_taint_stays_while_the_node_stays_silent() {
    // The controller's next passes may read the node before its own write shows in the
    // informer; they must not take the taint back (the zone's rate would then delay it by
    // ten seconds). Every stored version of the node is watched for that.
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    let taken_back = Arc::new(AtomicBool::new(false));
    let nodes = Informer::<Node>::new();
    let flag = taken_back.clone();
    nodes.subscribe(move |change| {
        if let (Some(old), Some(new)) = (change.old, change.new)
            && taint(old, UNREACHABLE, "NoExecute").is_some()
            && taint(new, UNREACHABLE, "NoExecute").is_none()
            && ready(new).is_some_and(|r| r.0 == "Unknown")
        {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let stop = CancellationToken::new();
    nodes
        .start(cluster.client.state().store.clone(), stop.clone())
        .await
        .expect("node informer");
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("silent").await;
    eventually("the silent node tainted", || async {
        let node = cluster.node("silent").await;
        taint(&node, UNREACHABLE, "NoExecute").map(|_| ())
    })
    .await;
    // A few more passes over the silent node.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    assert!(
        !taken_back.load(Ordering::SeqCst),
        "the NoExecute taint was removed while the node stayed Unknown"
    );
}
