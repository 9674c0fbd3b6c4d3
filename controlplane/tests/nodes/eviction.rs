//! The taint eviction controller: pods leave an unreachable node after their toleration.

use crate::{Cluster, config, eventually, taint, tolerate};
use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

fn deleting(pod: &Option<Pod>) -> bool {
    pod.as_ref()
        .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
}

#[tokio::test]
async fn pods_without_tolerations_leave_after_the_default_and_a_long_toleration_stays() {
    let cluster = Cluster::start(config(Duration::from_secs(1))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("dead").await;
    cluster.add_pod("plain", "dead", vec![]).await;
    cluster
        .add_pod("patient", "dead", vec![tolerate(UNREACHABLE, Some(3600))])
        .await;
    cluster.add_pod("bystander", "alive", vec![]).await;

    let evicted = cluster.evicted("plain").await.expect("still terminating");
    let condition = evicted
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "DisruptionTarget"))
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()));
    assert_eq!(
        condition,
        Some(("True".into(), "DeletionByTaintManager".into()))
    );
    eventually("the eviction event", || async {
        cluster
            .events_of("plain", "TaintManagerEviction")
            .contains(&"Marking for deletion Pod default/plain".to_string())
            .then_some(())
    })
    .await;
    // The patient pod's eviction was decided when plain's was, for an hour from now.
    assert!(!deleting(&cluster.pod("patient").await), "patient evicted");
    assert!(
        !deleting(&cluster.pod("bystander").await),
        "bystander evicted"
    );
}

#[tokio::test]
async fn a_pods_own_short_toleration_wins_over_the_default() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("dead").await;
    cluster
        .add_pod("quick", "dead", vec![tolerate(UNREACHABLE, Some(1))])
        .await;
    cluster.add_pod("default", "dead", vec![]).await;
    cluster
        .add_pod("forever", "dead", vec![tolerate(UNREACHABLE, None)])
        .await;

    let quick = cluster.evicted("quick").await.expect("still terminating");
    // Not before its second was up: the taint was added at least a second before.
    let node = cluster.node("dead").await;
    let added = taint(&node, UNREACHABLE, "NoExecute")
        .and_then(|t| t.time_added.clone())
        .expect("the taint's time");
    let deleted = quick.metadata.deletion_timestamp.expect("deleting");
    assert!(
        deleted.0.as_second() - added.0.as_second() >= 1,
        "evicted at {deleted:?}, tainted at {added:?}"
    );
    assert!(!deleting(&cluster.pod("default").await), "default evicted");
    assert!(!deleting(&cluster.pod("forever").await), "forever evicted");
}

#[tokio::test]
async fn a_pod_bound_to_an_already_tainted_node_is_evicted_too() {
    let cluster = Cluster::start(config(Duration::from_millis(500))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("dead").await;
    eventually("the dead node tainted", || async {
        let node = cluster.node("dead").await;
        taint(&node, UNREACHABLE, "NoExecute").map(|_| ())
    })
    .await;
    cluster.add_pod("late", "dead", vec![]).await;
    cluster.evicted("late").await;
}

#[tokio::test]
async fn evictions_stop_when_the_node_comes_back() {
    let cluster = Cluster::start(config(Duration::from_secs(3600))).await;
    cluster.add_node("alive").await;
    cluster.keep_alive("alive");
    cluster.add_node("flaky").await;
    cluster
        .add_pod("waiting", "flaky", vec![tolerate(UNREACHABLE, Some(3))])
        .await;
    eventually("the flaky node tainted", || async {
        let node = cluster.node("flaky").await;
        taint(&node, UNREACHABLE, "NoExecute").map(|_| ())
    })
    .await;
    cluster.keep_alive("flaky");
    eventually("the taint removed", || async {
        let node = cluster.node("flaky").await;
        taint(&node, UNREACHABLE, "NoExecute")
            .is_none()
            .then_some(())
    })
    .await;
    // Past the pod's 3 s from the taint: had the countdown survived the node's return,
    // the pod would be deleting by now.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!deleting(&cluster.pod("waiting").await), "waiting evicted");
}
