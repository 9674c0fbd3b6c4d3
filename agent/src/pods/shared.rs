//! [`PodShared`]: what one pod's worker and its container runners share — the pod's names
//! (for the status reporter, events and logs), the latest pod object, its [`PodRecord`]
//! (whose every change renders and reports the pod's status), its volumes, its stop
//! signals, the grace period of the stop in progress and its containers' resource meters
//! ([`PodUsage`]). One per pod; the agent-wide
//! services are the [`Context`].

use super::context::Context;
use super::record::PodRecord;
use super::report::PodRef;
use super::status::{self, Phase};
use super::volume::PodVolumes;
use crate::logs::PodLogKey;
use crate::stats::PodUsage;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::{EventType, Involved};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one pod's worker and container runners share.
pub struct PodShared {
    /// The pod as the status reporter names it.
    pub key: PodRef,
    /// The pod as events name it.
    pub involved: Arc<Involved>,
    /// The pod as its logs are filed.
    pub log_key: PodLogKey,
    /// The pod's directory (volumes).
    pub dir: PathBuf,
    pod: Mutex<Arc<Pod>>,
    record: Mutex<PodRecord>,
    /// The pod's volumes, once prepared.
    pub volumes: OnceLock<PodVolumes>,
    /// Cancelled when the pod's containers must stop (deleted, deadline exceeded).
    pub stop: CancellationToken,
    /// Cancelled when they must stop at once (the grace period ran out or was cut).
    pub kill: CancellationToken,
    grace: Mutex<Duration>,
    /// Its containers' CPU and memory meters, registered in the node's
    /// [`UsageRegistry`](crate::stats::UsageRegistry) until the pod's worker ends.
    pub usage: Arc<PodUsage>,
}

impl PodShared {
    /// Shared state for a pod the agent starts to run.
    pub fn new(ctx: &Context, pod: Arc<Pod>, record: PodRecord) -> Self {
        let meta = &pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        let uid = meta.uid.clone().unwrap_or_default();
        let usage = ctx.stats.pod(&namespace, &name, &uid);
        Self {
            key: PodRef {
                namespace: namespace.clone(),
                name: name.clone(),
                uid: uid.clone(),
            },
            involved: Arc::new(Involved::pod(&pod)),
            log_key: PodLogKey {
                namespace,
                name,
                uid: uid.clone(),
            },
            dir: ctx.config.pods_dir().join(&uid),
            pod: Mutex::new(pod),
            record: Mutex::new(record),
            volumes: OnceLock::new(),
            stop: CancellationToken::new(),
            kill: CancellationToken::new(),
            grace: Mutex::new(Duration::ZERO),
            usage,
        }
    }

    /// The latest pod object.
    pub fn pod(&self) -> Arc<Pod> {
        lock(&self.pod).clone()
    }

    /// Replaces the pod object with a newer one.
    pub fn set_pod(&self, pod: Arc<Pod>) {
        *lock(&self.pod) = pod;
    }

    /// The grace period of the stop in progress.
    pub fn grace(&self) -> Duration {
        *lock(&self.grace)
    }

    /// Stops the pod's containers within `grace` (a shorter grace than a stop already in
    /// progress cuts it short).
    pub fn stop(&self, grace: Duration) {
        let mut current = lock(&self.grace);
        if self.stop.is_cancelled() && grace >= *current {
            return;
        }
        *current = grace;
        self.stop.cancel();
        if grace.is_zero() {
            self.kill.cancel();
        }
    }

    /// Reads the record.
    pub fn read<T>(&self, f: impl FnOnce(&PodRecord) -> T) -> T {
        f(&lock(&self.record))
    }

    /// Changes the record and hands the resulting status to the reporter, and the pod's
    /// readiness to the data plane at once (a pod that is being deleted is not ready);
    /// returns the pod's phase after the change.
    pub fn update(&self, ctx: &Context, f: impl FnOnce(&mut PodRecord)) -> Phase {
        let pod = self.pod();
        let mut record = lock(&self.record);
        f(&mut record);
        let (phase, status) = status::render(&pod, &mut record, &ctx.host_ip);
        let ready = status::is_ready(phase, &record)
            && pod.metadata.deletion_timestamp.is_none()
            && !self.stop.is_cancelled();
        drop(record);
        ctx.reporter.set(&self.key, status);
        ctx.dataplane.ready.set(&pod, ready);
        phase
    }

    /// Records an event about the pod, or one of its containers.
    pub fn event(
        &self,
        ctx: &Context,
        container: Option<&str>,
        kind: EventType,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        let field_path = container.map(|name| {
            let list = if self.is_init(name) {
                "initContainers"
            } else {
                "containers"
            };
            format!("spec.{list}{{{name}}}")
        });
        ctx.events
            .emit(&self.involved, field_path, kind, reason, message);
    }
}

impl PodShared {
    /// Whether `name` is one of the pod's init containers.
    pub fn is_init(&self, name: &str) -> bool {
        self.pod()
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|list| list.iter().any(|c| c.name == name))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sections under these locks do not panic; recover the data if one did.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
