//! [`NodeStats`]: where a node's reports come from — the [`UsageRegistry`] of its pods'
//! meters and, when it has one, its data plane's request counters and held requests.

use super::registry::UsageRegistry;
use super::report::ReportBuilder;
use crate::dataplane::DataPlane;
use skiff_model::stats::NodeReport;
use std::sync::Arc;
use std::time::Instant;

/// The sources of one node's figures. Cheap to clone.
#[derive(Clone)]
pub struct NodeStats {
    /// The node's name, as reports carry it.
    pub node: String,
    /// The meters of its pods.
    pub usage: UsageRegistry,
    /// Its data plane (requests delivered to its pods, requests it holds), if it has one.
    pub dataplane: Option<Arc<DataPlane>>,
}

impl NodeStats {
    /// The next report for the receiver that `builder` builds for.
    pub fn report(&self, builder: &mut ReportBuilder) -> NodeReport {
        let snapshot = self.usage.snapshot();
        let (requests, held) = match &self.dataplane {
            Some(dataplane) => (dataplane.pod_requests(), dataplane.held()),
            None => (Vec::new(), Vec::new()),
        };
        builder.next(snapshot, &requests, held, Instant::now())
    }
}
