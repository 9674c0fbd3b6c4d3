//! HTTP benchmark of the API server: durable creates of small ConfigMaps over real HTTP
//! from 64 concurrent keep-alive clients, against `skiff server`'s stack (redb store with
//! group commit, watch cache, axum router) on a loopback socket. Prints creates/s and
//! p50/p99 latency. Run with `cargo bench -p skiff-controlplane --bench api`.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, RedbStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const DURATION: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(apiserver::serve(listener, state, std::future::pending()));

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CLIENTS)
        .build_http();
    let url = format!("http://{addr}/api/v1/namespaces/default/configmaps");
    let deadline = Instant::now() + DURATION;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let body = format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{c}-{i}","labels":{{"bench":"yes"}}}},"data":{{"key":"value-{i}"}}}}"#
                    );
                    let request = hyper::Request::post(&url)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .expect("request");
                    let start = Instant::now();
                    let response = client.request(request).await.expect("response");
                    let status = response.status();
                    response.into_body().collect().await.expect("body");
                    assert_eq!(status.as_u16(), 201);
                    latencies.push(start.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!("machine: {}", machine());
    println!(
        "durable creates over HTTP, {CLIENTS} clients: {} in {:.1?} = {:.0}/s; latency p50 {:.2?} p99 {:.2?} max {:.2?}",
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    token.cancel();
}
