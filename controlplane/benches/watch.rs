//! Watch cache benchmarks, printing figures (run with `cargo bench -p skiff-controlplane
//! --bench watch`):
//!
//! 1. fan-out (run second): 1,000 cache watchers of one prefix on a `CachedStore` over a `RedbStore`; one
//!    writer updates pods at a steady rate; for every (event, watcher) pair, the time from
//!    just before the write call, and from the write's acknowledgement, to the event's
//!    delivery by the watcher's `next()`: p50, p99, max;
//! 2. listing (run first) 100,000 pod-like JSON values of about 1 KiB from the cache: latency of a full
//!    `list`, and the process's resident memory (VmRSS) before and after loading.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use bytes::Bytes;
use skiff_controlplane::store::{self, MemoryStore, RedbStore, Store};
use skiff_controlplane::watchcache::{self, CachedStore};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const WATCHERS: usize = 1_000;
const UPDATES: usize = 2_000;
/// 250 updates per second: a busy small cluster.
const UPDATE_INTERVAL: Duration = Duration::from_millis(4);
/// Pods the updates cycle through.
const PODS: usize = 100;
const OBJECTS: usize = 100_000;
const LISTS: usize = 21;
const VALUE_SIZE: usize = 1_024;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!("machine: {}", machine());
    // The listing first, so that its memory figures start from a fresh process.
    runtime.block_on(listing());
    runtime.block_on(fan_out());
}

/// Benchmark 1.
async fn fan_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inner = Arc::new(
        RedbStore::open(dir.path().join("watch.redb"), store::Config::default())
            .expect("open store"),
    );
    let cache = Arc::new(
        CachedStore::start(
            inner,
            watchcache::Config::default(),
            CancellationToken::new(),
        )
        .await
        .expect("start cache"),
    );
    let mut pods = Vec::new();
    for i in 0..PODS {
        let key = format!("/registry/pods/default/web-{i:03}");
        pods.push(cache.create(&key, pod(i, 0)).await.expect("create"));
    }
    let base = Instant::now();
    let mut watchers = tokio::task::JoinSet::new();
    for _ in 0..WATCHERS {
        let mut watch = cache
            .watch_from_cache("/registry/pods/", 0)
            .await
            .expect("watch");
        watchers.spawn(async move {
            // Delivery time of each update, in order, and its write-call time (read from the
            // value, where the writer put it).
            let mut delivered = Vec::with_capacity(UPDATES);
            while delivered.len() < UPDATES {
                let event = watch.next().await.expect("an event").expect("event");
                delivered.push((base.elapsed(), sent_at(&event.kv.value)));
            }
            delivered
        });
    }
    let acked = Arc::new(Mutex::new(Vec::with_capacity(UPDATES)));
    let writer = {
        let (cache, acked) = (cache.clone(), acked.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPDATE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for n in 0..UPDATES {
                tick.tick().await;
                let i = n % PODS;
                let sent = base.elapsed();
                let kv = cache
                    .update(&pods[i].key, pod_sent(i, n, sent), pods[i].mod_revision)
                    .await
                    .expect("update");
                acked
                    .lock()
                    .expect("not poisoned")
                    .push((sent, base.elapsed()));
                pods[i] = kv;
            }
        })
    };
    let started = Instant::now();
    writer.await.expect("writer");
    let mut from_call = Vec::with_capacity(WATCHERS * UPDATES);
    let mut from_ack = Vec::with_capacity(WATCHERS * UPDATES);
    let acked = acked.lock().expect("not poisoned").clone();
    let mut commits: Vec<Duration> = acked.iter().map(|(sent, ack)| *ack - *sent).collect();
    for delivered in watchers.join_all().await {
        assert_eq!(delivered.len(), acked.len());
        for (n, (at, sent)) in delivered.into_iter().enumerate() {
            from_call.push(at.saturating_sub(sent));
            // The store publishes an event before it answers the writer, so the cache may
            // deliver it before the acknowledgement: those count as 0.
            from_ack.push(at.saturating_sub(acked[n].1));
        }
    }
    let elapsed = started.elapsed();
    println!(
        "fan-out: {WATCHERS} cache watchers over redb, {UPDATES} updates of {VALUE_SIZE} B pods \
         in {elapsed:.2?} ({:.0}/s), {} deliveries",
        UPDATES as f64 / elapsed.as_secs_f64(),
        from_call.len()
    );
    println!("  write call -> ack:      {}", percentiles(&mut commits));
    println!("  write call -> delivery: {}", percentiles(&mut from_call));
    println!("  write ack  -> delivery: {}", percentiles(&mut from_ack));
}

/// Benchmark 2.
async fn listing() {
    let before = rss();
    let inner = Arc::new(MemoryStore::new(store::Config::default()));
    let mut bytes = 0;
    for i in 0..OBJECTS {
        let key = format!("/registry/pods/ns-{:02}/pod-{i:06}", i % 50);
        let value = pod(i, 0);
        bytes += key.len() + value.len();
        inner.create(&key, value).await.expect("create");
    }
    let loaded = rss();
    let cache = CachedStore::start(
        inner,
        watchcache::Config::default(),
        CancellationToken::new(),
    )
    .await
    .expect("start cache");
    let cached = rss();
    let mut samples = Vec::with_capacity(LISTS);
    for _ in 0..LISTS {
        let start = Instant::now();
        let list = cache.list("/registry/pods/").await.expect("list");
        samples.push(start.elapsed());
        assert_eq!(list.items.len(), OBJECTS);
    }
    samples.sort_unstable();
    let mb = |kib: u64| kib as f64 / 1024.0;
    println!(
        "listing: {OBJECTS} pods ({:.0} MiB of keys and values) from the cache: full list \
         p50 {:.2?}, min {:.2?}, max {:.2?} over {LISTS}",
        bytes as f64 / (1024.0 * 1024.0),
        samples[LISTS / 2],
        samples[0],
        samples[LISTS - 1],
    );
    println!(
        "  VmRSS: {:.0} MiB before loading, {:.0} MiB with the MemoryStore loaded, {:.0} MiB \
         with the cache started (+{:.0} MiB; values are shared `Bytes`, keys copied)",
        mb(before),
        mb(loaded),
        mb(cached),
        mb(cached.saturating_sub(loaded)),
    );
}

/// A pod-like JSON value of about [`VALUE_SIZE`] bytes.
fn pod(i: usize, generation: usize) -> Bytes {
    pod_sent(i, generation, Duration::ZERO)
}

/// A pod-like value whose first field is `sent`, in nanoseconds, at a fixed offset.
fn pod_sent(i: usize, generation: usize, sent: Duration) -> Bytes {
    let mut json = format!(
        r#"{{"sent":{:020},"apiVersion":"v1","kind":"Pod","metadata":{{"name":"web-{i:06}","namespace":"default","uid":"{i:08x}-0000-4000-8000-{generation:012x}","labels":{{"app":"web","tier":"frontend"}}}},"spec":{{"containers":[{{"name":"web","image":"registry.example/web:1.2.3","resources":{{"limits":{{"cpu":"100m","memory":"64Mi"}}}}}}],"nodeName":"node-{:02}"}},"status":{{"phase":"Running","podIP":"10.0.{}.{}"}},"pad":""#,
        sent.as_nanos(),
        i % 16,
        (i / 256) % 256,
        i % 256,
    );
    while json.len() < VALUE_SIZE - 2 {
        json.push('x');
    }
    json.push_str("\"}");
    Bytes::from(json)
}

/// The write-call time a value carries (see [`pod_sent`]).
fn sent_at(value: &[u8]) -> Duration {
    let digits = std::str::from_utf8(&value[8..28]).expect("ascii digits");
    Duration::from_nanos(digits.parse().expect("a number"))
}

fn percentiles(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    format!(
        "p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        at(0.50),
        at(0.99),
        at(1.0)
    )
}

/// The process's resident set, in KiB.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}
