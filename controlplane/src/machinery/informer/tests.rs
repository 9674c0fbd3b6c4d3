//! Tests of the informer: list then follow, indexes, handlers, relisting.
use super::*;
use crate::store::{Config, MemoryStore};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

fn pod(ns: &str, name: &str, node: &str) -> bytes::Bytes {
    serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": name},
        "spec": {"nodeName": node, "containers": []}
    }))
    .expect("json")
    .into()
}

fn by_node() -> Informer<Pod> {
    Informer::builder()
        .index("node", |p: &Pod| {
            vec![
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
            ]
        })
        .build()
}

async fn settle(informer: &Informer<Pod>, store: &dyn Store) {
    let revision = store.revisions().await.expect("revisions").current;
    assert!(
        informer
            .wait_for_revision(revision, Duration::from_secs(10))
            .await
    );
}

#[tokio::test]
async fn lists_then_follows_with_indexes_and_handlers() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(Config::default()));
    store
        .create("/registry/core/pods/a/one", pod("a", "one", "n1"))
        .await
        .expect("create");
    let informer = by_node();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    informer.subscribe(move |c: &Change<'_, Pod>| {
        let what = match (c.old.is_some(), c.new.is_some()) {
            (false, true) => "add",
            (true, true) => "update",
            _ => "delete",
        };
        log.lock().expect("lock").push(format!("{what} {}", c.key));
    });
    let shutdown = CancellationToken::new();
    informer
        .start(store.clone(), shutdown.clone())
        .await
        .expect("start");
    assert!(informer.is_synced());
    assert_eq!(
        informer
            .get("a/one")
            .map(|p| p.metadata.uid.clone().unwrap_or_default()),
        Some("one".into())
    );

    let kv = store
        .create("/registry/core/pods/b/two", pod("b", "two", "n1"))
        .await
        .expect("create");
    store
        .update(
            "/registry/core/pods/b/two",
            pod("b", "two", "n2"),
            kv.mod_revision,
        )
        .await
        .expect("update");
    store
        .delete("/registry/core/pods/a/one", None)
        .await
        .expect("delete");
    settle(&informer, &*store).await;

    assert!(informer.get("a/one").is_none());
    assert!(
        informer.indexed("node", "n1").is_empty(),
        "moved and deleted pods leave the index"
    );
    assert_eq!(informer.indexed("node", "n2").len(), 1);
    assert_eq!(informer.list_namespace("b").len(), 1);
    assert_eq!(
        informer
            .get("b/two")
            .and_then(|p| p.metadata.resource_version.clone()),
        Some(
            store
                .revisions()
                .await
                .expect("rev")
                .current
                .saturating_sub(1)
                .to_string()
        )
    );
    assert_eq!(
        *seen.lock().expect("lock"),
        ["add a/one", "add b/two", "update b/two", "delete a/one"]
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_broken_watch_relists_and_reports_the_difference() {
    // A one-event live buffer: a burst of writes overruns the informer's watch, which
    // ends (lagged); the informer must list again and converge.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(Config {
        watch_buffer: 1,
        history_window: 4,
        ..Config::default()
    }));
    let informer = by_node();
    let deletes = Arc::new(AtomicUsize::new(0));
    let counter = deletes.clone();
    informer.subscribe(move |c: &Change<'_, Pod>| {
        if c.new.is_none() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    store
        .create("/registry/core/pods/a/gone", pod("a", "gone", "n1"))
        .await
        .expect("create");
    let shutdown = CancellationToken::new();
    informer
        .start(store.clone(), shutdown.clone())
        .await
        .expect("start");
    for i in 0..200 {
        store
            .create(
                &format!("/registry/core/pods/a/p{i}"),
                pod("a", &format!("p{i}"), "n1"),
            )
            .await
            .expect("create");
    }
    store
        .delete("/registry/core/pods/a/gone", None)
        .await
        .expect("delete");
    settle(&informer, &*store).await;
    assert_eq!(informer.len(), 200);
    assert_eq!(informer.indexed("node", "n1").len(), 200);
    assert_eq!(
        deletes.load(Ordering::SeqCst),
        1,
        "the deletion is reported once"
    );
    shutdown.cancel();
}
