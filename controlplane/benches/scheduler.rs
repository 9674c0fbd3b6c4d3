//! Benchmark of the scheduler on the production stack (redb store with group commit in a
//! temporary directory, behind the watch cache): 100 Ready nodes and N pending pods
//! (10,000 by default; `--quick`: 1,000; `--pods N`) are written first, then the scheduler
//! starts; the clock runs until the informer has seen every pod bound. Prints pods bound
//! per second. Run with `cargo bench -p skiff-controlplane --bench scheduler [-- --quick]`.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeCondition, NodeStatus, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::events::start_recorder;
use skiff_controlplane::machinery::informers::Informers;
use skiff_controlplane::scheduler::Scheduler;
use skiff_controlplane::store::{Config as StoreConfig, RedbStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

const NODES: usize = 100;
const DEFAULT_PODS: usize = 10_000;
const QUICK_PODS: usize = 1_000;
/// Creates in flight while the pods are written.
const WRITERS: usize = 256;
/// How long the bench waits for every pod to be bound before it reports what it saw.
const DEADLINE: Duration = Duration::from_secs(120);

fn pods_wanted() -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--pods") {
        return args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--pods takes a number");
    }
    if args.iter().any(|a| a == "--quick") {
        QUICK_PODS
    } else {
        DEFAULT_PODS
    }
}

fn node(name: &str) -> Node {
    let allocatable = BTreeMap::from([
        ("cpu".to_string(), Quantity("64".into())),
        ("memory".to_string(), Quantity("256Gi".into())),
        ("pods".to_string(), Quantity("1000".into())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            allocatable: Some(allocatable.clone()),
            capacity: Some(allocatable),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    }
}

fn pod(name: &str) -> Pod {
    let requests = BTreeMap::from([
        ("cpu".to_string(), Quantity("10m".into())),
        ("memory".to_string(), Quantity("16Mi".into())),
    ]);
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some("app.wasm".into()),
                resources: Some(ResourceRequirements {
                    requests: Some(requests),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// CPU time this process has used so far (user and system), from `/proc/self/stat`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn is_bound(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.spec.as_ref())
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
}

#[tokio::main]
async fn main() {
    let pods = pods_wanted();
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        RedbStore::open(dir.path().join("store.redb"), StoreConfig::default()).expect("store");
    let shutdown = CancellationToken::new();
    let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), shutdown.clone())
        .await
        .expect("cache");
    let state = ApiState::new(Arc::new(cache));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    let client = Client::new(state.clone(), "bench");

    for i in 0..NODES {
        let n = node(&format!("node-{i:03}"));
        let status = n.status.clone();
        client.create(&n).await.expect("node");
        client
            .update_status::<Node>(None, &format!("node-{i:03}"), |n| {
                n.status = status.clone();
                true
            })
            .await
            .expect("node status");
    }
    let writing = Instant::now();
    let permits = Arc::new(Semaphore::new(WRITERS));
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..pods {
        let permit = Arc::clone(&permits).acquire_owned().await.expect("open");
        let client = client.clone();
        writers.spawn(async move {
            client
                .create(&pod(&format!("p-{i:05}")))
                .await
                .expect("pod");
            drop(permit);
        });
    }
    while let Some(written) = writers.join_next().await {
        written.expect("a pod writer failed");
    }
    let written = writing.elapsed();

    let ctx = Context {
        informers: Informers::new(),
        events: start_recorder(Client::new(state.clone(), "events"), shutdown.clone()),
        state: state.clone(),
        config: Config::default(),
    };
    let bound = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    {
        let (bound, done) = (Arc::clone(&bound), Arc::clone(&done));
        ctx.informers.pods.subscribe(move |change| {
            if is_bound(change.new)
                && !is_bound(change.old)
                && bound.fetch_add(1, Ordering::Relaxed) + 1 == pods
            {
                done.notify_one();
            }
        });
    }
    let cpu_before = cpu_time();
    let start = Instant::now();
    let scheduler = Scheduler::new(&ctx);
    ctx.informers
        .start(&state, &shutdown)
        .await
        .expect("informers");
    let synced = start.elapsed();
    let running = Instant::now();
    tokio::spawn(scheduler.run(shutdown.clone()));
    let finished = tokio::time::timeout(DEADLINE, done.notified()).await;
    let elapsed = start.elapsed();
    let scheduling = running.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    println!("machine: {}", machine());
    println!(
        "setup: {NODES} nodes, {pods} pending pods written in {written:.1?} ({:.0}/s)",
        pods as f64 / written.as_secs_f64()
    );
    if finished.is_err() {
        println!(
            "only {} of {pods} pods bound after {elapsed:.1?}",
            bound.load(Ordering::Relaxed)
        );
        let all = ctx.informers.pods.list();
        let unbound: Vec<_> = all.iter().filter(|p| !is_bound(Some(p))).collect();
        println!(
            "the informer has {} pods, {} unbound",
            all.len(),
            unbound.len()
        );
        if let Some(pod) = unbound.first() {
            let stored = client
                .get::<Pod>(
                    Some("default"),
                    pod.metadata.name.as_deref().unwrap_or_default(),
                )
                .await;
            println!(
                "first unbound in the informer: {:?} at {:?}, conditions {:?}; stored: {:?}",
                pod.metadata.name,
                pod.metadata.resource_version,
                pod.status.as_ref().and_then(|s| s.conditions.clone()),
                stored.map(|p| (
                    p.metadata.resource_version,
                    p.spec.and_then(|s| s.node_name)
                ))
            );
        }
    }
    println!(
        "scheduled {pods} pods in {elapsed:.2?} (informers loaded in {synced:.2?}, binding {scheduling:.2?}) = {:.0} pods/s ({:.0} pods/s after the informers loaded)",
        pods as f64 / elapsed.as_secs_f64(),
        pods as f64 / scheduling.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        println!(
            "cpu time while scheduling: {cpu:.2?} ({:.0} µs per pod, all threads: store, watch cache, informers, scheduler, events)",
            cpu.as_micros() as f64 / pods as f64
        );
    }
    shutdown.cancel();
}
