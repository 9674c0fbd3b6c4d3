//! [`EventSink`]: where a [`Recorder`](super::Recorder) writes — the Kubernetes API, over
//! HTTP from the agent or in-process from the control plane.

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Why a write failed (logged at debug level; events are best effort).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Writes events.
#[async_trait::async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Creates `event`; returns its name as stored.
    async fn create(&self, event: Event) -> Result<String, SinkError>;

    /// Sets `count` and `lastTimestamp` of the stored event `namespace/name` (a repeat).
    async fn count(
        &self,
        namespace: &str,
        name: &str,
        count: i32,
        last: Time,
    ) -> Result<(), SinkError>;
}
