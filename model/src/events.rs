//! Events, so that `kubectl describe` and `kubectl get events` tell what happened to an
//! object: one [`Recorder`] for every component that writes them — the agent (as the
//! kubelet: `Pulling`, `Started`, `BackOff`...) and the control plane's scheduler and
//! controllers (`Scheduled`, `SuccessfulCreate`, `ScalingReplicaSet`...).
//!
//! Recording never blocks the caller: events go to a bounded queue that a background task
//! writes through an [`EventSink`] (the agent's is the Kubernetes API over HTTP, the
//! control plane's its in-process client); beyond the queue, events are dropped. [`Options`]
//! say how the writer behaves: the kubelet's token-bucket rate limit, writes in flight,
//! and client-go's aggregation of repeats into one event's `count`.
//!
//! Parts: [`record`] (what an event is about and how it becomes an `Event`), [`sink`] (where
//! it goes), [`bucket`] (the rate limit), [`recorder`] (the queue and its writer).

pub mod bucket;
pub mod record;
pub mod recorder;
pub mod sink;

pub use record::{EventType, Involved};
pub use recorder::{Options, Recorder};
pub use sink::{EventSink, SinkError};
