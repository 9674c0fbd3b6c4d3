//! [`Recorder`]: the agent's Events (`Pulling`, `Pulled`, `Created`, `Started`, `Killing`,
//! `BackOff`, `Failed`...), so that `kubectl describe pod` tells a pod's story.
//!
//! Recording never blocks a pod: events go to a bounded queue that a background task
//! writes through the API, a few at a time. Like the kubelet's recorder, it is rate
//! limited (a token bucket) and drops what exceeds it rather than slowing pods down.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Events queued for writing before new ones are dropped.
const QUEUE: usize = 4096;

/// Burst of events written at once: the kubelet's `eventBurst` default.
const BURST: f64 = 100.0;

/// Sustained events per second: the kubelet's `eventRecordQPS` default.
const PER_SECOND: f64 = 50.0;

/// Event writes in flight at once.
const IN_FLIGHT: usize = 8;

/// Whether an event reports normal progress or a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug)]
pub struct Involved {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// UID of the pod.
    pub uid: String,
}

impl Involved {
    /// The pod as an event's subject.
    pub fn pod(pod: &Pod) -> Self {
        Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        }
    }
}

struct Record {
    involved: Arc<Involved>,
    field_path: Option<String>,
    kind: EventType,
    reason: &'static str,
    message: String,
    time: SystemTime,
}

/// Records events for the node's pods. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Record>,
}

impl Recorder {
    /// Starts the writer, which runs until `shutdown` (then drops what is queued).
    pub fn start(client: kube::Client, node: String, shutdown: CancellationToken) -> Self {
        let (queue, records) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, node, records, shutdown));
        Self { queue }
    }

    /// Records an event about a pod, or one of its containers when `container` is given
    /// (`field_path` as the kubelet writes it, e.g. `spec.containers{web}`).
    pub fn emit(
        &self,
        involved: &Arc<Involved>,
        field_path: Option<String>,
        kind: EventType,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        let record = Record {
            involved: involved.clone(),
            field_path,
            kind,
            reason,
            message: message.into(),
            time: SystemTime::now(),
        };
        if self.queue.try_send(record).is_err() {
            tracing::debug!(reason, "event queue full; event dropped");
        }
    }
}

async fn write_events(
    client: kube::Client,
    node: String,
    mut records: mpsc::Receiver<Record>,
    shutdown: CancellationToken,
) {
    let mut bucket = TokenBucket::new(BURST, PER_SECOND);
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let node: Arc<str> = node.into();
    loop {
        let record = tokio::select! {
            () = shutdown.cancelled() => return,
            record = records.recv() => match record {
                Some(record) => record,
                None => return,
            },
        };
        if !bucket.take() {
            tracing::debug!(reason = record.reason, "event rate exceeded; event dropped");
            continue;
        }
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let client = client.clone();
        let node = node.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let events: Api<Event> = Api::namespaced(client, &record.involved.namespace);
            let event = to_event(&record, &node);
            if let Err(e) = events.create(&PostParams::default(), &event).await {
                tracing::debug!(error = %e, reason = record.reason, "cannot write event");
            }
        });
    }
}

fn to_event(record: &Record, node: &str) -> Event {
    let time = humantime::format_rfc3339_seconds(record.time).to_string();
    let micro = humantime::format_rfc3339_micros(record.time).to_string();
    let nanos = record
        .time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let involved = &record.involved;
    let value = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{nanos:x}", involved.name),
            "namespace": involved.namespace,
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": involved.namespace,
            "name": involved.name,
            "uid": involved.uid,
            "fieldPath": record.field_path,
        },
        "reason": record.reason,
        "message": record.message,
        "type": record.kind.as_str(),
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": time,
        "lastTimestamp": time,
        "eventTime": micro,
        "count": 1,
    });
    // The shape above is fixed; a failure here would be a bug in it.
    serde_json::from_value(value).unwrap_or_default()
}

/// A token bucket: `burst` tokens, refilled at `rate` per second.
struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(burst: f64, rate: f64) -> Self {
        Self {
            tokens: burst,
            burst,
            rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(3.0, 1.0);
        assert!(bucket.take() && bucket.take() && bucket.take());
        assert!(!bucket.take(), "the burst is spent");
        bucket.last -= Duration::from_secs(1);
        assert!(bucket.take(), "one token refilled after a second");
    }

    #[test]
    fn event_names_the_pod_and_container() {
        let record = Record {
            involved: Arc::new(Involved {
                namespace: "ns".into(),
                name: "web".into(),
                uid: "u1".into(),
            }),
            field_path: Some("spec.containers{app}".into()),
            kind: EventType::Warning,
            reason: "BackOff",
            message: "Back-off restarting failed container".into(),
            time: SystemTime::now(),
        };
        let event = to_event(&record, "node-a");
        assert_eq!(event.involved_object.name.as_deref(), Some("web"));
        assert_eq!(
            event.involved_object.field_path.as_deref(),
            Some("spec.containers{app}")
        );
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.source.and_then(|s| s.host).as_deref(), Some("node-a"));
        assert!(event.metadata.name.is_some_and(|n| n.starts_with("web.")));
    }
}
