//! In-process tests of the Job controller, the garbage collector and the namespace
//! controller: the real API write path over a `MemoryStore` behind the watch cache, these
//! three components alone beside it (no scheduler, no agent). The tests play the kubelet:
//! they bind the pods the Job controller creates to a made-up node and write their status.
//!
//! - `jobs`: completions and parallelism, backoff limit, deadline, TTL, suspension,
//!   indexed Jobs, successes that outlive their pods, orphaning a Job's pods;
//! - `gc`: background, foreground and orphan deletion, owners that still exist;
//! - `namespaces`: deleting a namespace empties it first; system namespaces stay.

mod gc;
mod jobs;
mod namespaces;
#[path = "../support/mod.rs"]
mod support;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Event, Pod, PodCondition,
    PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::apiserver::error::ApiError;
use skiff_controlplane::controllers::gc::GarbageCollector;
use skiff_controlplane::controllers::job::JobController;
use skiff_controlplane::controllers::namespace::NamespaceController;
use skiff_controlplane::machinery::client::{Client, Propagation};
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::Informer;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a broken controller fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(40);

/// The node the tests bind pods to (no Node object exists: nothing here needs one).
pub const NODE: &str = "node-a";

/// The store, the write path and the three controllers.
pub struct Cluster {
    /// Writes as the test (and as the kubelet it plays).
    pub client: Client,
    /// The API state (for raw API calls).
    pub state: ApiState,
    /// Every pod, as the test sees them.
    pub pods: Informer<Pod>,
    /// Every event written so far.
    pub events: Informer<Event>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    /// Starts the store, the cache and the controllers.
    pub async fn start() -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let ctx = Context::new(state.clone(), Config::default(), &shutdown);
        let jobs = JobController::new(&ctx);
        let gc = GarbageCollector::new(&ctx);
        let namespaces = NamespaceController::new(&ctx);
        ctx.informers
            .start(&state, &shutdown)
            .await
            .expect("informers");
        tokio::spawn(jobs.run(shutdown.clone()));
        tokio::spawn(gc.run(shutdown.clone()));
        tokio::spawn(namespaces.run(shutdown.clone()));
        let pods = Informer::<Pod>::new();
        let events = Informer::<Event>::new();
        Self {
            client: Client::new(state.clone(), "test"),
            state,
            pods,
            events,
            shutdown,
        }
        .watching()
        .await
    }

    async fn watching(self) -> Self {
        self.pods
            .start(self.state.store.clone(), self.shutdown.clone())
            .await
            .expect("pod informer");
        self.events
            .start(self.state.store.clone(), self.shutdown.clone())
            .await
            .expect("event informer");
        self
    }

    /// Creates `object`.
    pub async fn create<K>(&self, object: &K) -> K
    where
        K: skiff_controlplane::machinery::informer::Object
            + k8s_openapi::Resource
            + serde::Serialize,
    {
        self.client.create(object).await.expect("create")
    }

    /// The Job as stored now, if it exists.
    pub async fn job(&self, namespace: &str, name: &str) -> Option<Job> {
        found(self.client.get::<Job>(Some(namespace), name).await)
    }

    /// Waits until the Job has condition `kind` `True`; returns the Job.
    pub async fn job_condition(&self, namespace: &str, name: &str, kind: &str) -> Job {
        eventually(&format!("job {name} {kind}"), || async {
            self.job(namespace, name)
                .await
                .filter(|j| has_condition(j, kind))
        })
        .await
    }

    /// The pods of Job `name` in `namespace` (by its name label), as the test sees them.
    pub fn job_pods(&self, namespace: &str, name: &str) -> Vec<Arc<Pod>> {
        self.pods
            .list_namespace(namespace)
            .into_iter()
            .filter(|p| label(p, "batch.kubernetes.io/job-name") == Some(name))
            .collect()
    }

    /// Plays the kubelet for `pod`: binds it to [`NODE`] (if it is not bound) and reports
    /// it running and ready.
    pub async fn run_pod(&self, pod: &Pod) {
        let (namespace, name, uid) = identity(pod);
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_none()
        {
            self.client
                .bind(namespace, name, uid, NODE)
                .await
                .expect("bind");
        }
        self.client
            .update_status::<Pod>(Some(namespace), name, |p| {
                let status = p.status.get_or_insert_with(PodStatus::default);
                status.phase = Some("Running".into());
                status.conditions = Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..PodCondition::default()
                }]);
                true
            })
            .await
            .expect("pod running");
    }

    /// Plays the kubelet for `pod`: its one container exited with `code`, the pod is
    /// `Succeeded` (0) or `Failed`.
    pub async fn finish_pod(&self, pod: &Pod, code: i32) {
        let (namespace, name, _) = identity(pod);
        self.client
            .update_status::<Pod>(Some(namespace), name, |p| {
                let status = p.status.get_or_insert_with(PodStatus::default);
                status.phase = Some(if code == 0 { "Succeeded" } else { "Failed" }.into());
                status.conditions = None;
                status.container_statuses = Some(vec![ContainerStatus {
                    name: "main".into(),
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: code,
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                }]);
                true
            })
            .await
            .expect("pod finished");
    }

    /// Plays the agent confirming a pod's deletion (a delete with grace 0).
    pub async fn confirm_deletion(&self, pod: &Pod) {
        let (namespace, name, uid) = identity(pod);
        delete_now(
            &self.state,
            "",
            "v1",
            "pods",
            Some(namespace),
            name,
            Some(uid),
        )
        .await
        .expect("confirm deletion");
    }

    /// Deletes an object with `propagation` through the client.
    pub async fn delete<K>(&self, namespace: Option<&str>, name: &str, propagation: Propagation)
    where
        K: skiff_controlplane::machinery::informer::Object + k8s_openapi::Resource,
    {
        self.client
            .delete::<K>(namespace, name, None, propagation)
            .await
            .expect("delete");
    }

    /// The messages of the events with `reason` about the object named `name`.
    pub fn events_of(&self, name: &str, reason: &str) -> Vec<String> {
        self.events
            .list()
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| e.message.clone().unwrap_or_default())
            .collect()
    }

    /// Counts, from now on, the pods of Job `name` in `namespace` that exist at once
    /// without having finished or being deleted; returns (the highest such count, every
    /// pod UID seen).
    pub fn track(&self, namespace: &str, name: &str) -> Tracker {
        let tracker = Tracker::default();
        let (seen, pods) = (tracker.clone(), self.pods.clone());
        let (namespace, name) = (namespace.to_string(), name.to_string());
        self.pods.subscribe(move |change| {
            let Some(pod) = change.new else { return };
            if label(pod, "batch.kubernetes.io/job-name") != Some(name.as_str()) {
                return;
            }
            let active = pods
                .list_namespace(&namespace)
                .iter()
                .filter(|p| label(p, "batch.kubernetes.io/job-name") == Some(name.as_str()))
                .filter(|p| is_active(p))
                .count();
            let mut state = seen.0.lock().expect("tracker");
            state.0 = state.0.max(active);
            state.1.insert(pod.metadata.uid.clone().unwrap_or_default());
        });
        tracker
    }
}

/// What [`Cluster::track`] saw.
#[derive(Clone, Default)]
pub struct Tracker(Arc<Mutex<(usize, BTreeSet<String>)>>);

impl Tracker {
    /// The most pods active at once.
    pub fn max_active(&self) -> usize {
        self.0.lock().expect("tracker").0
    }

    /// How many distinct pods were seen.
    pub fn pods(&self) -> usize {
        self.0.lock().expect("tracker").1.len()
    }
}

/// Deletes through the API's delete path with grace 0 (the agent's confirmation).
pub async fn delete_now(
    state: &ApiState,
    group: &str,
    version: &str,
    plural: &str,
    namespace: Option<&str>,
    name: &str,
    uid: Option<&str>,
) -> Result<serde_json::Value, ApiError> {
    let path = skiff_controlplane::apiserver::request::path::ResourcePath {
        kind: skiff_model::kinds::find(group, version, plural).expect("kind"),
        namespace: namespace.map(String::from),
        name: Some(name.to_string()),
        subresource: None,
    };
    let options = skiff_controlplane::apiserver::handlers::delete::DeleteOptions {
        grace_period_seconds: Some(0),
        uid: uid.map(String::from),
        ..Default::default()
    };
    skiff_controlplane::apiserver::handlers::delete::delete(
        state,
        &path,
        &Default::default(),
        &options,
    )
    .await
}

pub use support::found;

fn identity(pod: &Pod) -> (&str, &str, &str) {
    (
        pod.metadata.namespace.as_deref().expect("namespace"),
        pod.metadata.name.as_deref().expect("name"),
        pod.metadata.uid.as_deref().expect("uid"),
    )
}

/// A label's value.
pub fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// Whether the pod has neither finished nor is being deleted.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// Whether the Job's condition `kind` is `True`.
pub fn has_condition(job: &Job, kind: &str) -> bool {
    condition(job, kind).is_some()
}

/// The Job's condition `kind`, if `True`: (reason, message).
pub fn condition(job: &Job, kind: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// A Job in `namespace` of `completions` pods, `parallelism` at a time, with
/// `restartPolicy: Never`.
pub fn job(namespace: &str, name: &str, completions: i32, parallelism: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            completions: Some(completions),
            parallelism: Some(parallelism),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![Container {
                        name: "main".into(),
                        image: Some("file:///exit_code.wasm".into()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// A pod in `namespace` owned by `owner` (a controller reference when `controller`).
pub fn owned_pod(namespace: &str, name: &str, owner: Option<OwnerReference>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            owner_references: owner.map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("app.wasm".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// A reference to `owner` of type `K`, as a controller and blocking its deletion.
pub fn owner_ref<K>(owner: &K) -> OwnerReference
where
    K: skiff_controlplane::machinery::informer::Object + k8s_openapi::Resource,
{
    let meta = owner.metadata();
    OwnerReference {
        api_version: K::API_VERSION.into(),
        kind: K::KIND.into(),
        name: meta.name.clone().expect("name"),
        uid: meta.uid.clone().expect("uid"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    support::poll(what, WAIT, Duration::from_millis(10), check).await
}
