use super::*;
use skiff_model::stats::ContainerReport;

const MS: u64 = 1_000_000;
const BASE: u64 = 1_700_000_000_000;

/// A pod with one container `app` that has used `cpu_ms` of CPU.
fn pod(name: &str, cpu_ms: u64, requests: Option<(u64, u64, u32)>) -> PodReport {
    PodReport {
        namespace: "default".into(),
        name: name.into(),
        containers: vec![ContainerReport {
            name: "app".into(),
            cpu_nanos: cpu_ms * MS,
            memory_bytes: 65536,
        }],
        requests: requests.map(|(total, busy_ms, in_flight)| RequestCounters {
            total,
            busy_nanos: busy_ms * MS,
            in_flight,
        }),
    }
}

fn report(at: u64, full: bool, node_cpu_ms: u64, pods: Vec<PodReport>) -> NodeReport {
    NodeReport {
        node: "n1".into(),
        timestamp_millis: BASE + at,
        full,
        cpu_nanos: node_cpu_ms * MS,
        memory_bytes: 1 << 20,
        pods,
        held: Vec::new(),
    }
}

struct Clock(Instant);

impl Clock {
    fn at(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }
}

fn feed(figures: &mut Figures, clock: &Clock, reports: Vec<(NodeReport, bool)>) {
    for (report, fresh) in reports {
        let at = report.timestamp_millis - BASE;
        figures.ingest(report, fresh, clock.at(at));
    }
}

const W: Duration = Duration::from_secs(2);

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn rates_are_deltas_over_the_window() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    // 250 ms of CPU per 500 ms report: half a core. 10 requests per report, each
    // outstanding 100 ms on average: 20/s, concurrency 2.
    let reports = (0..=8u64)
        .map(|i| {
            let p = pod("web", 250 * i, Some((10 * i, 1000 * i, 3)));
            (report(500 * i, i == 0, 400 * i, vec![p]), i == 0)
        })
        .collect();
    feed(&mut f, &clock, reports);
    let now = clock.at(4_000);
    let usage = f.pod("default", "web", W, now).expect("a rate");
    assert_eq!(usage.window, W);
    assert_eq!(usage.node, "n1");
    assert_eq!(
        usage.timestamp,
        UNIX_EPOCH + Duration::from_millis(BASE + 4_000)
    );
    assert!(close(usage.cpu_cores(), 0.5), "{usage:?}");
    assert_eq!(usage.memory_bytes(), 65536);
    let requests = usage.requests.expect("requests");
    assert!(close(requests.per_second, 20.0), "{requests:?}");
    assert!(close(requests.concurrency, 2.0), "{requests:?}");
    assert_eq!(requests.in_flight, 3);
    let node = f.node("n1", W, now).expect("node rate");
    assert!(close(node.cpu_cores, 0.8), "{node:?}");
    assert_eq!(node.memory_bytes, 1 << 20);
    // A window longer than the history: over what there is.
    let long = f
        .pod("default", "web", Duration::from_secs(60), now)
        .expect("a rate");
    assert_eq!(long.window, Duration::from_secs(4));
    assert!(close(long.cpu_cores(), 0.5));
    assert_eq!(f.pods(None, W, now).len(), 1);
    assert_eq!(f.pods(Some("default"), W, now).len(), 1);
    assert!(f.pods(Some("other"), W, now).is_empty());
}

#[test]
fn one_sample_tells_no_rate_and_a_steady_one_tells_zero() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    feed(
        &mut f,
        &clock,
        vec![(report(0, true, 0, vec![pod("a", 7, None)]), true)],
    );
    assert!(f.pod("default", "a", W, clock.at(0)).is_none());
    assert!(f.node("n1", W, clock.at(0)).is_none());
    // The next report leaves it out: it held its counters.
    feed(&mut f, &clock, vec![(report(500, false, 0, vec![]), false)]);
    let usage = f.pod("default", "a", W, clock.at(500)).expect("a rate");
    assert_eq!(usage.cpu_cores(), 0.0);
    assert_eq!(usage.window, Duration::from_millis(500));
}

#[test]
fn idle_pods_hold_their_counters_and_a_burst_is_not_diluted() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    let mut reports = vec![(
        report(
            0,
            true,
            0,
            vec![pod("idle", 100, None), pod("burst", 100, None)],
        ),
        true,
    )];
    // Thirty seconds of changed-only reports listing neither pod.
    for i in 1..=60u64 {
        reports.push((report(500 * i, false, 0, vec![]), false));
    }
    // Then "burst" uses 500 ms of CPU within the last 500 ms: one core.
    reports.push((
        report(30_500, false, 0, vec![pod("burst", 600, None)]),
        false,
    ));
    feed(&mut f, &clock, reports);
    let now = clock.at(30_500);
    let idle = f.pod("default", "idle", W, now).expect("idle pod answered");
    assert_eq!(idle.cpu_cores(), 0.0);
    assert_eq!(idle.window, W, "steady counters cover the whole window");
    let burst = f.pod("default", "burst", W, now).expect("burst answered");
    // 500 ms of CPU over the 2 s window, not over 30.5 s.
    assert!(close(burst.cpu_cores(), 0.25), "{burst:?}");
    assert_eq!(burst.window, W);
    let short = f
        .pod("default", "burst", Duration::from_millis(500), now)
        .expect("burst answered");
    assert!(close(short.cpu_cores(), 1.0), "{short:?}");
}

#[test]
fn a_full_report_drops_the_pods_it_does_not_list() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    feed(
        &mut f,
        &clock,
        vec![
            (
                report(0, true, 0, vec![pod("a", 1, None), pod("b", 1, None)]),
                true,
            ),
            (report(500, false, 0, vec![pod("a", 2, None)]), false),
            (report(1_000, false, 0, vec![]), false),
        ],
    );
    assert!(f.pod("default", "b", W, clock.at(1_000)).is_some());
    feed(
        &mut f,
        &clock,
        vec![(report(1_500, true, 0, vec![pod("a", 2, None)]), false)],
    );
    let now = clock.at(1_500);
    assert!(f.pod("default", "b", W, now).is_none(), "b is gone");
    let a = f.pod("default", "a", W, now).expect("a stays");
    assert!(close(a.cpu_cores(), MS as f64 / 1.5e9), "{a:?}");
    let names: Vec<String> = f.pods(None, W, now).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["a"]);
}

#[test]
fn a_new_connection_starts_the_node_afresh() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    feed(
        &mut f,
        &clock,
        vec![
            (
                report(
                    0,
                    true,
                    1_000,
                    vec![pod("a", 1_000, None), pod("b", 5, None)],
                ),
                true,
            ),
            (
                report(500, false, 1_200, vec![pod("a", 1_200, None)]),
                false,
            ),
        ],
    );
    assert!(f.pod("default", "a", W, clock.at(500)).is_some());
    // The agent restarted: counters from zero, a fresh connection.
    feed(
        &mut f,
        &clock,
        vec![(report(700, true, 10, vec![pod("a", 10, None)]), true)],
    );
    let now = clock.at(700);
    assert!(
        f.pod("default", "a", W, now).is_none(),
        "one sample since the restart"
    );
    assert!(
        f.pod("default", "b", W, now).is_none(),
        "b went with the restart"
    );
    assert!(f.node("n1", W, now).is_none());
    feed(
        &mut f,
        &clock,
        vec![(report(1_200, false, 110, vec![pod("a", 110, None)]), false)],
    );
    let a = f
        .pod("default", "a", W, clock.at(1_200))
        .expect("a rate again");
    assert!(close(a.cpu_cores(), 0.2), "{a:?}");
}

#[test]
fn a_counter_going_down_restarts_that_history() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    feed(
        &mut f,
        &clock,
        vec![
            (report(0, true, 0, vec![pod("a", 1_000, None)]), true),
            (report(500, false, 0, vec![pod("a", 10, None)]), false),
        ],
    );
    assert!(f.pod("default", "a", W, clock.at(500)).is_none());
    feed(
        &mut f,
        &clock,
        vec![(report(1_000, false, 0, vec![pod("a", 60, None)]), false)],
    );
    let a = f.pod("default", "a", W, clock.at(1_000)).expect("a rate");
    assert!(close(a.cpu_cores(), 0.1), "{a:?}");
}

#[test]
fn stale_nodes_and_forgotten_nodes_are_not_answered() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    let mut held = report(0, true, 0, vec![pod("a", 0, None)]);
    held.held = vec![HeldRequests {
        namespace: "default".into(),
        service: "web".into(),
        count: 3,
    }];
    let mut second = report(500, false, 0, vec![]);
    second.held = held.held.clone();
    feed(&mut f, &clock, vec![(held, true), (second, false)]);
    let fresh = clock.at(500) + STALE_AFTER;
    assert!(f.pod("default", "a", W, fresh).is_some());
    assert_eq!(f.held("default", "web", fresh), 3);
    assert_eq!(f.held("default", "other", fresh), 0);
    let stale = fresh + Duration::from_millis(1);
    assert!(f.pod("default", "a", W, stale).is_none());
    assert!(f.node("n1", W, stale).is_none());
    assert!(f.pods(None, W, stale).is_empty());
    assert_eq!(f.held("default", "web", stale), 0);
    f.forget("n1");
    assert!(f.pod("default", "a", W, clock.at(500)).is_none());
    assert!(f.node_names().is_empty());
}

#[test]
fn held_requests_add_up_over_agents() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    for (node, count) in [("n1", 2), ("n2", 5)] {
        let mut r = report(0, true, 0, vec![]);
        r.node = node.into();
        r.held = vec![HeldRequests {
            namespace: "default".into(),
            service: "web".into(),
            count,
        }];
        f.ingest(r, true, clock.at(0));
    }
    assert_eq!(f.held("default", "web", clock.at(0)), 7);
    // A report with nothing held replaces the node's gauge.
    let mut r = report(500, false, 0, vec![]);
    r.node = "n2".into();
    f.ingest(r, false, clock.at(500));
    assert_eq!(f.held("default", "web", clock.at(500)), 2);
}

#[test]
fn a_pod_listed_by_another_node_moves_there() {
    let clock = Clock(Instant::now());
    let mut f = Figures::default();
    feed(
        &mut f,
        &clock,
        vec![(report(0, true, 0, vec![pod("a", 500, None)]), true)],
    );
    let mut other = report(0, true, 0, vec![pod("a", 1, None)]);
    other.node = "n2".into();
    f.ingest(other, true, clock.at(0));
    let mut next = report(500, false, 0, vec![pod("a", 101, None)]);
    next.node = "n2".into();
    f.ingest(next, false, clock.at(500));
    let a = f.pod("default", "a", W, clock.at(500)).expect("a rate");
    assert_eq!(a.node, "n2");
    assert!(close(a.cpu_cores(), 0.2), "{a:?}");
    // A full report of n1 without it does not drop it from n2.
    feed(&mut f, &clock, vec![(report(500, true, 0, vec![]), false)]);
    assert!(f.pod("default", "a", W, clock.at(500)).is_some());
}
