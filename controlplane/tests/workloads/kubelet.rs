//! [`Kubelet`]: the scheduler and the node agent, as far as these tests need them. Every
//! new pod is bound to [`NODE`] and reported `Running` — `Ready` unless the test turned
//! readiness off; a bound pod being deleted has its deletion confirmed (a delete with
//! grace 0), after a delay the test may set.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStatus, Pod, PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::apiserver::handlers::delete::{self, DeleteOptions};
use skiff_controlplane::apiserver::request::path::ResourcePath;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::informer::{Informer, kind_of};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The node every pod is bound to (no Node object exists: nothing here needs one).
pub const NODE: &str = "node-a";

/// The stand-in kubelet. Cheap to clone.
#[derive(Clone)]
pub struct Kubelet {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    state: ApiState,
    pods: Informer<Pod>,
    ready: AtomicBool,
    termination_delay_ms: AtomicU64,
    terminating: Mutex<HashSet<String>>,
}

impl Kubelet {
    /// A kubelet acting on every pod `pods` shows (subscribe before it starts).
    pub fn new(
        client: Client,
        state: ApiState,
        pods: &Informer<Pod>,
        shutdown: CancellationToken,
    ) -> Self {
        let kubelet = Self {
            inner: Arc::new(Inner {
                client,
                state,
                pods: pods.clone(),
                ready: AtomicBool::new(true),
                termination_delay_ms: AtomicU64::new(0),
                terminating: Mutex::default(),
            }),
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        pods.subscribe(move |change| {
            if change.new.is_some() {
                let _ = tx.send(change.key.to_string());
            }
        });
        let this = kubelet.clone();
        tokio::spawn(async move {
            loop {
                let key = tokio::select! {
                    () = shutdown.cancelled() => return,
                    key = rx.recv() => match key {
                        Some(key) => key,
                        None => return,
                    },
                };
                this.handle(&key).await;
            }
        });
        kubelet
    }

    /// Whether pods started from now on report ready.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }

    /// How long a pod being deleted takes to stop before its deletion is confirmed.
    pub fn set_termination_delay(&self, delay: Duration) {
        self.inner
            .termination_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    async fn handle(&self, key: &str) {
        let Some(pod) = self.inner.pods.get(key) else {
            return;
        };
        let meta = &pod.metadata;
        let (Some(namespace), Some(name), Some(uid)) =
            (meta.namespace.clone(), meta.name.clone(), meta.uid.clone())
        else {
            return;
        };
        let bound = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_some();
        if meta.deletion_timestamp.is_some() {
            if bound
                && self
                    .inner
                    .terminating
                    .lock()
                    .expect("set")
                    .insert(uid.clone())
            {
                let delay =
                    Duration::from_millis(self.inner.termination_delay_ms.load(Ordering::SeqCst));
                let state = self.inner.state.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    confirm_deletion(&state, &namespace, &name, &uid).await;
                });
            }
            return;
        }
        if !bound {
            let _ = self.inner.client.bind(&namespace, &name, &uid, NODE).await;
            return;
        }
        let started = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if started {
            return;
        }
        let ready = self.inner.ready.load(Ordering::SeqCst);
        let _ = self
            .inner
            .client
            .update_status::<Pod>(Some(&namespace), &name, |p| {
                if p.metadata.uid.as_deref() != Some(uid.as_str()) {
                    return false;
                }
                p.status = Some(running(ready));
                true
            })
            .await;
    }
}

/// The status of a pod whose one container runs, ready or not.
fn running(ready: bool) -> PodStatus {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let since = Time(Timestamp::from_second(now).expect("time"));
    let flag = if ready { "True" } else { "False" };
    PodStatus {
        phase: Some("Running".into()),
        start_time: Some(since.clone()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: flag.into(),
            last_transition_time: Some(since.clone()),
            ..PodCondition::default()
        }]),
        container_statuses: Some(vec![ContainerStatus {
            name: "main".into(),
            ready,
            restart_count: 0,
            state: Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(since),
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }]),
        ..PodStatus::default()
    }
}

/// The agent's confirmation that a pod stopped: a delete with grace 0.
async fn confirm_deletion(state: &ApiState, namespace: &str, name: &str, uid: &str) {
    let path = ResourcePath {
        kind: kind_of::<Pod>(),
        namespace: Some(namespace.to_string()),
        name: Some(name.to_string()),
        subresource: None,
    };
    let options = DeleteOptions {
        grace_period_seconds: Some(0),
        uid: Some(uid.to_string()),
        ..DeleteOptions::default()
    };
    let _ = delete::delete(state, &path, &Default::default(), &options).await;
}
