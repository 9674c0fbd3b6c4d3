//! Deleting a namespace: it turns `Terminating`, refuses new objects, is emptied by the
//! namespace controller (pods on nodes waiting for their agents) and then goes. The
//! system namespaces cannot be deleted.

use crate::{Cluster, NODE, eventually, found, is_active, job, owned_pod};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::machinery::client::Propagation;

const NS: &str = "team";

fn namespace(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

fn condition(ns: &Namespace, kind: &str) -> Option<(String, String)> {
    ns.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.clone(), c.message.clone().unwrap_or_default()))
}

#[tokio::test]
async fn a_deleted_namespace_is_emptied_then_removed() {
    let cluster = Cluster::start().await;
    cluster.create(&namespace(NS)).await;
    cluster.create(&config_map("settings")).await;
    cluster.create(&owned_pod(NS, "loose", None)).await;
    let mut bound = owned_pod(NS, "bound", None);
    bound.spec.as_mut().expect("spec").node_name = Some(NODE.into());
    cluster.create(&bound).await;
    cluster.create(&job(NS, "work", 2, 2)).await;
    let job_pods = eventually("the job's pods", || async {
        let pods = cluster.job_pods(NS, "work");
        (pods.len() == 2).then_some(pods)
    })
    .await;
    for pod in &job_pods {
        cluster.run_pod(pod).await;
    }

    cluster
        .delete::<Namespace>(None, NS, Propagation::Background)
        .await;
    let terminating = found(cluster.client.get::<Namespace>(None, NS).await)
        .expect("the namespace waits for its content");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(
        terminating.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Terminating")
    );
    let refused = cluster
        .client
        .create(&config_map("late"))
        .await
        .expect_err("no new content in a terminating namespace");
    assert_eq!(refused.code.as_u16(), 403, "{}", refused.message);

    // Everything but the pods on a node goes at once; those wait for their agent.
    let waiting = eventually("only the bound pods left", || async {
        let left: Vec<Pod> = cluster
            .pods
            .list_namespace(NS)
            .iter()
            .map(|p| (**p).clone())
            .collect();
        let cm = found(cluster.client.get::<ConfigMap>(Some(NS), "settings").await);
        let job = cluster.job(NS, "work").await;
        let only_bound = left.len() == 3
            && left
                .iter()
                .all(|p| p.metadata.deletion_timestamp.is_some() && !is_active(p));
        (cm.is_none() && job.is_none() && only_bound).then_some(left)
    })
    .await;
    let reported = eventually("the remaining content reported", || async {
        let ns = found(cluster.client.get::<Namespace>(None, NS).await)?;
        condition(&ns, "NamespaceContentRemaining")
            .filter(|(status, _)| status == "True")
            .map(|(_, message)| message)
    })
    .await;
    assert!(
        reported.contains("pods. has 3 resource instances"),
        "{reported}"
    );

    for pod in &waiting {
        cluster.confirm_deletion(pod).await;
    }
    eventually("the namespace gone", || async {
        found(cluster.client.get::<Namespace>(None, NS).await)
            .is_none()
            .then_some(())
    })
    .await;
    assert!(cluster.pods.list_namespace(NS).is_empty());
}

#[tokio::test]
async fn system_namespaces_cannot_be_deleted() {
    let cluster = Cluster::start().await;
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let refused = cluster
            .client
            .delete::<Namespace>(None, name, None, Propagation::Background)
            .await
            .expect_err("protected");
        assert_eq!(refused.code.as_u16(), 403);
        assert_eq!(
            refused.message,
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")
        );
        let ns = found(cluster.client.get::<Namespace>(None, name).await).expect("still there");
        assert!(ns.metadata.deletion_timestamp.is_none());
    }
}
