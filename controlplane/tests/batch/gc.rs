//! The garbage collector: dependents of a deleted owner go (background), an owner waits
//! for its dependents (foreground), dependents stay without their owner reference
//! (orphan), and a dependent whose owner exists is never deleted.

use crate::{Cluster, eventually, found, owned_pod, owner_ref};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use skiff_controlplane::machinery::client::Propagation;

const NS: &str = "default";

fn meta(name: &str, owners: Vec<OwnerReference>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NS.into()),
        owner_references: Some(owners).filter(|o| !o.is_empty()),
        ..ObjectMeta::default()
    }
}

fn config_map(name: &str, owners: Vec<OwnerReference>) -> ConfigMap {
    ConfigMap {
        metadata: meta(name, owners),
        ..ConfigMap::default()
    }
}

/// A selector and a pod template that matches it (no controller runs here: they are only
/// there to be valid).
fn selector_and_template() -> (LabelSelector, PodTemplateSpec) {
    let labels: std::collections::BTreeMap<String, String> =
        [("app".to_string(), "web".to_string())].into();
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        }),
        spec: owned_pod(NS, "template", None).spec,
    };
    let selector = LabelSelector {
        match_labels: Some(labels),
        ..LabelSelector::default()
    };
    (selector, template)
}

fn replica_set(name: &str, owners: Vec<OwnerReference>) -> ReplicaSet {
    let (selector, template) = selector_and_template();
    ReplicaSet {
        metadata: meta(name, owners),
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            selector,
            template: Some(template),
            ..ReplicaSetSpec::default()
        }),
        status: None,
    }
}

fn deployment(name: &str) -> Deployment {
    let (selector, template) = selector_and_template();
    Deployment {
        metadata: meta(name, vec![]),
        spec: Some(DeploymentSpec {
            replicas: Some(0),
            selector,
            template,
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

impl Cluster {
    async fn config_map(&self, name: &str) -> Option<ConfigMap> {
        found(self.client.get::<ConfigMap>(Some(NS), name).await)
    }

    async fn pod(&self, name: &str) -> Option<Pod> {
        found(self.client.get::<Pod>(Some(NS), name).await)
    }

    async fn replica_set(&self, name: &str) -> Option<ReplicaSet> {
        found(self.client.get::<ReplicaSet>(Some(NS), name).await)
    }
}

#[tokio::test]
async fn background_deletion_removes_the_whole_chain() {
    let cluster = Cluster::start().await;
    let deployment = cluster.create(&deployment("web")).await;
    let rs = cluster
        .create(&replica_set("web-1", vec![owner_ref(&deployment)]))
        .await;
    for name in ["web-1-a", "web-1-b", "web-1-c"] {
        cluster
            .create(&owned_pod(NS, name, Some(owner_ref(&rs))))
            .await;
    }
    cluster
        .delete::<Deployment>(Some(NS), "web", Propagation::Background)
        .await;
    eventually("the replica set gone", || async {
        cluster.replica_set("web-1").await.is_none().then_some(())
    })
    .await;
    for name in ["web-1-a", "web-1-b", "web-1-c"] {
        eventually(&format!("pod {name} gone"), || async {
            cluster.pod(name).await.is_none().then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn foreground_deletion_waits_for_the_dependents() {
    let cluster = Cluster::start().await;
    let owner = cluster.create(&config_map("owner", vec![])).await;
    cluster
        .create(&config_map("child", vec![owner_ref(&owner)]))
        .await;
    let mut pod = owned_pod(NS, "worker", Some(owner_ref(&owner)));
    // Bound to a node: its deletion waits for the agent's confirmation.
    pod.spec.as_mut().expect("spec").node_name = Some(crate::NODE.into());
    cluster.create(&pod).await;
    cluster
        .delete::<ConfigMap>(Some(NS), "owner", Propagation::Foreground)
        .await;
    eventually("the child config map gone", || async {
        cluster.config_map("child").await.is_none().then_some(())
    })
    .await;
    let terminating = eventually("the pod terminating", || async {
        cluster
            .pod("worker")
            .await
            .filter(|p| p.metadata.deletion_timestamp.is_some())
    })
    .await;
    let waiting = cluster
        .config_map("owner")
        .await
        .expect("the owner waits for its pod");
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert!(
        waiting
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == "foregroundDeletion")
    );
    cluster.confirm_deletion(&terminating).await;
    eventually("the owner gone", || async {
        cluster.config_map("owner").await.is_none().then_some(())
    })
    .await;
    assert!(cluster.pod("worker").await.is_none());
}

#[tokio::test]
async fn orphan_deletion_leaves_the_dependents_without_their_owner() {
    let cluster = Cluster::start().await;
    let rs = cluster.create(&replica_set("keep", vec![])).await;
    for name in ["keep-a", "keep-b"] {
        cluster
            .create(&owned_pod(NS, name, Some(owner_ref(&rs))))
            .await;
    }
    cluster
        .delete::<ReplicaSet>(Some(NS), "keep", Propagation::Orphan)
        .await;
    eventually("the replica set gone", || async {
        cluster.replica_set("keep").await.is_none().then_some(())
    })
    .await;
    for name in ["keep-a", "keep-b"] {
        let pod = cluster.pod(name).await.expect("an orphan stays");
        assert!(
            pod.metadata.owner_references.is_none(),
            "{name} still owned"
        );
        assert!(pod.metadata.deletion_timestamp.is_none());
    }
}

#[tokio::test]
async fn dependents_of_live_owners_stay_and_lose_only_gone_owners() {
    let cluster = Cluster::start().await;
    let owner = cluster.create(&config_map("alive", vec![])).await;
    let kept = cluster
        .create(&config_map("kept", vec![owner_ref(&owner)]))
        .await;
    // An owner reference to an object of the same name that no longer exists (another UID).
    let gone = OwnerReference {
        uid: "0000-gone".into(),
        ..owner_ref(&owner)
    };
    cluster
        .create(&config_map("shared", vec![owner_ref(&owner), gone.clone()]))
        .await;
    cluster.create(&config_map("sentinel", vec![gone])).await;
    // The sentinel, whose only owner is gone, shows the collector has looked.
    eventually("the sentinel deleted", || async {
        cluster.config_map("sentinel").await.is_none().then_some(())
    })
    .await;
    let shared = eventually("the gone owner dropped from shared", || async {
        cluster
            .config_map("shared")
            .await
            .filter(|cm| cm.metadata.owner_references.as_ref().map(Vec::len) == Some(1))
    })
    .await;
    assert_eq!(
        shared.metadata.owner_references.expect("owners")[0].uid,
        owner.metadata.uid.clone().expect("uid")
    );
    let still = cluster
        .config_map("kept")
        .await
        .expect("a live owner keeps its dependent");
    assert_eq!(still.metadata.uid, kept.metadata.uid);
    assert!(still.metadata.deletion_timestamp.is_none());
}
