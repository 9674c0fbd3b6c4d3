//! What reporting costs at 10,000 pods on one agent: reading every meter (a snapshot),
//! building a full report and a changed-only one, encoding them as the stream's JSON
//! lines, and rendering the resource series. It prints the figures (run it with
//! `--nocapture`, ideally `--release`); it asserts only what the reports contain, never
//! how long they took.

use skiff_agent::stats::prometheus;
use skiff_agent::stats::report::ReportBuilder;
use skiff_agent::stats::{Snapshot, UsageRegistry};
use skiff_model::stats::RequestCounters;
use std::time::{Duration, Instant};

const PODS: usize = 10_000;
const ROUNDS: usize = 5;

/// The median time of `ROUNDS` runs of `f`, and its last result.
fn median<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut last = None;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        last = Some(std::hint::black_box(f()));
        times.push(start.elapsed());
    }
    times.sort_unstable();
    (times[ROUNDS / 2], last.expect("ROUNDS > 0"))
}

/// `snapshot` with one pod in `every` having burned some more CPU.
fn advanced(snapshot: &Snapshot, every: usize, by: u64) -> Snapshot {
    let mut next = snapshot.clone();
    for pod in next.pods.iter_mut().step_by(every) {
        pod.containers[0].cpu_nanos += by;
        next.cpu_nanos += by;
    }
    next
}

#[test]
fn reporting_on_ten_thousand_pods() {
    let registry = UsageRegistry::new();
    for i in 0..PODS {
        let pod = registry.pod(
            &format!("tenant-{}", i % 50),
            &format!("web-{i:05}-7f9c8d6b5-x2k4q"),
            &format!("uid-{i}"),
        );
        pod.container("app", false);
    }
    let requests: Vec<_> = (0..PODS)
        .step_by(2)
        .map(|i| {
            (
                (
                    format!("tenant-{}", i % 50),
                    format!("web-{i:05}-7f9c8d6b5-x2k4q"),
                ),
                RequestCounters {
                    total: i as u64,
                    busy_nanos: i as u64 * 1_000_000,
                    in_flight: 1,
                },
            )
        })
        .collect();
    let mut requests = requests;
    requests.sort_by(|a, b| a.0.cmp(&b.0));

    let (snapshot_time, snapshot) = median(|| registry.snapshot());
    assert_eq!(snapshot.pods.len(), PODS);

    let start = Instant::now();
    let (full_time, full) = median(|| {
        let mut builder = ReportBuilder::new("node-a");
        builder.next(snapshot.clone(), &requests, Vec::new(), start)
    });
    assert!(full.full && full.pods.len() == PODS);
    let (full_json_time, full_line) = median(|| serde_json::to_vec(&full).expect("encodes"));

    // Changed-only: 1 % of the pods burned CPU since the previous report.
    let mut builder = ReportBuilder::new("node-a");
    builder.next(snapshot.clone(), &requests, Vec::new(), start);
    let mut round = 0u64;
    let later = start + Duration::from_millis(500);
    let (changed_time, changed) = median(|| {
        round += 1;
        builder.next(
            advanced(&snapshot, 100, round),
            &requests,
            Vec::new(),
            later,
        )
    });
    assert!(!changed.full && changed.pods.len() == PODS / 100);
    let (changed_json_time, changed_line) =
        median(|| serde_json::to_vec(&changed).expect("encodes"));
    let (advance_time, _) = median(|| advanced(&snapshot, 100, 1));

    let (prometheus_time, text) = median(|| prometheus::render(&snapshot));
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("container_cpu_usage_seconds_total{"))
            .count(),
        PODS
    );

    println!("reporting on {PODS} pods (median of {ROUNDS}):");
    println!("  snapshot of every meter:           {snapshot_time:>10.2?}");
    println!("  full report, built:                {full_time:>10.2?} (includes a snapshot clone)");
    println!(
        "  full report, JSON:                 {full_json_time:>10.2?} ({} bytes)",
        full_line.len()
    );
    println!(
        "  changed-only (1 %), built:         {:>10.2?} (less {advance_time:.2?} of test set-up)",
        changed_time
    );
    println!(
        "  changed-only (1 %), JSON:          {changed_json_time:>10.2?} ({} bytes)",
        changed_line.len()
    );
    println!(
        "  Prometheus resource series:        {prometheus_time:>10.2?} ({} bytes)",
        text.len()
    );
}
