//! The figures the [`Collector`](super::Collector) answers with: rates over a window,
//! derived from the agents' cumulative counters.
//!
//! Parts: [`PodUsage`] (with [`ContainerUsage`] and [`RequestRates`]), [`NodeUsage`].

use std::time::{Duration, SystemTime};

/// One pod's use over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct PodUsage {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The node it runs on.
    pub node: String,
    /// The end of the window: when the newest figures were read on the node.
    pub timestamp: SystemTime,
    /// The window's length.
    pub window: Duration,
    /// Its containers.
    pub containers: Vec<ContainerUsage>,
    /// Requests delivered to it, when it serves HTTP.
    pub requests: Option<RequestRates>,
}

/// One container's use over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerUsage {
    /// The container's name.
    pub name: String,
    /// CPU used, in cores (1.0 = one core busy for the whole window).
    pub cpu_cores: f64,
    /// Memory held at the end of the window, in bytes.
    pub memory_bytes: u64,
}

/// Requests delivered to one pod over a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequestRates {
    /// Requests per second.
    pub per_second: f64,
    /// Average requests outstanding (time-weighted).
    pub concurrency: f64,
    /// Requests outstanding at the end of the window.
    pub in_flight: u32,
}

/// One node's use over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeUsage {
    /// The node's name.
    pub name: String,
    /// The end of the window.
    pub timestamp: SystemTime,
    /// The window's length.
    pub window: Duration,
    /// CPU used by its containers, in cores.
    pub cpu_cores: f64,
    /// Memory its instances hold, in bytes.
    pub memory_bytes: u64,
}

impl PodUsage {
    /// CPU of every container together, in cores.
    pub fn cpu_cores(&self) -> f64 {
        self.containers.iter().map(|c| c.cpu_cores).sum()
    }

    /// Memory of every container together, in bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.containers.iter().map(|c| c.memory_bytes).sum()
    }
}
