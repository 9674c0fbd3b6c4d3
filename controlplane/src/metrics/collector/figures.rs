//! [`Figures`]: what the collector knows of every node and pod — a [`History`] of each
//! one's cumulative counters, the node's latest held requests — fed one [`NodeReport`] at
//! a time and asked for rates over a window. Plain data with explicit time: the streams
//! and the clock are the caller's.
//!
//! The stream's rules (model `stats`) and how they are read here:
//! - A report lists only the pods whose figures changed, so a pod not listed holds its
//!   counters: its rate runs to the node's latest report, not to its own latest sample,
//!   and when it shows up again after being left out, a sample with its steady figures
//!   is first put at the node's previous report — the last moment they are known to
//!   have held — so a burst after a quiet spell is measured over the window, not
//!   diluted over the whole quiet spell.
//! - A [`full`](NodeReport::full) report lists every pod: those it leaves out are gone.
//! - The first report of a connection starts the node afresh: an agent that restarted
//!   counts from zero again, and one whose stream broke may have sent reports that were
//!   lost.
//! - A counter that goes down (which the agent never does within a connection) restarts
//!   that entity's history rather than yield a negative rate.
//! - A node whose last report arrived more than [`STALE_AFTER`] ago is not answered for.
//!
//! Parts: [`Figures`] (`ingest`, `forget`, the queries), [`PodPoint`] and [`NodePoint`]
//! (one sample's figures).

use super::history::{History, Sample};
use crate::metrics::usage::{ContainerUsage, NodeUsage, PodUsage, RequestRates};
use skiff_model::stats::{HeldRequests, NodeReport, PodReport, RequestCounters};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// How long a node's figures are answered for after its last report arrived: ten report
/// intervals. Long enough to ride out a reconnection (whose first report restarts the
/// node's history anyway), short enough that `kubectl top` and the autoscalers stop
/// seeing a node whose agent is gone within a few seconds.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

/// One pod's figures in one report.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPoint {
    containers: Box<[ContainerPoint]>,
    requests: Option<RequestCounters>,
}

#[derive(Clone, Debug, PartialEq)]
struct ContainerPoint {
    name: Arc<str>,
    cpu_nanos: u64,
    memory_bytes: u64,
}

/// One node's figures in one report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodePoint {
    cpu_nanos: u64,
    memory_bytes: u64,
}

/// Everything known, by node and by pod.
#[derive(Default)]
pub struct Figures {
    nodes: HashMap<String, NodeEntry>,
    /// namespace → name → pod.
    pods: HashMap<String, HashMap<String, PodEntry>>,
}

struct NodeEntry {
    /// When its latest report arrived (the collector's clock).
    received: Instant,
    history: History<NodePoint>,
    /// The pods it has listed since its last full report, by namespace and name.
    pods: HashSet<(String, String)>,
    held: Vec<HeldRequests>,
}

struct PodEntry {
    node: Arc<str>,
    history: History<PodPoint>,
}

impl Figures {
    /// Takes in one report of a node. `fresh` says it is the first of a connection.
    pub fn ingest(&mut self, report: NodeReport, fresh: bool, received: Instant) {
        if fresh {
            self.forget(&report.node);
        }
        let at = report.timestamp_millis;
        let node_point = NodePoint {
            cpu_nanos: report.cpu_nanos,
            memory_bytes: report.memory_bytes,
        };
        let node_name: Arc<str> = Arc::from(report.node.as_str());
        let node = match self.nodes.get_mut(&report.node) {
            Some(node) => node,
            None => self
                .nodes
                .entry(report.node.clone())
                .or_insert_with(|| NodeEntry {
                    received,
                    history: History::starting(at, node_point),
                    pods: HashSet::new(),
                    held: Vec::new(),
                }),
        };
        let previous = node.history.newest().map(|s| s.millis);
        if previous.is_some_and(|p| at < p) {
            // A report older than the last one: nothing in it is newer.
            return;
        }
        if node
            .history
            .newest()
            .is_some_and(|s| node_point.cpu_nanos < s.point.cpu_nanos)
        {
            node.history = History::starting(at, node_point);
        } else {
            node.history.push(at, node_point);
        }
        node.received = received;
        node.held = report.held;
        let steady_at = previous.filter(|p| *p < at);
        let mut listed = HashSet::with_capacity(report.pods.len());
        for pod in report.pods {
            let key = (pod.namespace.clone(), pod.name.clone());
            let names = self.pods.entry(pod.namespace.clone()).or_default();
            match names.get_mut(&pod.name) {
                Some(entry) if *entry.node == *node_name => {
                    let point = PodPoint::from_report(pod, entry.history.newest());
                    entry.record(at, steady_at, point);
                }
                existing => {
                    // New here, or moved from another node (a pod recreated under the
                    // same name): start afresh.
                    if let Some(entry) = existing
                        && let Some(other) = self.nodes.get_mut(&*entry.node)
                    {
                        other.pods.remove(&key);
                    }
                    let point = PodPoint::from_report(pod, None);
                    let name = key.1.clone();
                    let names = self.pods.entry(key.0.clone()).or_default();
                    names.insert(
                        name,
                        PodEntry {
                            node: node_name.clone(),
                            history: History::starting(at, point),
                        },
                    );
                }
            }
            listed.insert(key);
        }
        let Some(node) = self.nodes.get_mut(&*node_name) else {
            return;
        };
        if report.full {
            let gone: Vec<(String, String)> = node.pods.difference(&listed).cloned().collect();
            node.pods = listed;
            for (namespace, name) in gone {
                self.remove_pod(&namespace, &name, &node_name);
            }
        } else {
            node.pods.extend(listed);
        }
    }

    /// Drops a node and its pods.
    pub fn forget(&mut self, node: &str) {
        let Some(entry) = self.nodes.remove(node) else {
            return;
        };
        for (namespace, name) in entry.pods {
            self.remove_pod(&namespace, &name, node);
        }
    }

    /// The nodes figures are kept for.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    fn remove_pod(&mut self, namespace: &str, name: &str, node: &str) {
        if let Some(names) = self.pods.get_mut(namespace) {
            if names.get(name).is_some_and(|p| &*p.node == node) {
                names.remove(name);
            }
            if names.is_empty() {
                self.pods.remove(namespace);
            }
        }
    }

    /// A node's latest report time (ms), when it is fresh at `now`.
    fn node_end(&self, node: &str, now: Instant) -> Option<u64> {
        let node = self.nodes.get(node)?;
        if now.saturating_duration_since(node.received) > STALE_AFTER {
            return None;
        }
        node.history.newest().map(|s| s.millis)
    }

    /// A pod's use over `window` ending at its node's latest report.
    pub fn pod(
        &self,
        namespace: &str,
        name: &str,
        window: Duration,
        now: Instant,
    ) -> Option<PodUsage> {
        let entry = self.pods.get(namespace)?.get(name)?;
        self.usage_of(namespace, name, entry, window, now)
    }

    /// Every pod's use (of one namespace or all) over `window`.
    pub fn pods(&self, namespace: Option<&str>, window: Duration, now: Instant) -> Vec<PodUsage> {
        let mut ends: HashMap<&str, Option<u64>> = HashMap::new();
        let namespaces: Vec<(&String, &HashMap<String, PodEntry>)> = match namespace {
            Some(ns) => self.pods.get_key_value(ns).into_iter().collect(),
            None => self.pods.iter().collect(),
        };
        let mut out = Vec::new();
        for (ns, names) in namespaces {
            for (name, entry) in names {
                let end = *ends
                    .entry(&*entry.node)
                    .or_insert_with(|| self.node_end(&entry.node, now));
                if let Some(end) = end
                    && let Some(usage) = pod_usage(ns, name, entry, end, window)
                {
                    out.push(usage);
                }
            }
        }
        out
    }

    fn usage_of(
        &self,
        namespace: &str,
        name: &str,
        entry: &PodEntry,
        window: Duration,
        now: Instant,
    ) -> Option<PodUsage> {
        let end = self.node_end(&entry.node, now)?;
        pod_usage(namespace, name, entry, end, window)
    }

    /// A node's use over `window`.
    pub fn node(&self, name: &str, window: Duration, now: Instant) -> Option<NodeUsage> {
        let end = self.node_end(name, now)?;
        let history = &self.nodes.get(name)?.history;
        let span = span(history, end, window, |a, b| a.cpu_nanos == b.cpu_nanos)?;
        Some(NodeUsage {
            name: name.to_string(),
            timestamp: at(end),
            window: span.window,
            cpu_cores: rate(span.end.cpu_nanos, span.start.cpu_nanos, span.window),
            memory_bytes: span.end.memory_bytes,
        })
    }

    /// Every fresh node's use over `window`.
    pub fn nodes(&self, window: Duration, now: Instant) -> Vec<NodeUsage> {
        self.nodes
            .keys()
            .filter_map(|name| self.node(name, window, now))
            .collect()
    }

    /// Requests the fresh nodes hold for `namespace/service`, together.
    pub fn held(&self, namespace: &str, service: &str, now: Instant) -> u32 {
        self.nodes
            .values()
            .filter(|n| now.saturating_duration_since(n.received) <= STALE_AFTER)
            .flat_map(|n| &n.held)
            .filter(|h| h.namespace == namespace && h.service == service)
            .fold(0u32, |sum, h| sum.saturating_add(h.count))
    }
}

impl PodEntry {
    /// Adds a sample taken at `at`; `steady_at` is the node's previous report, at which
    /// a pod left out of it still had its newest figures.
    fn record(&mut self, at: u64, steady_at: Option<u64>, point: PodPoint) {
        let Some(newest) = self.history.newest() else {
            self.history = History::starting(at, point);
            return;
        };
        if point.went_down_from(&newest.point) {
            self.history = History::starting(at, point);
            return;
        }
        if let Some(steady) = steady_at
            && newest.millis < steady
        {
            let held = newest.point.clone();
            self.history.push(steady, held);
        }
        self.history.push(at, point);
    }
}

impl PodPoint {
    /// A pod's figures from a report, reusing the container names of `previous`.
    fn from_report(pod: PodReport, previous: Option<&Sample<PodPoint>>) -> Self {
        let names = previous
            .map(|s| &s.point.containers[..])
            .unwrap_or_default();
        let containers = pod
            .containers
            .into_iter()
            .map(|c| ContainerPoint {
                name: names
                    .iter()
                    .find(|p| *p.name == *c.name)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| Arc::from(c.name.as_str())),
                cpu_nanos: c.cpu_nanos,
                memory_bytes: c.memory_bytes,
            })
            .collect();
        Self {
            containers,
            requests: pod.requests,
        }
    }

    fn container(&self, name: &str) -> Option<&ContainerPoint> {
        self.containers.iter().find(|c| *c.name == *name)
    }

    /// Whether any counter is below `before`'s.
    fn went_down_from(&self, before: &PodPoint) -> bool {
        let cpu = self.containers.iter().any(|c| {
            before
                .container(&c.name)
                .is_some_and(|b| c.cpu_nanos < b.cpu_nanos)
        });
        let requests = match (self.requests, before.requests) {
            (Some(now), Some(then)) => now.total < then.total || now.busy_nanos < then.busy_nanos,
            (None, Some(_)) => true,
            _ => false,
        };
        cpu || requests
    }

    /// Whether the cumulative counters equal `other`'s (gauges aside).
    fn same_counters(&self, other: &PodPoint) -> bool {
        let cpu = self.containers.len() == other.containers.len()
            && self.containers.iter().all(|c| {
                other
                    .container(&c.name)
                    .is_some_and(|o| o.cpu_nanos == c.cpu_nanos)
            });
        let requests = match (self.requests, other.requests) {
            (Some(a), Some(b)) => a.total == b.total && a.busy_nanos == b.busy_nanos,
            (None, None) => true,
            _ => false,
        };
        cpu && requests
    }
}

/// The two samples a rate is taken between, and the span between them.
struct Span<'a, P> {
    start: &'a P,
    end: &'a P,
    window: Duration,
}

/// The span of `history` over `window` ending at `end` (ms): from the newest sample at
/// or before the window's start — or, when the counters held from that sample on past
/// the window's start, from the window's start itself — to the newest sample (whose
/// counters held until `end`). `None` when the span is empty.
fn span<P>(
    history: &History<P>,
    end: u64,
    window: Duration,
    same: impl Fn(&P, &P) -> bool,
) -> Option<Span<'_, P>> {
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    let from = end.saturating_sub(window_ms);
    let newest = history.newest()?;
    let start = history.at_or_before(from)?;
    let next = history.after(start.millis);
    let steady = next.is_none_or(|n| same(&start.point, &n.point));
    let begin = if steady {
        start.millis.max(from)
    } else {
        start.millis
    };
    let span = end.checked_sub(begin).filter(|d| *d > 0)?;
    Some(Span {
        start: &start.point,
        end: &newest.point,
        window: Duration::from_millis(span),
    })
}

fn pod_usage(
    namespace: &str,
    name: &str,
    entry: &PodEntry,
    end: u64,
    window: Duration,
) -> Option<PodUsage> {
    let span = span(&entry.history, end, window, PodPoint::same_counters)?;
    let containers = span
        .end
        .containers
        .iter()
        .map(|c| {
            let before = span.start.container(&c.name).map_or(0, |b| b.cpu_nanos);
            ContainerUsage {
                name: c.name.to_string(),
                cpu_cores: rate(c.cpu_nanos, before, span.window),
                memory_bytes: c.memory_bytes,
            }
        })
        .collect();
    let requests = span.end.requests.map(|now| {
        let then = span.start.requests.unwrap_or_default();
        RequestRates {
            per_second: rate(now.total, then.total, span.window) * 1e9,
            concurrency: rate(now.busy_nanos, then.busy_nanos, span.window),
            in_flight: now.in_flight,
        }
    });
    Some(PodUsage {
        namespace: namespace.to_string(),
        name: name.to_string(),
        node: entry.node.to_string(),
        timestamp: at(end),
        window: span.window,
        containers,
        requests,
    })
}

/// `(now - then)` per nanosecond of `window` (a counter of nanoseconds gives cores).
fn rate(now: u64, then: u64, window: Duration) -> f64 {
    let nanos = window.as_nanos() as f64;
    if nanos <= 0.0 {
        return 0.0;
    }
    now.saturating_sub(then) as f64 / nanos
}

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

#[cfg(test)]
mod tests;
