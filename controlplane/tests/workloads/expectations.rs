//! Expectations: the ReplicaSet controller counts pods from an informer that may lag
//! behind its own writes. However often it is woken meanwhile, it must not create the
//! pods it already created again.

use crate::{Cluster, NS, Options, eventually, replicaset};
use k8s_openapi::api::apps::v1::ReplicaSet;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
async fn a_lagging_informer_never_causes_double_creation() {
    let lag = Duration::from_millis(400);
    let c = Cluster::with(Options {
        pod_lag: Some(lag),
        ..Options::default()
    })
    .await;
    // Every pod that ever exists, by UID.
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let uids = seen.clone();
    c.pods.subscribe(move |change| {
        if let Some(pod) = change.new {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            uids.lock().expect("uids").insert(uid);
        }
    });
    c.create(&replicaset("web", 5, json!({}))).await;

    // While the controller's informer still shows no pods, wake the controller again and
    // again (each change of the ReplicaSet queues it).
    eventually("the first pods created", || async {
        (c.stored_pods().await > 0).then_some(())
    })
    .await;
    for i in 0..20 {
        c.update::<ReplicaSet>("web", |rs| {
            rs.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert("poke".into(), i.to_string());
            true
        })
        .await;
        tokio::time::sleep(lag / 20).await;
    }

    // Once the lagging informer has caught up with the store, exactly five pods exist.
    eventually("the ReplicaSet ready with 5 pods", || async {
        let status = c.replicaset("web").await?.status?;
        (status.replicas == 5 && status.ready_replicas == Some(5)).then_some(())
    })
    .await;
    let prefix =
        skiff_controlplane::machinery::informer::kind_of::<k8s_openapi::api::core::v1::Pod>()
            .key_prefix(Some(NS));
    let stored = c.state.store.list(&prefix).await.expect("list");
    let revision = stored
        .items
        .iter()
        .map(|kv| kv.mod_revision)
        .max()
        .unwrap_or(0);
    assert!(
        c.controller_pods
            .wait_for_revision(revision, crate::WAIT)
            .await,
        "the lagging informer catches up"
    );
    assert_eq!(c.stored_pods().await, 5);
    assert_eq!(c.controller_pods.list_namespace(NS).len(), 5);
    assert_eq!(
        seen.lock().expect("uids").len(),
        5,
        "no pod was ever created twice"
    );
}
