//! Resource use of this node's pods, measured where their guest code runs: CPU time and
//! memory per container (each container's [`Usage`](skiff_runtime::Usage) meter survives
//! its restarts, so its counters are cumulative like cAdvisor's), summed per pod and for
//! the node.
//!
//! Parts: [`registry`] ([`UsageRegistry`]: pods → containers → meters, and a
//! [`Snapshot`] of them all), [`snapshot`] (the figures read at one moment), [`report`]
//! (the stats stream's [`NodeReport`](skiff_model::stats::NodeReport)s, full or
//! changed-only), [`node`] ([`NodeStats`]: the meters and the data plane's request figures
//! together), [`stream`] (`GET /stats/stream`: a report every interval, as NDJSON) and
//! [`prometheus`] (the kubelet's `/metrics/resource` series).

pub mod node;
pub mod prometheus;
pub mod registry;
pub mod report;
pub mod snapshot;
pub mod stream;

pub use node::NodeStats;
pub use registry::{PodUsage, UsageRegistry};
pub use snapshot::Snapshot;
