//! HTTP benchmark of listing 100,000 pods: the `skiff server` stack in one process (redb
//! store, watch cache, axum router); pods are loaded through the cache, then
//! `GET /api/v1/pods` is timed over real HTTP, as JSON and as kubectl's Table. Prints p50
//! latency and the process's resident memory. Run with
//! `cargo bench -p skiff-controlplane --bench list`.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, RedbStore, Store};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PODS: usize = 100_000;
const WRITERS: usize = 64;
const RUNS: usize = 9;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("store.redb"), Config::default()).expect("store");
    let token = tokio_util::sync::CancellationToken::new();
    let cache = Arc::new(
        CachedStore::start(Arc::new(store), CacheConfig::default(), token.clone())
            .await
            .expect("cache"),
    );
    let rss_empty = rss();
    let load = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let cache = cache.clone();
            tokio::spawn(async move {
                for i in (w..PODS).step_by(WRITERS) {
                    let ns = format!("ns-{}", i % 10);
                    let name = format!("pod-{i}");
                    let pod = pod(&ns, &name);
                    let key = format!("/registry/core/pods/{ns}/{name}");
                    cache.create(&key, Bytes::from(pod)).await.expect("create");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let loaded_in = load.elapsed();
    let state = ApiState::new(cache.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(apiserver::serve(listener, state, std::future::pending()));

    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    println!("machine: {}", machine());
    println!(
        "loaded {PODS} pods (~1 KiB each) in {loaded_in:.1?}; RSS {} MiB -> {} MiB",
        rss_empty,
        rss()
    );
    for (what, accept) in [
        ("JSON", "application/json"),
        (
            "Table",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        ),
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let request = hyper::Request::get(format!("http://{addr}/api/v1/pods"))
                .header("accept", accept)
                .body(Empty::new())
                .expect("request");
            let start = Instant::now();
            let response = client.request(request).await.expect("response");
            assert_eq!(response.status().as_u16(), 200);
            bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .len();
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "GET /api/v1/pods ({what}, {PODS} items, {} MiB): p50 {:.0?}, min {:.0?}, max {:.0?} over {RUNS}; RSS after {} MiB",
            bytes >> 20,
            times[RUNS / 2],
            times[0],
            times[RUNS - 1],
            rss()
        );
    }
    token.cancel();
    tokio::time::sleep(Duration::from_millis(10)).await;
}

fn pod(namespace: &str, name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("00000000-0000-0000-0000-{name:0>12}"),
            "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "bench", "tier": "web"}},
        "spec": {"nodeName": "node-1", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "app", "image": "registry.example/app:1.0",
                "env": [{"name": "MODE", "value": "production"}],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": "2026-01-01T00:00:01Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "registry.example/app:1.0",
                "imageID": "sha256:0123456789abcdef", "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}]}
    }))
    .expect("json")
}

/// Resident set size of this process, in MiB.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
