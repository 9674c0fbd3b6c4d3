//! The agent's Events (`Pulling`, `Pulled`, `Created`, `Started`, `Killing`, `BackOff`,
//! `Failed`...), so that `kubectl describe pod` tells a pod's story: the shared
//! [`Recorder`] reporting as the kubelet on this node, with the kubelet's rate limit
//! ([`Options::KUBELET`]), writing through the Kubernetes API ([`ApiSink`]).

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_model::events::{EventSink, Options, Recorder, SinkError};
use tokio_util::sync::CancellationToken;

/// The component the agent's events are reported by, as the kubelet's are.
pub const COMPONENT: &str = "kubelet";

/// Starts the recorder of node `node`'s events, writing through `client` until `shutdown`.
pub fn start_recorder(client: kube::Client, node: String, shutdown: CancellationToken) -> Recorder {
    Recorder::start(
        ApiSink(client),
        COMPONENT,
        Some(node),
        Options::KUBELET,
        shutdown,
    )
}

/// Writes events to the API server over HTTP.
pub struct ApiSink(pub kube::Client);

#[async_trait::async_trait]
impl EventSink for ApiSink {
    async fn create(&self, event: Event) -> Result<String, SinkError> {
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let events: Api<Event> = Api::namespaced(self.0.clone(), &namespace);
        let created = events.create(&PostParams::default(), &event).await?;
        Ok(created.metadata.name.unwrap_or_default())
    }

    async fn count(
        &self,
        namespace: &str,
        name: &str,
        count: i32,
        last: Time,
    ) -> Result<(), SinkError> {
        let events: Api<Event> = Api::namespaced(self.0.clone(), namespace);
        let patch = Patch::Merge(json!({"count": count, "lastTimestamp": last}));
        events.patch(name, &PatchParams::default(), &patch).await?;
        Ok(())
    }
}
