//! Cost of the metrics path in the API server at 10,000 pods on one node: taking in the
//! node's reports (a full one, and changed-only ones listing every pod — the worst case,
//! every pod busy), and serving `kubectl top pods -A` (`GET
//! /apis/metrics.k8s.io/v1beta1/pods` with kubectl's protobuf-first Accept header) over
//! real HTTP on loopback, against `skiff server`'s read stack (watch cache over the store,
//! axum router). The collector is fed synthetic reports; no agent runs. Prints wall time
//! and the process's CPU time per operation. Run with
//! `cargo bench -p skiff-controlplane --bench metrics`.

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
use skiff_controlplane::metrics::collector::RESOURCE_WINDOW;
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use skiff_model::kinds::find;
use skiff_model::stats::{ContainerReport, NodeReport, PodReport, RequestCounters};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PODS: usize = 10_000;
const NAMESPACES: usize = 10;
const REPORTS: u64 = 20;
const REQUESTS: usize = 30;

/// The process's CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let total = ticks(11) + ticks(12);
    // Linux reports them in USER_HZ, 100 per second on every architecture it runs on.
    Duration::from_millis(total * 10)
}

fn report(i: u64) -> NodeReport {
    let pods = (0..PODS)
        .map(|p| PodReport {
            namespace: format!("ns-{}", p % NAMESPACES),
            name: format!("web-{p}"),
            containers: vec![ContainerReport {
                name: "app".into(),
                cpu_nanos: i * 1_000_000 + p as u64,
                memory_bytes: 1 << 20,
            }],
            requests: Some(RequestCounters {
                total: i * 10,
                busy_nanos: i * 5_000_000,
                in_flight: 1,
            }),
        })
        .collect();
    NodeReport {
        node: "n1".into(),
        timestamp_millis: 1_700_000_000_000 + i * 500,
        full: i == 0,
        cpu_nanos: i * 1_000_000_000,
        memory_bytes: 10 << 30,
        pods,
        held: Vec::new(),
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    println!("machine: {}", machine());
    let token = tokio_util::sync::CancellationToken::new();
    let store = MemoryStore::new(Config::default());
    let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), token.clone())
        .await
        .expect("cache");
    let state = ApiState::new(Arc::new(cache));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    let pods = find("", "v1", "pods").expect("pods");
    for p in 0..PODS {
        let namespace = format!("ns-{}", p % NAMESPACES);
        let name = format!("web-{p}");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{p}"),
                "labels": {"app": "web", "pod-template-hash": "5d8f7c9b4"},
                "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "./web.wasm",
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
            "status": {"phase": "Running", "podIP": "10.42.0.1",
                "conditions": [{"type": "Ready", "status": "True"}]}});
        state
            .create(pods, &pods.key(Some(&namespace), &name), &pod)
            .await
            .expect("create pod");
    }

    // Taking in reports.
    let reports: Vec<NodeReport> = (0..REPORTS).map(report).collect();
    let mut ingest = Vec::new();
    let cpu_before = cpu_time();
    for (i, r) in reports.into_iter().enumerate() {
        let start = Instant::now();
        state.metrics.ingest(r, i == 0);
        ingest.push(start.elapsed());
    }
    let ingest_cpu = cpu_time().saturating_sub(cpu_before);
    let first = ingest[0];
    let later = median(&mut ingest[1..]);
    println!(
        "ingest of a report listing {PODS} pods: first (full) {first:.1?}, then median {later:.1?}; \
         CPU {:.1?} per report ({REPORTS} reports)",
        ingest_cpu / REPORTS as u32
    );
    let start = Instant::now();
    let usages = state.metrics.pods(None, RESOURCE_WINDOW);
    println!(
        "collector.pods(all) for {} pods: {:.1?}",
        usages.len(),
        start.elapsed()
    );
    assert_eq!(usages.len(), PODS, "every pod has a rate");

    // Serving `kubectl top pods -A`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(apiserver::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("http://{addr}/apis/metrics.k8s.io/v1beta1/pods");
    let get = || async {
        let request = hyper::Request::get(&url)
            .header(
                "accept",
                "application/vnd.kubernetes.protobuf, application/json",
            )
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = client.request(request).await.expect("response");
        assert_eq!(response.status(), 200);
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
    };
    let body = get().await;
    let list: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(PODS));
    let mut walls = Vec::new();
    let cpu_before = cpu_time();
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let body = get().await;
        walls.push(start.elapsed());
        assert!(body.len() > 1000);
    }
    let cpu = cpu_time().saturating_sub(cpu_before) / REQUESTS as u32;
    let wall = median(&mut walls);
    println!(
        "kubectl top pods -A at {PODS} pods: median {wall:.1?} per request, \
         process CPU {cpu:.1?} per request, client included ({REQUESTS} requests), response {} KiB",
        body.len() / 1024
    );
    token.cancel();
}
