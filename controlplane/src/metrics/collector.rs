//! [`Collector`]: follows the stats stream of every node's agent and answers rates over a
//! window from the reports it keeps in memory.
//!
//! Which nodes to follow, and at which address, it is told from outside
//! ([`Collector::follow`], [`Collector::unfollow`]: the control plane's node follower
//! controller, which watches Nodes). Each followed node has one long-lived stream task;
//! every report lands in the shared [`Figures`](figures::Figures) and bumps a counter the
//! autoscalers can wait on ([`Collector::subscribe`]). Nothing is written to the store.
//!
//! Parts: [`figures`] (what is known, and the rate arithmetic, with explicit time),
//! [`history`] (one entity's thinned samples), [`stream`] (following one node's stream,
//! with reconnection), [`shared`] (the figures behind their lock, and the report counter).

pub mod figures;
pub mod history;
pub mod shared;
pub mod stream;

use super::usage::{NodeUsage, PodUsage};
use shared::Shared;
use skiff_model::stats::NodeReport;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The window `kubectl top` and the HorizontalPodAutoscaler's resource and pods metrics
/// use: four [`REPORT_INTERVAL`]s. Long enough that one late report or a request that
/// straddles two reports barely moves the figure; short enough that `kubectl top` shows
/// a load within two seconds of its start and the HPA reacts to it at its next sync
/// (metrics-server's window is its 15 s scrape period, which would blunt pods that start
/// in milliseconds).
pub const RESOURCE_WINDOW: Duration = Duration::from_secs(2);

/// The interval between reports the collector asks each agent for. The request
/// autoscaler's panic window is Knative's 6 s at the shortest (10 % of the 6 s minimum
/// stable window is less, but Knative's own metric buckets are 1 s; 500 ms gives two per
/// bucket) and it wants to see a burst within about half a second; the cost is one
/// small line per node per interval, listing only the pods whose figures changed.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(500);

/// Follows the nodes' stats streams; cheap to query from any task.
pub struct Collector {
    shared: Arc<Shared>,
    followers: Mutex<HashMap<String, Follower>>,
    interval: Duration,
}

/// One followed node: its agent's address and the stop of its stream task.
struct Follower {
    address: String,
    stop: CancellationToken,
}

impl Default for Collector {
    fn default() -> Self {
        Self::with_interval(REPORT_INTERVAL)
    }
}

impl Collector {
    /// A collector asking agents for a report every `interval` (tests use a short one).
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            shared: Arc::default(),
            followers: Mutex::default(),
            interval,
        }
    }

    /// The interval between reports asked of the agents.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Follows `node`'s agent at `address` (`host:port`) until [`unfollow`](Self::unfollow)
    /// or `shutdown`. Following the same node at the same address again changes nothing;
    /// at a new address, the stream moves there.
    pub fn follow(&self, node: &str, address: &str, shutdown: &CancellationToken) {
        let mut followers = self.followers();
        if let Some(current) = followers.get(node) {
            if current.address == address && !current.stop.is_cancelled() {
                return;
            }
            current.stop.cancel();
        }
        let stop = shutdown.child_token();
        followers.insert(
            node.to_string(),
            Follower {
                address: address.to_string(),
                stop: stop.clone(),
            },
        );
        tracing::debug!(node, address, "following the node's stats stream");
        tokio::spawn(stream::follow(
            self.shared.clone(),
            node.to_string(),
            address.to_string(),
            self.interval,
            stop,
        ));
    }

    /// Stops following `node` and forgets its figures (its pods' included).
    pub fn unfollow(&self, node: &str) {
        if let Some(follower) = self.followers().remove(node) {
            follower.stop.cancel();
            tracing::debug!(node, "no longer following the node's stats stream");
        }
        self.shared.figures().forget(node);
    }

    /// The nodes followed, with their agents' addresses, sorted.
    pub fn followed(&self) -> Vec<(String, String)> {
        let mut nodes: Vec<_> = self
            .followers()
            .iter()
            .map(|(node, f)| (node.clone(), f.address.clone()))
            .collect();
        nodes.sort();
        nodes
    }

    /// Takes in one report as a stream does (`fresh`: the first of a connection). For
    /// feeding the collector without agents: tests and benchmarks.
    pub fn ingest(&self, report: NodeReport, fresh: bool) {
        self.shared.ingest(report, fresh, None);
    }

    /// A receiver whose value changes with every report taken in: the autoscalers wait
    /// on it to act on fresh figures as soon as they arrive.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.subscribe()
    }

    /// `namespace/name`'s use over the last `window`; `None` when its node has not
    /// reported it (yet) or not for long enough to tell a rate.
    pub fn pod(&self, namespace: &str, name: &str, window: Duration) -> Option<PodUsage> {
        self.shared
            .figures()
            .pod(namespace, name, window, Instant::now())
    }

    /// The use of every pod reported, of one namespace or of all.
    pub fn pods(&self, namespace: Option<&str>, window: Duration) -> Vec<PodUsage> {
        self.shared
            .figures()
            .pods(namespace, window, Instant::now())
    }

    /// A node's use over the last `window`.
    pub fn node(&self, name: &str, window: Duration) -> Option<NodeUsage> {
        self.shared.figures().node(name, window, Instant::now())
    }

    /// Every node's use over the last `window`.
    pub fn nodes(&self, window: Duration) -> Vec<NodeUsage> {
        self.shared.figures().nodes(window, Instant::now())
    }

    /// Requests the agents hold now for `namespace/service`, all agents together.
    pub fn held(&self, namespace: &str, service: &str) -> u32 {
        self.shared
            .figures()
            .held(namespace, service, Instant::now())
    }

    fn followers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Follower>> {
        self.followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
