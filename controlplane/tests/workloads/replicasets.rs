//! The ReplicaSet controller: it keeps `replicas` pods of its template, replaces lost
//! ones, scales (deleting the least useful pods first), adopts matching orphans and
//! releases pods that stop matching, and reports its status.

use crate::{Cluster, NS, Options, controller_uid, eventually, label, replicaset};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use skiff_controlplane::machinery::client::Propagation;
use std::collections::BTreeSet;

async fn cluster() -> Cluster {
    Cluster::with(Options::default()).await
}

/// Waits until the ReplicaSet `name` reports `ready` ready replicas of `replicas`, with
/// the test's view showing as many pods; returns the pods' names.
async fn settled(c: &Cluster, name: &str, replicas: i32, ready: i32) -> BTreeSet<String> {
    eventually(&format!("{name} at {ready}/{replicas} ready"), || async {
        let rs = c.replicaset(name).await?;
        let status = rs.status?;
        let pods = c.app_pods(name);
        let ok = status.replicas == replicas
            && status.ready_replicas == Some(ready)
            && status.observed_generation == rs.metadata.generation
            && pods.len() == replicas as usize;
        ok.then(|| {
            pods.iter()
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect()
        })
    })
    .await
}

#[tokio::test]
async fn a_replica_set_creates_its_pods_and_reports_them() {
    let c = cluster().await;
    let rs = c.create(&replicaset("web", 3, json!({}))).await;
    let uid = rs.metadata.uid.clone().expect("uid");
    settled(&c, "web", 3, 3).await;

    let status = c
        .replicaset("web")
        .await
        .and_then(|r| r.status)
        .expect("status");
    assert_eq!(status.fully_labeled_replicas, Some(3));
    assert_eq!(status.available_replicas, Some(3));
    for pod in c.app_pods("web") {
        let name = pod.metadata.name.clone().unwrap_or_default();
        assert!(
            name.starts_with("web-") && name.len() == "web-".len() + 5,
            "{name}"
        );
        let owner = &pod.metadata.owner_references.as_ref().expect("owners")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", "web")
        );
        assert_eq!(owner.uid, uid);
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert_eq!(crate::color(&pod).as_deref(), Some("blue"));
    }
    let created = eventually("three SuccessfulCreate events", || async {
        let created = c.events_of("web", "SuccessfulCreate");
        (created.len() == 3).then_some(created)
    })
    .await;
    assert!(
        created.iter().all(|m| m.starts_with("Created pod: web-")),
        "{created:?}"
    );
    assert_eq!(c.stored_pods().await, 3);
}

#[tokio::test]
async fn a_deleted_pod_is_replaced() {
    let c = cluster().await;
    c.create(&replicaset("web", 3, json!({}))).await;
    let before = settled(&c, "web", 3, 3).await;
    let victim = before.iter().next().expect("a pod").clone();
    c.client
        .delete::<Pod>(Some(NS), &victim, None, Propagation::Background)
        .await
        .expect("delete");
    let after = eventually("a replacement", || async {
        let names = settled(&c, "web", 3, 3).await;
        (!names.contains(&victim)).then_some(names)
    })
    .await;
    assert_eq!(after.intersection(&before).count(), 2);
    // The deleted pod is gone once its node confirms; no extra pod is left behind.
    eventually("3 pods in the store", || async {
        (c.stored_pods().await == 3).then_some(())
    })
    .await;
    assert_eq!(c.app_pods("web").len(), 3);
}

#[tokio::test]
async fn scaling_down_deletes_pods_that_are_not_ready_first() {
    let c = cluster().await;
    c.create(&replicaset("web", 3, json!({}))).await;
    let ready = settled(&c, "web", 3, 3).await;

    // Two more pods that never become ready.
    c.kubelet.set_ready(false);
    c.update::<ReplicaSet>("web", |rs| {
        rs.spec.as_mut().expect("spec").replicas = Some(5);
        true
    })
    .await;
    let all = settled(&c, "web", 5, 3).await;
    assert!(all.is_superset(&ready));

    c.update::<ReplicaSet>("web", |rs| {
        rs.spec.as_mut().expect("spec").replicas = Some(3);
        true
    })
    .await;
    let kept = settled(&c, "web", 3, 3).await;
    assert_eq!(
        kept, ready,
        "the not-ready pods went, the ready ones stayed"
    );

    // And up again from there, then down to zero.
    c.kubelet.set_ready(true);
    c.update::<ReplicaSet>("web", |rs| {
        rs.spec.as_mut().expect("spec").replicas = Some(0);
        true
    })
    .await;
    settled(&c, "web", 0, 0).await;
    eventually("every pod gone from the store", || async {
        (c.stored_pods().await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn orphans_are_adopted_and_pods_that_stop_matching_are_released() {
    let c = cluster().await;
    // An orphan that matches, running before the ReplicaSet exists.
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "stray", "namespace": NS, "labels": {"app": "web"}},
        "spec": crate::template("web", "blue")["spec"].clone(),
    }))
    .expect("pod");
    c.create(&orphan).await;
    eventually("the orphan running", || async {
        let pod = c.pods.get_named(Some(NS), "stray")?;
        (pod.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;

    let rs = c.create(&replicaset("web", 2, json!({}))).await;
    let uid = rs.metadata.uid.clone().expect("uid");
    let names = settled(&c, "web", 2, 2).await;
    assert!(
        names.contains("stray"),
        "adopted rather than replaced: {names:?}"
    );
    let stray = c.pods.get_named(Some(NS), "stray").expect("stray");
    assert_eq!(controller_uid(&stray.metadata), Some(uid.as_str()));

    // Relabelled, it no longer matches: released, and replaced.
    c.update::<Pod>("stray", |p| {
        p.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("app".into(), "other".into());
        true
    })
    .await;
    let names = eventually("stray released and replaced", || async {
        let stray = c.pods.get_named(Some(NS), "stray")?;
        let released = controller_uid(&stray.metadata).is_none();
        let names = settled(&c, "web", 2, 2).await;
        (released && !names.contains("stray")).then_some(names)
    })
    .await;
    assert_eq!(names.len(), 2);
    let stray = c.pods.get_named(Some(NS), "stray").expect("stray");
    assert_eq!(label(&stray, "app"), Some("other"));
    assert!(
        stray
            .metadata
            .owner_references
            .iter()
            .flatten()
            .next()
            .is_none()
    );
}

#[tokio::test]
async fn pods_count_as_available_after_min_ready_seconds() {
    let c = cluster().await;
    c.create(&replicaset("web", 2, json!({"minReadySeconds": 1})))
        .await;
    settled(&c, "web", 2, 2).await;
    // Nothing about the pods changes after they are ready: only the controller's own
    // timer can make them available.
    eventually("2 available", || async {
        let status = c.replicaset("web").await?.status?;
        (status.available_replicas == Some(2)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_large_scale_up_creates_each_pod_once() {
    let c = cluster().await;
    c.create(&replicaset("web", 600, json!({}))).await;
    settled(&c, "web", 600, 600).await;
    assert_eq!(c.stored_pods().await, 600);
    let created = eventually("600 SuccessfulCreate events", || async {
        let count: i32 = c
            .events
            .list()
            .iter()
            .filter(|e| e.reason.as_deref() == Some("SuccessfulCreate"))
            .map(|e| e.count.unwrap_or(1))
            .sum();
        (count >= 600).then_some(count)
    })
    .await;
    assert_eq!(created, 600);
}
