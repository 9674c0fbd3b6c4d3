//! In-process write path of a pod's life, as the controllers and the agents drive it:
//! creates (a ReplicaSet's), binds (the scheduler's) and status updates (an agent's),
//! 256 at a time, through the API's own write path on `skiff server`'s stack (redb store
//! with group commit behind the watch cache). Prints writes per second for each.
//! `cargo bench -p skiff-controlplane --bench writes [-- N]` (default 5,000 pods).

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use serde_json::json;
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::store::{Config, RedbStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::Instant;

const IN_FLIGHT: usize = 256;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(5000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("store.redb"), Config::default()).expect("store");
    let token = tokio_util::sync::CancellationToken::new();
    let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), token.clone())
        .await
        .expect("cache");
    let state = ApiState::new(Arc::new(cache));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    let client = Client::new(state, "bench");
    println!("{}", support::machine());

    let pod = |i: usize| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("web-{i}"), "namespace": "default",
                         "labels": {"app": "web", "pod-template-hash": "5d8f7c"}},
            "spec": {"containers": [{"name": "main", "image": "skiff://modules/web.wasm@sha256:00",
                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
        }))
        .expect("pod")
    };
    let timed = |what: &'static str, start: Instant| {
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{what}: {n} in {:.0} ms: {:.0}/s",
            secs * 1e3,
            n as f64 / secs
        );
    };

    let start = Instant::now();
    let uids: Vec<String> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let pod = pod(i);
            async move {
                client
                    .create(&pod)
                    .await
                    .expect("create")
                    .metadata
                    .uid
                    .expect("uid")
            }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    timed("create", start);

    let start = Instant::now();
    futures::stream::iter(uids.iter().enumerate())
        .for_each_concurrent(IN_FLIGHT, |(i, uid)| {
            let client = client.clone();
            async move {
                client
                    .bind("default", &format!("web-{i}"), uid, "node-a")
                    .await
                    .expect("bind");
            }
        })
        .await;
    timed("bind", start);

    let start = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(IN_FLIGHT, |i| {
            let client = client.clone();
            async move {
                client
                    .update_status::<Pod>(Some("default"), &format!("web-{i}"), |pod| {
                        let status = pod.status.get_or_insert_with(Default::default);
                        status.phase = Some("Running".into());
                        status.container_statuses = Some(vec![ContainerStatus {
                            name: "main".into(),
                            ready: true,
                            started: Some(true),
                            ..ContainerStatus::default()
                        }]);
                        true
                    })
                    .await
                    .expect("status");
            }
        })
        .await;
    timed("status update", start);
    token.cancel();
}
