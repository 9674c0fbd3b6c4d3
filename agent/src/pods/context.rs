//! [`Context`]: the agent-wide services every pod worker and container runner uses — the
//! API client, the agent's configuration, the image store, the compiled modules, ConfigMaps
//! and Secrets, container logs, the event recorder, the status reporter, the data plane
//! and the meters of the pods' resource use. One per agent; what one pod's runners share is a `PodShared` (`pods::shared`).

use super::report::StatusReporter;
use crate::AgentConfig;
use crate::compiled::Modules;
use crate::dataplane::DataPlane;
use crate::image::ImageStore;
use crate::logs::LogRegistry;
use crate::sources::Sources;
use crate::stats::UsageRegistry;
use skiff_model::events::Recorder;
use std::sync::Arc;

/// The node-wide services of pod workers.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// The agent's configuration.
    pub config: AgentConfig,
    /// The node's address, reported as the pods' host IP.
    pub host_ip: String,
    /// Images pulled to this node.
    pub images: ImageStore,
    /// Compiled modules.
    pub modules: Modules,
    /// ConfigMaps and Secrets.
    pub sources: Sources,
    /// Container logs.
    pub logs: LogRegistry,
    /// Events.
    pub events: Recorder,
    /// Pod status writer.
    pub reporter: StatusReporter,
    /// The node's data plane (HTTP pods register their servers here).
    pub dataplane: Arc<DataPlane>,
    /// The CPU and memory meters of the node's pods (each pod registers its own).
    pub stats: UsageRegistry,
}
