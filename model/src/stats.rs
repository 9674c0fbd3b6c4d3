//! What an agent reports about its node to the control plane's metrics collector, for
//! `kubectl top`, the HorizontalPodAutoscaler and the request-driven autoscaler: the wire
//! format of the agent's stats stream ([`STREAM_PATH`]).
//!
//! The collector opens one long-lived `GET` per node; the agent answers with newline
//! separated JSON [`NodeReport`]s, one every `intervalMillis` ([`INTERVAL_PARAM`]), until
//! either side goes away. Nothing in it is stored: a report lives in the collector's memory
//! only, so reporting costs no durable write however often it happens.
//!
//! Figures are **cumulative counters** (CPU nanoseconds, requests served, busy time) plus
//! gauges (memory, requests in flight, requests held): the receiver derives rates over any
//! window from two reports, and a lost report costs resolution, not accuracy. A report
//! lists only the pods whose figures changed since the previous one, except a
//! [`full`](NodeReport::full) report (the first, and then one every so often), which lists
//! every pod of the node: pods missing from a full report are gone.
//!
//! Parts: [`NodeReport`] → [`PodReport`] → [`ContainerReport`] and [`RequestCounters`];
//! [`HeldRequests`] (requests an agent holds for a Service with no ready endpoint).

use serde::{Deserialize, Serialize};

/// The agent's path serving the stream.
pub const STREAM_PATH: &str = "/stats/stream";

/// The query parameter naming the interval between reports, in milliseconds.
pub const INTERVAL_PARAM: &str = "intervalMillis";

/// The stream's media type: one JSON document per line.
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// One report on a node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// The node's name.
    pub node: String,
    /// When the figures were read, in milliseconds since the Unix epoch.
    pub timestamp_millis: u64,
    /// Whether every pod of the node is listed (otherwise only those that changed).
    #[serde(default)]
    pub full: bool,
    /// CPU time spent running guest code on the node, all containers together, since the
    /// agent started (nanoseconds, cumulative).
    pub cpu_nanos: u64,
    /// Memory the node's instances hold now (bytes).
    pub memory_bytes: u64,
    /// Pods, by the rule in the module doc.
    #[serde(default)]
    pub pods: Vec<PodReport>,
    /// Requests this agent holds now, by Service (a gauge; Services holding none are left
    /// out).
    #[serde(default)]
    pub held: Vec<HeldRequests>,
}

/// One pod's figures.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodReport {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// Its containers that have run on this node (init containers excluded).
    #[serde(default)]
    pub containers: Vec<ContainerReport>,
    /// The requests the data plane delivered to it, when it serves HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestCounters>,
}

/// One container's resource use.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerReport {
    /// The container's name.
    pub name: String,
    /// CPU time spent running its guest code, across its restarts and (for HTTP
    /// components) all its request instances (nanoseconds, cumulative).
    pub cpu_nanos: u64,
    /// Linear memory and tables its live instances hold now (bytes).
    pub memory_bytes: u64,
}

/// Requests delivered to one pod, counted where the data plane hands them over.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounters {
    /// Requests delivered (cumulative): their rate is requests per second.
    pub total: u64,
    /// The integral over time of the requests outstanding at the pod, in
    /// request-nanoseconds (cumulative): its rate is the pod's average concurrency.
    pub busy_nanos: u64,
    /// Requests outstanding now (delivered, queued at the pod or running).
    pub in_flight: u32,
}

/// Requests an agent holds for a Service that has no ready endpoint (the activator role).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeldRequests {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// Requests held now.
    pub count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_round_trips_and_reads_without_optional_parts() {
        let report = NodeReport {
            node: "n1".into(),
            timestamp_millis: 1_700_000_000_000,
            full: true,
            cpu_nanos: 5,
            memory_bytes: 65536,
            pods: vec![PodReport {
                namespace: "default".into(),
                name: "web-1".into(),
                containers: vec![ContainerReport {
                    name: "app".into(),
                    cpu_nanos: 5,
                    memory_bytes: 65536,
                }],
                requests: Some(RequestCounters {
                    total: 3,
                    busy_nanos: 1_000,
                    in_flight: 1,
                }),
            }],
            held: vec![HeldRequests {
                namespace: "default".into(),
                service: "web".into(),
                count: 2,
            }],
        };
        let line = serde_json::to_string(&report).expect("encodes");
        assert!(line.contains("\"timestampMillis\""), "{line}");
        let back: NodeReport = serde_json::from_str(&line).expect("decodes");
        assert_eq!(back, report);
        let bare: NodeReport = serde_json::from_str(
            r#"{"node":"n1","timestampMillis":1,"cpuNanos":0,"memoryBytes":0}"#,
        )
        .expect("decodes");
        assert!(!bare.full && bare.pods.is_empty() && bare.held.is_empty());
    }
}
