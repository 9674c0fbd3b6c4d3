//! Pod start and density on one node, against real `skiff server` and `skiff agent`
//! processes (release builds):
//!
//! 1. start latency: pods bound one after another (created with `spec.nodeName`), from
//!    the create returning to the watch seeing `status.phase=Running` — p50/p99;
//! 2. burst: 1,000 pending pods created at once and placed by the scheduler, time until
//!    all are Running;
//! 3. density: 10,000 idle long-running pods on a fresh agent, its resident memory per
//!    pod above its baseline.
//!
//! `cargo bench --bench pods` (`-- --quick` for 100 / 200 / 1,000 pods; `-- start` or
//! `-- density` for one part only).

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{agent, machine, rss_kib, wait_node};

mod support;

const IMAGE: &str = skiff_test_programs::P1_SLEEP;

fn pod(name: &str, node: Option<&str>) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "pods"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": format!("file://{IMAGE}")}],
        },
    }))
    .expect("pod")
}

/// Waits until every pod in `names` has been seen Running by `events`.
async fn until_running(
    events: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<Pod>>> + Unpin),
    mut names: HashSet<String>,
) {
    while !names.is_empty() {
        let event = tokio::time::timeout(Duration::from_secs(120), events.next())
            .await
            .expect("pods to run within 2 minutes")
            .expect("watch open")
            .expect("watch event");
        if let WatchEvent::Modified(p) | WatchEvent::Added(p) = event
            && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            && let Some(name) = p.metadata.name
        {
            names.remove(&name);
        }
    }
}

async fn delete_all(pods: &Api<Pod>) {
    pods.delete_collection(
        &DeleteParams::default().grace_period(0),
        &ListParams::default().labels("bench=pods"),
    )
    .await
    .expect("delete pods");
    for _ in 0..1200 {
        if pods
            .list(&ListParams::default().limit(1))
            .await
            .expect("list")
            .items
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pods were not deleted");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = |part: &str| {
        let parts = ["start", "density"];
        !args.iter().any(|a| parts.contains(&a.as_str())) || args.iter().any(|a| a == part)
    };
    let (sequential, burst, density) = if quick {
        (100, 200, 1000)
    } else {
        (500, 1000, 10_000)
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = support::server(dir.path(), &[]).await;
    let (client, kubeconfig) = (server.client.clone(), server.kubeconfig.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    println!("{}", machine());

    if only("start") {
        start_benches(&client, &pods, &kubeconfig, dir.path(), sequential, burst).await;
    }
    if only("density") {
        density_bench(&client, &pods, &kubeconfig, dir.path(), density).await;
    }
}

async fn start_benches(
    client: &kube::Client,
    pods: &Api<Pod>,
    kubeconfig: &Path,
    dir: &Path,
    sequential: usize,
    burst: usize,
) {
    // 1. Sequential start latency.
    let node = agent(kubeconfig, dir, "bench", 2048, &[]);
    wait_node(client, "bench").await;
    // Warm the node: pull and compile the image once.
    let mut events = pods
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    pods.create(&PostParams::default(), &pod("warm", Some("bench")))
        .await
        .expect("create");
    until_running(&mut events, HashSet::from(["warm".to_string()])).await;
    let mut latencies = Vec::with_capacity(sequential);
    for i in 0..sequential {
        let name = format!("seq-{i}");
        pods.create(&PostParams::default(), &pod(&name, Some("bench")))
            .await
            .expect("create");
        let bound = Instant::now();
        until_running(&mut events, HashSet::from([name])).await;
        latencies.push(bound.elapsed());
    }
    latencies.sort();
    println!(
        "pod start, bound one after another ({sequential} pods): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    delete_all(pods).await;

    // 2. Burst: pending pods created at once, placed by the scheduler.
    let names: Vec<String> = (0..burst).map(|i| format!("burst-{i}")).collect();
    let mut events = pods
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    let start = Instant::now();
    futures::stream::iter(names.iter().cloned())
        .map(|name| {
            let pods = pods.clone();
            async move {
                pods.create(&PostParams::default(), &pod(&name, None))
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .expect("create pending pods");
    let created = start.elapsed();
    until_running(&mut events, names.iter().cloned().collect()).await;
    println!(
        "burst: {burst} pending pods created at once (creating took {:.0} ms), scheduled and started: all Running after {:.0} ms",
        created.as_secs_f64() * 1e3,
        start.elapsed().as_secs_f64() * 1e3
    );
    delete_all(pods).await;
    drop(node);
}

async fn density_bench(
    client: &kube::Client,
    pods: &Api<Pod>,
    kubeconfig: &Path,
    dir: &Path,
    density: usize,
) {
    // 3. Density: idle pods on a fresh agent.
    let node = agent(kubeconfig, dir, "dense", density as u32 + 16, &[]);
    wait_node(client, "dense").await;
    let mut events = pods
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    pods.create(&PostParams::default(), &pod("warm-dense", Some("dense")))
        .await
        .expect("create");
    until_running(&mut events, HashSet::from(["warm-dense".to_string()])).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = rss_kib(node.0.id());
    let baseline_maps = support::memory::mappings(node.0.id());
    let names: Vec<String> = (0..density).map(|i| format!("idle-{i}")).collect();
    let start = Instant::now();
    futures::stream::iter(names.iter().cloned())
        .map(|name| {
            let pods = pods.clone();
            async move {
                pods.create(&PostParams::default(), &pod(&name, Some("dense")))
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .expect("create idle pods");
    // Polled rather than watched: 10,000 pods make more events than a slow watcher may
    // lag behind before the server closes it.
    let not_running = ListParams::default().fields("spec.nodeName=dense,status.phase!=Running");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !pods
        .list(&not_running)
        .await
        .expect("list")
        .items
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "{density} pods did not run within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let running = start.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let loaded = rss_kib(node.0.id());
    println!(
        "density: {density} idle pods Running after {:.1} s; agent RSS {:.1} MiB idle -> {:.1} MiB: {:.1} KiB per pod",
        running.as_secs_f64(),
        baseline as f64 / 1024.0,
        loaded as f64 / 1024.0,
        (loaded.saturating_sub(baseline)) as f64 / density as f64
    );
    let loaded_maps = support::memory::mappings(node.0.id());
    for line in support::memory::growth(&baseline_maps, &loaded_maps, density as u64, 6) {
        println!("  {line}");
    }
}
