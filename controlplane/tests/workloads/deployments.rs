//! A Deployment's first rollout and what kubectl reads of it — the ReplicaSet named by
//! the template hash, the revision and replicas annotations, the status and conditions,
//! the `ScalingReplicaSet` events — scaling, and a rollout that misses its deadline.

use crate::{Cluster, annotation, controller_uid, deployment, eventually, label};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use serde_json::json;

fn condition(status: &DeploymentStatus, kind: &str) -> Option<(String, String)> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

#[tokio::test]
async fn a_deployment_rolls_out_through_a_replica_set_named_by_its_template() {
    let c = Cluster::start().await;
    let created = c.create(&deployment("web", 3, json!({}))).await;
    let uid = created.metadata.uid.clone().expect("uid");
    let d = c.rolled_out("web").await;

    let status = d.status.clone().expect("status");
    assert_eq!(status.observed_generation, d.metadata.generation);
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas
        ),
        (Some(3), Some(3), Some(3))
    );
    assert_eq!(
        (status.available_replicas, status.unavailable_replicas),
        (Some(3), Some(0))
    );
    assert_eq!(
        condition(&status, "Available"),
        Some(("True".into(), "MinimumReplicasAvailable".into()))
    );
    assert_eq!(
        condition(&status, "Progressing"),
        Some(("True".into(), "NewReplicaSetAvailable".into()))
    );
    assert_eq!(
        annotation(&d.metadata, "deployment.kubernetes.io/revision"),
        Some("1")
    );

    let rses = c.owned_replicasets(&uid);
    assert_eq!(rses.len(), 1);
    let rs = &rses[0];
    let name = rs.metadata.name.clone().expect("name");
    let hash = rs.metadata.labels.as_ref().expect("labels")["pod-template-hash"].clone();
    assert_eq!(name, format!("web-{hash}"));
    let spec = rs.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(
        spec.selector.match_labels.as_ref().expect("labels")["pod-template-hash"],
        hash
    );
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .expect("labels");
    assert_eq!(template_labels["pod-template-hash"], hash);
    assert_eq!(template_labels["app"], "web");
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/revision"),
        Some("1")
    );
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/desired-replicas"),
        Some("3")
    );
    // 25% surge of 3, rounded up.
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/max-replicas"),
        Some("4")
    );
    let owner = &rs.metadata.owner_references.as_ref().expect("owners")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Deployment", "web")
    );
    assert_eq!(owner.block_owner_deletion, Some(true));

    let pods = c.app_pods("web");
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        assert_eq!(label(pod, "pod-template-hash"), Some(hash.as_str()));
        assert_eq!(controller_uid(&pod.metadata), rs.metadata.uid.as_deref());
        assert!(
            pod.metadata
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with(&format!("{name}-"))
        );
    }
    eventually("the ScalingReplicaSet event", || async {
        let events = c.events_of("web", "ScalingReplicaSet");
        events
            .contains(&format!("Scaled up replica set {name} from 0 to 3"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_replica_set_follows_the_deployments_scale() {
    let c = Cluster::start().await;
    let created = c.create(&deployment("web", 2, json!({}))).await;
    let uid = created.metadata.uid.clone().expect("uid");
    c.rolled_out("web").await;
    for replicas in [5, 1, 0, 3] {
        c.update::<Deployment>("web", |d| {
            d.spec.as_mut().expect("spec").replicas = Some(replicas);
            true
        })
        .await;
        c.rolled_out("web").await;
        // `rollout status` calls a scale-down done as soon as the controller has observed it
        // (kubectl's rule only bounds replicas from above), so the count is waited for.
        eventually(&format!("status.replicas {replicas}"), || async {
            let d = c.deployment("web").await;
            (d.status.as_ref().and_then(|s| s.replicas) == Some(replicas)).then_some(())
        })
        .await;
        let rses = c.owned_replicasets(&uid);
        assert_eq!(rses.len(), 1, "scaling makes no new ReplicaSet");
        eventually(&format!("{replicas} pods"), || async {
            (c.app_pods("web").len() == replicas as usize).then_some(())
        })
        .await;
        assert_eq!(
            annotation(
                &c.owned_replicasets(&uid)[0].metadata,
                "deployment.kubernetes.io/desired-replicas"
            ),
            Some(replicas.to_string().as_str())
        );
    }
    let name = c.owned_replicasets(&uid)[0]
        .metadata
        .name
        .clone()
        .expect("name");
    eventually("scaling events", || async {
        let events = c.events_of("web", "ScalingReplicaSet");
        let want = [
            format!("Scaled up replica set {name} from 2 to 5"),
            format!("Scaled down replica set {name} from 5 to 1"),
            format!("Scaled down replica set {name} from 1 to 0"),
            format!("Scaled up replica set {name} from 0 to 3"),
        ];
        want.iter().all(|w| events.contains(w)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_rollout_whose_pods_never_become_ready_exceeds_its_deadline() {
    let c = Cluster::start().await;
    c.kubelet.set_ready(false);
    c.create(&deployment("web", 2, json!({"progressDeadlineSeconds": 1})))
        .await;
    let d = eventually("ProgressDeadlineExceeded", || async {
        let d = c.deployment("web").await;
        let status = d.status.clone()?;
        (condition(&status, "Progressing")
            == Some(("False".into(), "ProgressDeadlineExceeded".into())))
        .then_some(d)
    })
    .await;
    let status = d.status.expect("status");
    assert_eq!(status.available_replicas, Some(0));
    assert_eq!(
        condition(&status, "Available"),
        Some(("False".into(), "MinimumReplicasUnavailable".into()))
    );
    assert_eq!(c.app_pods("web").len(), 2, "the pods stay");
}

#[tokio::test]
async fn each_revision_keeps_the_change_cause_it_was_made_with() {
    let c = Cluster::start().await;
    let mut d = deployment("web", 1, json!({}));
    let cause = "kubernetes.io/change-cause";
    d.metadata.annotations = Some(
        [
            (cause.to_string(), "first".to_string()),
            (
                "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                "{}".to_string(),
            ),
        ]
        .into(),
    );
    let uid = c.create(&d).await.metadata.uid.expect("uid");
    c.rolled_out("web").await;
    c.update::<Deployment>("web", |d| {
        d.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(cause.into(), "second".into());
        crate::set_color(d, "green")
    })
    .await;
    c.rolled_out("web").await;
    let causes = eventually("two revisions", || async {
        let mut causes: Vec<(String, String)> = c
            .owned_replicasets(&uid)
            .iter()
            .map(|rs| {
                (
                    annotation(&rs.metadata, "deployment.kubernetes.io/revision")
                        .unwrap_or_default()
                        .to_string(),
                    annotation(&rs.metadata, cause)
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        causes.sort();
        (causes.len() == 2).then_some(causes)
    })
    .await;
    assert_eq!(
        causes,
        [
            ("1".to_string(), "first".to_string()),
            ("2".to_string(), "second".to_string())
        ]
    );
    for rs in c.owned_replicasets(&uid) {
        assert_eq!(
            annotation(
                &rs.metadata,
                "kubectl.kubernetes.io/last-applied-configuration"
            ),
            None
        );
    }
}
