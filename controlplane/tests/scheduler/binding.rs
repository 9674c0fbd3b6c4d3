//! Pods go to Ready, schedulable nodes through the binding; nothing else is touched.

use super::*;
use k8s_openapi::api::core::v1::NodeSpec;

#[tokio::test]
async fn a_pending_pod_is_bound_with_a_scheduled_event() {
    let cluster = Cluster::start().await;
    cluster.add_node("node-a", "2", "4Gi", 110).await;
    cluster.add_node("node-b", "2", "4Gi", 110).await;
    cluster.create(&pod("web-1", "100m", "64Mi")).await;
    let node = cluster.bound("web-1").await;
    assert!(node == "node-a" || node == "node-b", "bound to {node}");
    let pod = cluster.get("web-1").await;
    let scheduled = pod
        .status
        .and_then(|s| s.conditions)
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled")
        .expect("a PodScheduled condition");
    assert_eq!(scheduled.status, "True");
    let events = eventually("the Scheduled event", || async {
        Some(cluster.events_of("web-1", "Scheduled")).filter(|e| !e.is_empty())
    })
    .await;
    assert_eq!(
        events,
        [(
            "Normal".to_string(),
            format!("Successfully assigned default/web-1 to {node}")
        )]
    );
}

#[tokio::test]
async fn nodes_that_are_not_ready_or_are_cordoned_get_no_pods() {
    let cluster = Cluster::start().await;
    let mut sick = node("sick", "8", "8Gi", 110);
    sick.status
        .as_mut()
        .expect("status")
        .conditions
        .as_mut()
        .expect("conditions")[0]
        .status = "False".into();
    cluster.add_node_with(sick).await;
    let mut cordoned = node("cordoned", "8", "8Gi", 110);
    cordoned.spec = Some(NodeSpec {
        unschedulable: Some(true),
        ..NodeSpec::default()
    });
    cluster.add_node_with(cordoned).await;
    cluster.add_node("good", "1", "1Gi", 110).await;
    for i in 0..20 {
        cluster.create(&pod(&format!("p-{i}"), "10m", "1Mi")).await;
    }
    for i in 0..20 {
        assert_eq!(cluster.bound(&format!("p-{i}")).await, "good");
    }
}

#[tokio::test]
async fn pods_of_other_schedulers_and_bound_pods_are_left_alone() {
    let cluster = Cluster::start().await;
    cluster.add_node("node-a", "2", "4Gi", 110).await;
    cluster.add_node("node-b", "2", "4Gi", 110).await;
    let mut other = pod("other", "0", "0");
    other.spec.as_mut().expect("spec").scheduler_name = Some("my-scheduler".into());
    cluster.create(&other).await;
    let mut placed = pod("placed", "0", "0");
    placed.spec.as_mut().expect("spec").node_name = Some("node-b".into());
    let placed = cluster.create(&placed).await;
    cluster.create(&pod("mine", "0", "0")).await;
    cluster.bound("mine").await;
    // The scheduler has had its turn with every pod created before "mine", many times over.
    settle(Duration::from_millis(500)).await;
    assert_eq!(node_of(&cluster.get("other").await), None);
    let after = cluster.get("placed").await;
    assert_eq!(node_of(&after).as_deref(), Some("node-b"));
    assert_eq!(
        after.metadata.resource_version, placed.metadata.resource_version,
        "a bound pod is not written"
    );
    assert!(cluster.events_of("other", "FailedScheduling").is_empty());
    assert!(cluster.events_of("other", "Scheduled").is_empty());
}

#[tokio::test]
async fn binding_changes_only_the_node_and_the_scheduled_condition() {
    let cluster = Cluster::start().await;
    let key = "/registry/core/pods/default/labelled";
    let raw = || async {
        let kv = cluster
            .client
            .state()
            .store
            .get(key)
            .await
            .expect("read")
            .expect("stored");
        serde_json::from_slice::<serde_json::Value>(&kv.value).expect("json")
    };
    let mut p = pod("labelled", "100m", "1Mi");
    p.metadata.labels = Some(BTreeMap::from([("app".into(), "web".into())]));
    p.metadata.annotations = Some(BTreeMap::from([("note".into(), "kept".into())]));
    cluster.create(&p).await;
    // With no node yet, the scheduler writes its PodScheduled=False first; the pod as it
    // stands after that is what the binding starts from.
    let before = eventually("PodScheduled=False written", || async {
        let stored = raw().await;
        let conditions = stored["status"]["conditions"].as_array()?;
        conditions
            .iter()
            .any(|c| c["type"] == "PodScheduled" && c["status"] == "False")
            .then_some(stored)
    })
    .await;
    cluster.add_node("node-a", "1", "1Gi", 110).await;
    assert_eq!(cluster.bound("labelled").await, "node-a");
    let mut after = raw().await;
    assert_eq!(after["spec"]["nodeName"], "node-a");
    let conditions = after["status"]["conditions"]
        .as_array()
        .expect("conditions");
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0]["type"], "PodScheduled");
    assert_eq!(conditions[0]["status"], "True");
    assert!(
        after["metadata"].get("resourceVersion").is_none(),
        "not stored"
    );
    // Everything else is as it was, managed fields included.
    after["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("nodeName");
    after["status"]
        .as_object_mut()
        .expect("status")
        .remove("conditions");
    let mut before = before;
    if let Some(status) = before["status"].as_object_mut() {
        status.remove("conditions");
    }
    assert_eq!(after, before);
}
