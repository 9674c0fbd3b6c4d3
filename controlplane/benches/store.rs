//! Store benchmarks, printing figures (run with `cargo bench -p skiff-controlplane --bench
//! store`):
//!
//! 1. durable creates of small values from 64 concurrent tokio tasks for a few seconds, on
//!    a redb file: creates per second and per-create latency percentiles (group commit);
//! 2. the same from one task (one commit per create), for comparison;
//! 3. the same as 1 with redb's two-phase commit.
//!
//! Each create is acknowledged only after its transaction commits with
//! `Durability::Immediate`, so the figures include fsync.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use bytes::Bytes;
use skiff_controlplane::store::{Config, RedbStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DURATION: Duration = Duration::from_secs(5);
const VALUE_SIZE: usize = 128;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!("machine: {}", machine());
    let dir = tempfile::tempdir().expect("temp dir");
    println!("store file in {}", dir.path().display());
    for (name, tasks, two_phase_commit) in [
        ("64 tasks", 64, false),
        ("1 task", 1, false),
        ("64 tasks, two-phase commit", 64, true),
    ] {
        let config = Config {
            two_phase_commit,
            ..Config::default()
        };
        let path = dir
            .path()
            .join(format!("{}.redb", name.replace([' ', ','], "-")));
        let store = Arc::new(RedbStore::open(path, config).expect("open store"));
        let (count, samples) = runtime.block_on(creates(store, tasks));
        report(
            &format!("durable creates of {VALUE_SIZE} B values, {name}"),
            count,
            samples,
        );
    }
}

/// Creates from `tasks` concurrent tasks for [`DURATION`]; the count and every latency.
async fn creates(store: Arc<RedbStore>, tasks: usize) -> (usize, Vec<Duration>) {
    let value = Bytes::from(vec![b'x'; VALUE_SIZE]);
    let end = Instant::now() + DURATION;
    let mut workers = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let store = store.clone();
        let value = value.clone();
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut i = 0u64;
            while Instant::now() < end {
                let key = format!("/registry/bench/{task:03}/{i:08}");
                let start = Instant::now();
                store.create(&key, value.clone()).await.expect("create");
                samples.push(start.elapsed());
                i += 1;
            }
            samples
        });
    }
    let mut samples: Vec<Duration> = workers.join_all().await.into_iter().flatten().collect();
    samples.sort_unstable();
    (samples.len(), samples)
}

fn report(name: &str, count: usize, samples: Vec<Duration>) {
    let percentile = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!(
        "{name}: {count} in {DURATION:?} = {:.0}/s; latency p50 {:?}, p99 {:?}, max {:?}",
        count as f64 / DURATION.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
    );
}
