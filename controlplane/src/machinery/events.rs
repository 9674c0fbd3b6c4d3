//! [`Recorder`]: Events written by the scheduler and the controllers (`Scheduled`,
//! `FailedScheduling`, `SuccessfulCreate`, `ScalingReplicaSet`, `Completed`...), so that
//! `kubectl describe` and `kubectl get events` tell what the control plane did.
//!
//! Recording never blocks the caller: events go to a bounded queue that a background task
//! writes. A repeat of an event (same object, type, reason and message) within
//! [`AGGREGATION_WINDOW`] updates the first one's `count` and `lastTimestamp` instead of
//! adding another, as client-go's event correlator does; beyond the queue's capacity events
//! are dropped rather than slowing the control plane.

use crate::machinery::client::Client;
use crate::machinery::time::time_now;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Events queued before new ones are dropped.
const QUEUE: usize = 8192;

/// A repeated event within this window bumps the count of the first.
pub const AGGREGATION_WINDOW: Duration = Duration::from_secs(600);

/// Normal progress or a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Progress.
    Normal,
    /// A problem.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// The object an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Involved {
    /// `apiVersion` of the object.
    pub api_version: &'static str,
    /// `kind` of the object.
    pub kind: &'static str,
    /// Its namespace (empty for cluster-scoped objects; their events go to `default`).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
}

impl Involved {
    /// The object with `meta`, of type `K`.
    pub fn of<K: k8s_openapi::Resource>(meta: &ObjectMeta) -> Self {
        Self {
            api_version: K::API_VERSION,
            kind: K::KIND,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
        }
    }
}

struct Record {
    involved: Involved,
    kind: EventType,
    reason: &'static str,
    message: String,
}

/// Records events as one component (`default-scheduler`, `replicaset-controller`...).
/// Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<(&'static str, Record)>,
    component: &'static str,
}

impl Recorder {
    /// Starts the writer task (until `shutdown`); events are written through `client`.
    pub fn start(client: Client, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, rx, shutdown));
        Self {
            tx,
            component: "skiff-controller-manager",
        }
    }

    /// The same recorder, reporting as `component`.
    pub fn component(&self, component: &'static str) -> Self {
        Self {
            tx: self.tx.clone(),
            component,
        }
    }

    /// Records a normal event.
    pub fn normal(&self, involved: Involved, reason: &'static str, message: impl Into<String>) {
        self.record(involved, EventType::Normal, reason, message.into());
    }

    /// Records a warning.
    pub fn warning(&self, involved: Involved, reason: &'static str, message: impl Into<String>) {
        self.record(involved, EventType::Warning, reason, message.into());
    }

    fn record(&self, involved: Involved, kind: EventType, reason: &'static str, message: String) {
        let record = Record {
            involved,
            kind,
            reason,
            message,
        };
        if self.tx.try_send((self.component, record)).is_err() {
            tracing::debug!(reason, "event queue full; event dropped");
        }
    }
}

/// What was written for one repeated event.
struct Written {
    name: String,
    namespace: String,
    count: i32,
    first: Instant,
}

async fn write_events(
    client: Client,
    mut rx: mpsc::Receiver<(&'static str, Record)>,
    shutdown: CancellationToken,
) {
    let mut seen: HashMap<(Involved, EventType, &'static str, String), Written> = HashMap::new();
    loop {
        let (component, record) = tokio::select! {
            () = shutdown.cancelled() => return,
            next = rx.recv() => match next {
                Some(next) => next,
                None => return,
            },
        };
        if seen.len() > 4096 {
            seen.retain(|_, w| w.first.elapsed() < AGGREGATION_WINDOW);
        }
        let now = time_now();
        let key = (
            record.involved.clone(),
            record.kind,
            record.reason,
            record.message.clone(),
        );
        if let Some(written) = seen
            .get_mut(&key)
            .filter(|w| w.first.elapsed() < AGGREGATION_WINDOW)
        {
            written.count += 1;
            let count = written.count;
            let result = client
                .update::<Event>(Some(&written.namespace), &written.name, |event| {
                    event.count = Some(count);
                    event.last_timestamp = Some(now.clone());
                    true
                })
                .await;
            if result.is_ok() {
                continue;
            }
        }
        let involved = &record.involved;
        let namespace = if involved.namespace.is_empty() {
            "default".to_string()
        } else {
            involved.namespace.clone()
        };
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    involved.name,
                    uuid::Uuid::new_v4().as_u128() as u64
                )),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(involved.api_version.to_string()),
                kind: Some(involved.kind.to_string()),
                namespace: Some(involved.namespace.clone()).filter(|n| !n.is_empty()),
                name: Some(involved.name.clone()),
                uid: Some(involved.uid.clone()),
                ..ObjectReference::default()
            },
            reason: Some(record.reason.to_string()),
            message: Some(record.message.clone()),
            type_: Some(record.kind.as_str().to_string()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource {
                component: Some(component.to_string()),
                host: None,
            }),
            reporting_component: Some(component.to_string()),
            ..Event::default()
        };
        match client.create(&event).await {
            Ok(created) => {
                seen.insert(
                    key,
                    Written {
                        name: created.metadata.name.unwrap_or_default(),
                        namespace,
                        count: 1,
                        first: Instant::now(),
                    },
                );
            }
            Err(e) => {
                tracing::debug!(reason = record.reason, error = %e.message, "cannot write event")
            }
        }
    }
}
