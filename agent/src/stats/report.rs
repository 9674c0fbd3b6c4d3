//! [`ReportBuilder`]: turns successive [`Snapshot`]s into the stats stream's
//! [`NodeReport`]s for one receiver — the first full, then only the pods whose figures
//! changed since the previous report, with a full one again every [`FULL_EVERY`] (so a
//! receiver learns which pods left, and one that missed a line catches up).

use super::snapshot::Snapshot;
use skiff_model::stats::{HeldRequests, NodeReport, PodReport, RequestCounters};
use std::cmp::Ordering;
use std::time::{Duration, Instant};

/// How often a report lists every pod: often enough that a pod gone from the node leaves
/// the receiver's view within seconds, rarely enough that at thousands of pods most
/// reports stay small.
pub const FULL_EVERY: Duration = Duration::from_secs(10);

/// Builds one receiver's reports.
pub struct ReportBuilder {
    node: String,
    /// Every pod's figures as of the previous report, sorted like a snapshot.
    previous: Vec<PodReport>,
    /// When the last full report was built; `None` before the first.
    last_full: Option<Instant>,
}

impl ReportBuilder {
    /// A builder for the node `node`, whose first report will be full.
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            previous: Vec::new(),
            last_full: None,
        }
    }

    /// The next report from `snapshot`, whose pods get the data plane's `requests`
    /// (by (namespace, pod), sorted), with the requests `held` now. `now` decides when
    /// a full report is due.
    pub fn next(
        &mut self,
        mut snapshot: Snapshot,
        requests: &[((String, String), RequestCounters)],
        held: Vec<HeldRequests>,
        now: Instant,
    ) -> NodeReport {
        attach_requests(&mut snapshot.pods, requests);
        let full = self
            .last_full
            .is_none_or(|at| now.saturating_duration_since(at) >= FULL_EVERY);
        let pods = if full {
            self.last_full = Some(now);
            snapshot.pods.clone()
        } else {
            changed(&self.previous, &snapshot.pods)
        };
        self.previous = snapshot.pods;
        NodeReport {
            node: self.node.clone(),
            timestamp_millis: snapshot.timestamp_millis,
            full,
            cpu_nanos: snapshot.cpu_nanos,
            memory_bytes: snapshot.memory_bytes,
            pods,
            held,
        }
    }
}

fn key(pod: &PodReport) -> (&str, &str) {
    (&pod.namespace, &pod.name)
}

/// Gives each pod its request counters; both lists are sorted by (namespace, name).
fn attach_requests(pods: &mut [PodReport], requests: &[((String, String), RequestCounters)]) {
    let mut requests = requests.iter().peekable();
    for pod in pods {
        while let Some(((namespace, name), counters)) = requests.peek() {
            match (namespace.as_str(), name.as_str()).cmp(&key(pod)) {
                Ordering::Less => {
                    requests.next();
                }
                Ordering::Equal => {
                    pod.requests = Some(*counters);
                    requests.next();
                    break;
                }
                Ordering::Greater => break,
            }
        }
    }
}

/// The pods of `current` that are new or differ from `previous` (both sorted).
fn changed(previous: &[PodReport], current: &[PodReport]) -> Vec<PodReport> {
    let mut out = Vec::new();
    let mut before = previous.iter().peekable();
    for pod in current {
        while before.next_if(|p| key(p) < key(pod)).is_some() {}
        match before.next_if(|p| key(p) == key(pod)) {
            Some(was) if was == pod => {}
            _ => out.push(pod.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_model::stats::ContainerReport;

    fn pod(name: &str, cpu: u64) -> PodReport {
        PodReport {
            namespace: "default".into(),
            name: name.into(),
            containers: vec![ContainerReport {
                name: "app".into(),
                cpu_nanos: cpu,
                memory_bytes: 65536,
            }],
            requests: None,
        }
    }

    fn snapshot(pods: Vec<PodReport>) -> Snapshot {
        Snapshot {
            timestamp_millis: 1,
            cpu_nanos: pods.iter().map(Snapshot::pod_cpu_nanos).sum(),
            memory_bytes: pods.iter().map(Snapshot::pod_memory_bytes).sum(),
            pods,
        }
    }

    fn names(report: &NodeReport) -> Vec<&str> {
        report.pods.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn the_first_report_is_full_then_only_changes_then_full_again() {
        let mut builder = ReportBuilder::new("n1");
        let start = Instant::now();
        let first = builder.next(
            snapshot(vec![pod("a", 1), pod("b", 1)]),
            &[],
            Vec::new(),
            start,
        );
        assert!(first.full);
        assert_eq!(names(&first), ["a", "b"]);
        assert_eq!((first.node.as_str(), first.cpu_nanos), ("n1", 2));

        // b burned CPU, c is new, a is unchanged.
        let later = start + Duration::from_millis(500);
        let second = builder.next(
            snapshot(vec![pod("a", 1), pod("b", 9), pod("c", 0)]),
            &[],
            Vec::new(),
            later,
        );
        assert!(!second.full);
        assert_eq!(names(&second), ["b", "c"]);
        assert_eq!(second.cpu_nanos, 10, "node totals are always there");

        // Nothing changed: an empty changed-only report (a heartbeat with the totals).
        let third = builder.next(
            snapshot(vec![pod("a", 1), pod("b", 9), pod("c", 0)]),
            &[],
            Vec::new(),
            later + Duration::from_millis(500),
        );
        assert!(!third.full && third.pods.is_empty());

        // b left: only a full report says so.
        let quiet = builder.next(
            snapshot(vec![pod("a", 1), pod("c", 0)]),
            &[],
            Vec::new(),
            later + Duration::from_secs(1),
        );
        assert!(!quiet.full && quiet.pods.is_empty());
        let full = builder.next(
            snapshot(vec![pod("a", 1), pod("c", 0)]),
            &[],
            Vec::new(),
            start + FULL_EVERY,
        );
        assert!(full.full);
        assert_eq!(names(&full), ["a", "c"]);
    }

    #[test]
    fn request_counters_go_to_their_pods_and_count_as_changes() {
        let mut builder = ReportBuilder::new("n1");
        let start = Instant::now();
        let counters = |total| RequestCounters {
            total,
            busy_nanos: total * 1000,
            in_flight: 0,
        };
        let requests = vec![
            (("default".to_string(), "a".to_string()), counters(3)),
            (("default".to_string(), "gone".to_string()), counters(7)),
            (("other".to_string(), "a".to_string()), counters(5)),
        ];
        let first = builder.next(
            snapshot(vec![pod("a", 1), pod("b", 1)]),
            &requests,
            Vec::new(),
            start,
        );
        assert_eq!(first.pods[0].requests, Some(counters(3)));
        assert_eq!(first.pods[1].requests, None, "b serves no HTTP");

        let mut requests = requests;
        requests[0].1 = counters(4);
        let held = vec![HeldRequests {
            namespace: "default".into(),
            service: "web".into(),
            count: 2,
        }];
        let second = builder.next(
            snapshot(vec![pod("a", 1), pod("b", 1)]),
            &requests,
            held.clone(),
            start + Duration::from_millis(500),
        );
        assert_eq!(names(&second), ["a"]);
        assert_eq!(second.pods[0].requests, Some(counters(4)));
        assert_eq!(second.held, held);
    }
}
