//! A pod that fits nowhere: FailedScheduling in kube-scheduler's words, PodScheduled=False,
//! and a new try when the cluster changes.

use super::*;
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};

/// The pod's PodScheduled condition.
fn scheduled_condition(pod: &Pod) -> Option<PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .cloned()
}

/// Waits for the pod's FailedScheduling event; returns its message.
async fn failed_scheduling(cluster: &Cluster, name: &str) -> String {
    eventually(&format!("FailedScheduling for {name}"), || async {
        let events = cluster.events_of(name, "FailedScheduling");
        events.last().map(|(kind, message)| {
            assert_eq!(kind, "Warning");
            message.clone()
        })
    })
    .await
}

/// Waits until the pod's condition says it is unschedulable; returns its message.
async fn unschedulable(cluster: &Cluster, name: &str) -> String {
    eventually(&format!("PodScheduled=False on {name}"), || async {
        let condition = scheduled_condition(&cluster.get(name).await)?;
        (condition.status == "False").then(|| {
            assert_eq!(condition.reason.as_deref(), Some("Unschedulable"));
            condition.message.unwrap_or_default()
        })
    })
    .await
}

#[tokio::test]
async fn a_pod_too_big_for_every_node_waits_says_why_and_binds_when_a_big_node_comes() {
    let cluster = Cluster::start().await;
    cluster.add_node("small-1", "4", "1Gi", 110).await;
    cluster.add_node("small-2", "4", "1Gi", 110).await;
    cluster.create(&pod("big", "100m", "4Gi")).await;
    let expected = "0/2 nodes are available: 2 Insufficient memory.";
    assert_eq!(failed_scheduling(&cluster, "big").await, expected);
    assert_eq!(unschedulable(&cluster, "big").await, expected);
    assert_eq!(node_of(&cluster.get("big").await), None);

    cluster.add_node("large", "4", "8Gi", 110).await;
    assert_eq!(cluster.bound("big").await, "large");
    let condition = scheduled_condition(&cluster.get("big").await).expect("condition");
    assert_eq!(condition.status, "True");
}

#[tokio::test]
async fn reasons_are_counted_per_node_taint_first() {
    let cluster = Cluster::start().await;
    let mut unreachable = node("gone", "8", "8Gi", 110);
    unreachable
        .status
        .as_mut()
        .expect("status")
        .conditions
        .as_mut()
        .expect("conditions")[0]
        .status = "Unknown".into();
    cluster.add_node_with(unreachable).await;
    cluster.add_node("small-1", "4", "1Gi", 110).await;
    cluster.add_node("small-2", "4", "1Gi", 110).await;
    cluster.create(&pod("web-1", "100m", "2Gi")).await;
    assert_eq!(
        failed_scheduling(&cluster, "web-1").await,
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient memory."
    );
}

#[tokio::test]
async fn with_no_nodes_at_all_the_pod_waits_for_the_first() {
    let cluster = Cluster::start().await;
    cluster.create(&pod("early", "0", "0")).await;
    assert_eq!(
        failed_scheduling(&cluster, "early").await,
        "no nodes available to schedule pods"
    );
    cluster.add_node("first", "1", "1Gi", 110).await;
    assert_eq!(cluster.bound("early").await, "first");
}

#[tokio::test]
async fn a_node_becoming_ready_gets_the_waiting_pod() {
    let cluster = Cluster::start().await;
    let mut starting = node("starting", "1", "1Gi", 110);
    starting
        .status
        .as_mut()
        .expect("status")
        .conditions
        .as_mut()
        .expect("conditions")[0]
        .status = "False".into();
    cluster.add_node_with(starting).await;
    cluster.create(&pod("p", "0", "0")).await;
    assert_eq!(
        failed_scheduling(&cluster, "p").await,
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
    );
    cluster
        .client
        .update_status::<Node>(None, "starting", |n| {
            n.status
                .as_mut()
                .expect("status")
                .conditions
                .as_mut()
                .expect("conditions")[0]
                .status = "True".into();
            true
        })
        .await
        .expect("ready");
    assert_eq!(cluster.bound("p").await, "starting");
}

#[tokio::test]
async fn a_finished_pod_frees_room_for_a_waiting_one() {
    let cluster = Cluster::start().await;
    cluster.add_node("only", "1", "1Gi", 110).await;
    cluster.create(&pod("first", "1", "0")).await;
    cluster.bound("first").await;
    cluster.create(&pod("second", "1", "0")).await;
    assert_eq!(
        failed_scheduling(&cluster, "second").await,
        "0/1 nodes are available: 1 Insufficient cpu."
    );
    // Play the agent: the first pod ran to completion.
    cluster
        .client
        .update_status::<Pod>(Some("default"), "first", |p| {
            p.status = Some(PodStatus {
                phase: Some("Succeeded".into()),
                ..p.status.clone().unwrap_or_default()
            });
            true
        })
        .await
        .expect("finish");
    assert_eq!(cluster.bound("second").await, "only");
}

#[tokio::test]
async fn retries_that_fail_the_same_way_do_not_rewrite_the_condition() {
    let cluster = Cluster::start().await;
    cluster.add_node("small", "1", "1Gi", 110).await;
    cluster.create(&pod("huge", "64", "0")).await;
    unschedulable(&cluster, "huge").await;
    let before = cluster.get("huge").await.metadata.resource_version;
    // A change that makes the scheduler try again (a label), but does not help the pod.
    cluster
        .client
        .update::<Node>(None, "small", |n| {
            n.metadata
                .labels
                .get_or_insert_default()
                .insert("touched".into(), "yes".into());
            true
        })
        .await
        .expect("label");
    // Long enough for the retry after the change and the periodic one.
    settle(Duration::from_secs(6)).await;
    assert_eq!(cluster.get("huge").await.metadata.resource_version, before);
    assert_eq!(node_of(&cluster.get("huge").await), None);
}
