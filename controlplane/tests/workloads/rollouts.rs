//! Changing a Deployment's template: a rolling update stays within its fenceposts at every
//! moment the test observes and ends with every pod on the new template; going back to
//! an earlier template reuses its ReplicaSet under a new revision; `Recreate` never runs
//! old and new pods together; a paused Deployment does not roll until resumed; old
//! ReplicaSets beyond `revisionHistoryLimit` are deleted.

use crate::{Cluster, annotation, color, deployment, eventually, label, set_color};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Waits until every pod of `app` has `COLOR=<want>` and there are `replicas` of them.
async fn all_pods(c: &Cluster, app: &str, replicas: usize, want: &str) {
    eventually(&format!("{replicas} pods with COLOR={want}"), || async {
        let pods = c.app_pods(app);
        (pods.len() == replicas && pods.iter().all(|p| color(p).as_deref() == Some(want)))
            .then_some(())
    })
    .await;
}

fn change_color(want: &'static str) -> impl FnMut(&mut Deployment) -> bool {
    move |d| set_color(d, want)
}

#[tokio::test]
async fn a_rolling_update_keeps_enough_pods_available_and_ends_on_the_new_template() {
    let c = Cluster::start().await;
    let strategy = json!({"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}});
    let created = c.create(&deployment("web", 4, strategy)).await;
    let uid = created.metadata.uid.clone().expect("uid");
    c.rolled_out("web").await;
    let old_rs = c.owned_replicasets(&uid)[0].clone();

    // From now on, at every change the test sees: available pods (ready, not being
    // deleted) never below 4 - 1, and ReplicaSet sizes never above 4 + 1 in all.
    let min_available = Arc::new(AtomicI32::new(i32::MAX));
    let (seen, pods) = (min_available.clone(), c.pods.clone());
    c.pods.subscribe(move |_| {
        let available = pods
            .list()
            .iter()
            .filter(|p| label(p, "app") == Some("web"))
            .filter(|p| p.metadata.deletion_timestamp.is_none() && ready(p))
            .count() as i32;
        seen.fetch_min(available, Ordering::SeqCst);
    });
    let max_sized = Arc::new(AtomicI32::new(0));
    let (sized, rses, owner) = (max_sized.clone(), c.replicasets.clone(), uid.clone());
    c.replicasets.subscribe(move |_| {
        let total: i32 = rses
            .list()
            .iter()
            .filter(|rs| crate::controller_uid(&rs.metadata) == Some(owner.as_str()))
            .map(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0))
            .sum();
        sized.fetch_max(total, Ordering::SeqCst);
    });

    c.update::<Deployment>("web", change_color("green")).await;
    all_pods(&c, "web", 4, "green").await;
    let d = c.rolled_out("web").await;

    assert!(
        min_available.load(Ordering::SeqCst) >= 3,
        "availability dipped to {}",
        min_available.load(Ordering::SeqCst)
    );
    assert!(
        min_available.load(Ordering::SeqCst) < i32::MAX,
        "changes were observed"
    );
    assert!(
        max_sized.load(Ordering::SeqCst) <= 5,
        "surged to {}",
        max_sized.load(Ordering::SeqCst)
    );
    let rses = c.owned_replicasets(&uid);
    assert_eq!(rses.len(), 2);
    let old = rses
        .iter()
        .find(|rs| rs.metadata.uid == old_rs.metadata.uid)
        .expect("old kept");
    assert_eq!(old.spec.as_ref().and_then(|s| s.replicas), Some(0));
    let new = rses
        .iter()
        .find(|rs| rs.metadata.uid != old_rs.metadata.uid)
        .expect("new");
    assert_eq!(
        annotation(&new.metadata, "deployment.kubernetes.io/revision"),
        Some("2")
    );
    assert_eq!(
        annotation(&d.metadata, "deployment.kubernetes.io/revision"),
        Some("2")
    );
    let new_hash = new.metadata.labels.as_ref().expect("labels")["pod-template-hash"].clone();
    assert!(
        c.app_pods("web")
            .iter()
            .all(|p| label(p, "pod-template-hash") == Some(new_hash.as_str()))
    );
    let status = d.status.expect("status");
    assert_eq!(
        (status.updated_replicas, status.replicas),
        (Some(4), Some(4))
    );
}

#[tokio::test]
async fn going_back_to_an_earlier_template_reuses_its_replica_set_with_a_new_revision() {
    let c = Cluster::start().await;
    let created = c.create(&deployment("web", 2, json!({}))).await;
    let uid = created.metadata.uid.clone().expect("uid");
    c.rolled_out("web").await;
    let first = c.owned_replicasets(&uid)[0].clone();

    c.update::<Deployment>("web", change_color("green")).await;
    all_pods(&c, "web", 2, "green").await;
    c.rolled_out("web").await;

    // What `kubectl rollout undo` does: put the first template back.
    c.update::<Deployment>("web", change_color("blue")).await;
    all_pods(&c, "web", 2, "blue").await;
    let d = c.rolled_out("web").await;
    let rses = c.owned_replicasets(&uid);
    assert_eq!(rses.len(), 2, "no third ReplicaSet");
    let again = rses
        .iter()
        .find(|rs| rs.metadata.uid == first.metadata.uid)
        .expect("reused");
    assert_eq!(again.spec.as_ref().and_then(|s| s.replicas), Some(2));
    assert_eq!(
        annotation(&again.metadata, "deployment.kubernetes.io/revision"),
        Some("3")
    );
    assert_eq!(
        annotation(&again.metadata, "deployment.kubernetes.io/revision-history"),
        Some("1")
    );
    assert_eq!(
        annotation(&d.metadata, "deployment.kubernetes.io/revision"),
        Some("3")
    );
    let other = rses
        .iter()
        .find(|rs| rs.metadata.uid != first.metadata.uid)
        .expect("second");
    assert_eq!(
        annotation(&other.metadata, "deployment.kubernetes.io/revision"),
        Some("2")
    );
    assert_eq!(other.spec.as_ref().and_then(|s| s.replicas), Some(0));
}

#[tokio::test]
async fn recreate_never_runs_old_and_new_pods_together() {
    let c = Cluster::start().await;
    // Old pods take a while to stop: the new ones must wait for them.
    c.kubelet.set_termination_delay(Duration::from_millis(300));
    c.create(&deployment(
        "web",
        3,
        json!({"strategy": {"type": "Recreate"}}),
    ))
    .await;
    c.rolled_out("web").await;

    let mixed = Arc::new(AtomicBool::new(false));
    let (flag, pods) = (mixed.clone(), c.pods.clone());
    c.pods.subscribe(move |_| {
        let colors: BTreeSet<Option<String>> = pods
            .list()
            .iter()
            .filter(|p| label(p, "app") == Some("web"))
            .map(|p| color(p))
            .collect();
        if colors.len() > 1 {
            flag.store(true, Ordering::SeqCst);
        }
    });
    c.update::<Deployment>("web", change_color("green")).await;
    all_pods(&c, "web", 3, "green").await;
    c.rolled_out("web").await;
    assert!(
        !mixed.load(Ordering::SeqCst),
        "old and new pods existed at once"
    );
}

#[tokio::test]
async fn a_paused_deployment_does_not_roll_until_resumed() {
    let c = Cluster::start().await;
    let created = c.create(&deployment("web", 2, json!({}))).await;
    let uid = created.metadata.uid.clone().expect("uid");
    c.rolled_out("web").await;

    c.update::<Deployment>("web", |d| {
        d.spec.as_mut().expect("spec").paused = Some(true);
        true
    })
    .await;
    let reason = |d: &Deployment| {
        d.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "Progressing")
            .and_then(|c| c.reason.clone())
    };
    eventually("DeploymentPaused", || async {
        (reason(&c.deployment("web").await).as_deref() == Some("DeploymentPaused")).then_some(())
    })
    .await;

    // A new template and a new size while paused: the size applies, the template waits.
    let changed = c
        .update::<Deployment>("web", |d| {
            d.spec.as_mut().expect("spec").replicas = Some(3);
            set_color(d, "green")
        })
        .await;
    eventually("the change observed", || async {
        let d = c.deployment("web").await;
        (d.status.as_ref()?.observed_generation >= changed.metadata.generation).then_some(())
    })
    .await;
    all_pods(&c, "web", 3, "blue").await;
    assert_eq!(
        c.owned_replicasets(&uid).len(),
        1,
        "no new ReplicaSet while paused"
    );

    c.update::<Deployment>("web", |d| {
        d.spec.as_mut().expect("spec").paused = Some(false);
        true
    })
    .await;
    all_pods(&c, "web", 3, "green").await;
    let d = c.rolled_out("web").await;
    assert_eq!(c.owned_replicasets(&uid).len(), 2);
    assert_eq!(
        annotation(&d.metadata, "deployment.kubernetes.io/revision"),
        Some("2")
    );
    eventually("NewReplicaSetAvailable", || async {
        (reason(&c.deployment("web").await).as_deref() == Some("NewReplicaSetAvailable"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let c = Cluster::start().await;
    let created = c
        .create(&deployment("web", 1, json!({"revisionHistoryLimit": 1})))
        .await;
    let uid = created.metadata.uid.clone().expect("uid");
    c.rolled_out("web").await;
    for want in ["green", "red", "yellow"] {
        c.update::<Deployment>("web", change_color(want)).await;
        all_pods(&c, "web", 1, want).await;
        c.rolled_out("web").await;
    }
    let revisions = eventually("two ReplicaSets left", || async {
        let rses = c.owned_replicasets(&uid);
        let revisions: BTreeSet<String> = rses
            .iter()
            .filter_map(|rs| {
                annotation(&rs.metadata, "deployment.kubernetes.io/revision").map(String::from)
            })
            .collect();
        (rses.len() == 2).then_some(revisions)
    })
    .await;
    assert_eq!(
        revisions,
        BTreeSet::from(["3".to_string(), "4".to_string()])
    );
}
