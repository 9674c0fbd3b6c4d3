//! [`Recorder`]: the queue events go to, and the task that writes them through an
//! [`EventSink`] as its [`Options`] say.

use super::bucket::TokenBucket;
use super::record::{EventType, Involved, Record};
use super::sink::EventSink;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// A repeated event within this window bumps the count of the first (client-go's
/// correlator keeps the same window).
pub const AGGREGATION_WINDOW: Duration = Duration::from_secs(600);

/// Repeats remembered before those older than [`AGGREGATION_WINDOW`] are forgotten.
const REMEMBERED: usize = 4096;

/// How a recorder's writer behaves.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Events queued before new ones are dropped.
    pub queue: usize,
    /// `(burst, per second)` of a token bucket; events beyond it are dropped. `None`: no
    /// limit.
    pub rate: Option<(f64, f64)>,
    /// Writes in flight at once (without aggregation; aggregated events are written one
    /// at a time, so that a repeat finds its first).
    pub in_flight: usize,
    /// Whether a repeat (same object, part, type, reason and message) within
    /// [`AGGREGATION_WINDOW`] updates the first event's `count` and `lastTimestamp`
    /// instead of adding another.
    pub aggregate: bool,
}

impl Options {
    /// The kubelet's: 4096 queued, the kubelet's `eventBurst` (100) and `eventRecordQPS`
    /// (50) defaults, 8 writes in flight, no aggregation.
    pub const KUBELET: Options = Options {
        queue: 4096,
        rate: Some((100.0, 50.0)),
        in_flight: 8,
        aggregate: false,
    };

    /// The control plane's: 8192 queued, no rate limit (its writes are in-process),
    /// repeats aggregated.
    pub const CONTROL_PLANE: Options = Options {
        queue: 8192,
        rate: None,
        in_flight: 1,
        aggregate: true,
    };
}

/// Records events as one component. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    component: &'static str,
}

impl Recorder {
    /// Starts the writer task (until `shutdown`, then what is queued is dropped); events
    /// are reported by `component` on `host` (the node, for the kubelet) and written to
    /// `sink`.
    pub fn start(
        sink: impl EventSink,
        component: &'static str,
        host: Option<String>,
        options: Options,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let writer = Writer {
            sink: Arc::new(sink),
            host: host.map(Arc::from),
            options,
            seen: HashMap::new(),
        };
        tokio::spawn(writer.run(rx, shutdown));
        Self { tx, component }
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
        self.emit(
            &Arc::new(involved),
            None,
            EventType::Normal,
            reason,
            message,
        );
    }

    /// Records a warning.
    pub fn warning(&self, involved: Involved, reason: &'static str, message: impl Into<String>) {
        self.emit(
            &Arc::new(involved),
            None,
            EventType::Warning,
            reason,
            message,
        );
    }

    /// Records an event about `involved`, or the part of it at `field_path` (e.g.
    /// `spec.containers{web}`, as the kubelet names a container).
    pub fn emit(
        &self,
        involved: &Arc<Involved>,
        field_path: Option<String>,
        kind: EventType,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        let record = Record {
            component: self.component,
            involved: involved.clone(),
            field_path,
            kind,
            reason,
            message: message.into(),
            time: SystemTime::now(),
        };
        if self.tx.try_send(record).is_err() {
            tracing::debug!(reason, "event queue full; event dropped");
        }
    }
}

/// What makes two events repeats of each other.
type RepeatKey = (
    &'static str,
    Involved,
    Option<String>,
    EventType,
    &'static str,
    String,
);

/// What was written for one repeated event.
struct Written {
    name: String,
    count: i32,
    first: Instant,
}

struct Writer<S> {
    sink: Arc<S>,
    host: Option<Arc<str>>,
    options: Options,
    seen: HashMap<RepeatKey, Written>,
}

impl<S: EventSink> Writer<S> {
    async fn run(mut self, mut rx: mpsc::Receiver<Record>, shutdown: CancellationToken) {
        let mut bucket = self
            .options
            .rate
            .map(|(burst, rate)| TokenBucket::new(burst, rate));
        let in_flight = Arc::new(Semaphore::new(self.options.in_flight.max(1)));
        loop {
            let record = tokio::select! {
                () = shutdown.cancelled() => return,
                record = rx.recv() => match record {
                    Some(record) => record,
                    None => return,
                },
            };
            if let Some(bucket) = &mut bucket
                && !bucket.take()
            {
                tracing::debug!(reason = record.reason, "event rate exceeded; event dropped");
                continue;
            }
            if self.options.aggregate {
                self.write_aggregated(record).await;
                continue;
            }
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let (sink, host) = (self.sink.clone(), self.host.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let event = record.to_event(host.as_deref());
                if let Err(e) = sink.create(event).await {
                    tracing::debug!(error = %e, reason = record.reason, "cannot write event");
                }
            });
        }
    }

    /// Writes `record` as a repeat of an earlier event if there is one, else as a new one.
    async fn write_aggregated(&mut self, record: Record) {
        if self.seen.len() > REMEMBERED {
            self.seen
                .retain(|_, w| w.first.elapsed() < AGGREGATION_WINDOW);
        }
        let key = (
            record.component,
            (*record.involved).clone(),
            record.field_path.clone(),
            record.kind,
            record.reason,
            record.message.clone(),
        );
        if let Some(written) = self
            .seen
            .get_mut(&key)
            .filter(|w| w.first.elapsed() < AGGREGATION_WINDOW)
        {
            written.count += 1;
            let last = Time(crate::time::timestamp(record.time));
            let counted = self
                .sink
                .count(record.namespace(), &written.name, written.count, last)
                .await;
            if counted.is_ok() {
                return;
            }
        }
        let event = record.to_event(self.host.as_deref());
        match self.sink.create(event).await {
            Ok(name) => {
                let written = Written {
                    name,
                    count: 1,
                    first: Instant::now(),
                };
                self.seen.insert(key, written);
            }
            Err(e) => tracing::debug!(error = %e, reason = record.reason, "cannot write event"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::SinkError;
    use k8s_openapi::api::core::v1::{Event, Pod};
    use std::sync::Mutex;

    /// Keeps events in memory, as the API would store them.
    #[derive(Clone, Default)]
    struct Stored(Arc<Mutex<Vec<Event>>>);

    #[async_trait::async_trait]
    impl EventSink for Stored {
        async fn create(&self, event: Event) -> Result<String, SinkError> {
            let name = event.metadata.name.clone().unwrap_or_default();
            self.0.lock().map_err(|_| "poisoned")?.push(event);
            Ok(name)
        }

        async fn count(
            &self,
            namespace: &str,
            name: &str,
            count: i32,
            last: Time,
        ) -> Result<(), SinkError> {
            let mut events = self.0.lock().map_err(|_| "poisoned")?;
            let event = events
                .iter_mut()
                .find(|e| {
                    e.metadata.namespace.as_deref() == Some(namespace)
                        && e.metadata.name.as_deref() == Some(name)
                })
                .ok_or("not found")?;
            event.count = Some(count);
            event.last_timestamp = Some(last);
            Ok(())
        }
    }

    fn pod() -> Involved {
        let mut pod = Pod::default();
        pod.metadata.namespace = Some("ns".into());
        pod.metadata.name = Some("web".into());
        Involved::pod(&pod)
    }

    async fn written(stored: &Stored, n: usize) -> Vec<Event> {
        for _ in 0..500 {
            let events = stored.0.lock().expect("lock").clone();
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("{n} events were not written");
    }

    #[tokio::test]
    async fn repeats_are_counted_on_the_first_event() {
        let stored = Stored::default();
        let shutdown = CancellationToken::new();
        let recorder = Recorder::start(
            stored.clone(),
            "replicaset-controller",
            None,
            Options::CONTROL_PLANE,
            shutdown.clone(),
        );
        recorder.warning(pod(), "FailedCreate", "quota");
        recorder.warning(pod(), "FailedCreate", "quota");
        recorder.warning(pod(), "FailedCreate", "other");
        let events = written(&stored, 2).await;
        // The third record follows the second through the one writer: once it is
        // written, so is the count.
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].count, Some(2));
        assert_eq!(events[1].message.as_deref(), Some("other"));
        shutdown.cancel();
    }

    #[tokio::test]
    async fn without_aggregation_every_event_is_its_own() {
        let stored = Stored::default();
        let shutdown = CancellationToken::new();
        let recorder = Recorder::start(
            stored.clone(),
            "kubelet",
            Some("node-a".into()),
            Options::KUBELET,
            shutdown.clone(),
        );
        let involved = Arc::new(pod());
        for _ in 0..3 {
            recorder.emit(&involved, None, EventType::Normal, "Pulled", "pulled");
        }
        let events = written(&stored, 3).await;
        assert!(events.iter().all(|e| e.count == Some(1)));
        assert!(
            events
                .iter()
                .all(|e| e.reporting_instance.as_deref() == Some("node-a"))
        );
        shutdown.cancel();
    }
}
