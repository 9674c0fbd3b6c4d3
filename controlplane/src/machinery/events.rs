//! The control plane's Events (`Scheduled`, `FailedScheduling`, `SuccessfulCreate`,
//! `ScalingReplicaSet`, `Completed`...), so that `kubectl describe` and `kubectl get
//! events` tell what the control plane did: the shared
//! [`Recorder`] with the control plane's options (no rate
//! limit, repeats aggregated into one event's `count`, as client-go's correlator does),
//! writing through the in-process [`Client`] ([`ClientSink`]). Each component names itself
//! with [`Recorder::component`].

use crate::machinery::client::Client;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_model::events::{EventSink, Options, Recorder, SinkError};
use tokio_util::sync::CancellationToken;

/// The component events are reported by until a component names itself.
pub const COMPONENT: &str = "skiff-controller-manager";

/// Starts the control plane's recorder, writing through `client` until `shutdown`.
pub fn start_recorder(client: Client, shutdown: CancellationToken) -> Recorder {
    Recorder::start(
        ClientSink(client),
        COMPONENT,
        None,
        Options::CONTROL_PLANE,
        shutdown,
    )
}

/// Writes events through the API's own write path.
pub struct ClientSink(pub Client);

#[async_trait::async_trait]
impl EventSink for ClientSink {
    async fn create(&self, event: Event) -> Result<String, SinkError> {
        let created = self.0.create(&event).await?;
        Ok(created.metadata.name.unwrap_or_default())
    }

    async fn count(
        &self,
        namespace: &str,
        name: &str,
        count: i32,
        last: Time,
    ) -> Result<(), SinkError> {
        self.0
            .update::<Event>(Some(namespace), name, |event| {
                event.count = Some(count);
                event.last_timestamp = Some(last.clone());
                true
            })
            .await?;
        Ok(())
    }
}
