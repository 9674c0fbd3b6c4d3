//! [`Snapshot`]: every pod's figures and the node's totals, read from the meters at one
//! moment — what both the stats stream and the Prometheus series are built from.

use skiff_model::stats::PodReport;

/// The node's figures at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// When they were read, in milliseconds since the Unix epoch.
    pub timestamp_millis: u64,
    /// CPU time spent running guest code on the node since the agent started, pods gone
    /// and init containers included (nanoseconds, cumulative).
    pub cpu_nanos: u64,
    /// Memory the node's instances hold now (bytes).
    pub memory_bytes: u64,
    /// Every pod of the node, sorted by (namespace, name), each with its containers (init
    /// containers excluded) sorted by name; `requests` is left for the data plane to fill.
    pub pods: Vec<PodReport>,
}

impl Snapshot {
    /// A pod's CPU time: the sum over its containers (nanoseconds).
    pub fn pod_cpu_nanos(pod: &PodReport) -> u64 {
        pod.containers.iter().map(|c| c.cpu_nanos).sum()
    }

    /// A pod's memory: the sum over its containers (bytes).
    pub fn pod_memory_bytes(pod: &PodReport) -> u64 {
        pod.containers.iter().map(|c| c.memory_bytes).sum()
    }
}
