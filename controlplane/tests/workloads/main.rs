//! In-process tests of the ReplicaSet and Deployment controllers: the real API write path
//! over a `MemoryStore` behind the watch cache, the two controllers alone beside it (no
//! scheduler, no agent). A [`Kubelet`] stands in for both: it binds every new pod to a
//! made-up node, reports it running and (unless told not to) ready, and confirms the
//! deletion of pods being deleted.
//!
//! - `replicasets`: replicas kept, replacement, scaling (not-ready pods go first),
//!   adoption and release, `minReadySeconds`, a large scale-up;
//! - `expectations`: an informer that lags never makes the controller create twice;
//! - `deployments`: a rollout and what kubectl reads of it, scaling, the progress deadline;
//! - `rollouts`: rolling updates within their fenceposts, rollback, `Recreate`, pausing,
//!   the revision history limit.

mod deployments;
mod expectations;
mod kubelet;
mod lag;
mod replicasets;
mod rollouts;
#[path = "../support/mod.rs"]
mod support;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kubelet::Kubelet;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::controllers::deployment::DeploymentController;
use skiff_controlplane::controllers::replicaset::ReplicaSetController;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::{Informer, Object};
use skiff_controlplane::store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a broken controller fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(40);

/// The namespace the tests work in.
pub const NS: &str = "default";

/// How a [`Cluster`] is put together.
#[derive(Default)]
pub struct Options {
    /// Delay every pod event the controllers' informer sees by this much.
    pub pod_lag: Option<Duration>,
    /// Run the Deployment controller too (the ReplicaSet controller always runs).
    pub deployments: bool,
}

/// The store, the write path, the controllers and the stand-in kubelet.
pub struct Cluster {
    /// Writes as the test.
    pub client: Client,
    /// The API state (for raw API calls).
    pub state: ApiState,
    /// Every pod, as the test sees them (without lag).
    pub pods: Informer<Pod>,
    /// Every ReplicaSet, as the test sees them.
    pub replicasets: Informer<ReplicaSet>,
    /// Every event.
    pub events: Informer<Event>,
    /// The stand-in kubelet.
    pub kubelet: Kubelet,
    /// The controllers' pod informer (lagging, if asked).
    pub controller_pods: Informer<Pod>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    /// Both controllers and a kubelet.
    pub async fn start() -> Self {
        Self::with(Options {
            deployments: true,
            ..Options::default()
        })
        .await
    }

    /// A cluster put together as `options` say.
    pub async fn with(options: Options) -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let ctx = Context::new(state.clone(), Config::default(), &shutdown);
        let replicasets = ReplicaSetController::new(&ctx);
        let deployments = options.deployments.then(|| DeploymentController::new(&ctx));
        let store = state.store.clone();
        let pod_store: Arc<dyn Store> = match options.pod_lag {
            Some(lag) => Arc::new(lag::LaggingStore::new(store.clone(), lag)),
            None => store.clone(),
        };
        let informers = &ctx.informers;
        informers
            .pods
            .start(pod_store, shutdown.clone())
            .await
            .expect("pods");
        informers
            .replicasets
            .start(store.clone(), shutdown.clone())
            .await
            .expect("replicasets");
        informers
            .deployments
            .start(store.clone(), shutdown.clone())
            .await
            .expect("deployments");
        tokio::spawn(replicasets.run(shutdown.clone()));
        if let Some(deployments) = deployments {
            tokio::spawn(deployments.run(shutdown.clone()));
        }
        let client = Client::new(state.clone(), "test");
        let pods = Informer::<Pod>::new();
        let kubelet = Kubelet::new(client.clone(), state.clone(), &pods, shutdown.clone());
        pods.start(store.clone(), shutdown.clone())
            .await
            .expect("pod informer");
        let replicasets = Informer::<ReplicaSet>::new();
        replicasets
            .start(store.clone(), shutdown.clone())
            .await
            .expect("replicaset informer");
        let events = Informer::<Event>::new();
        events
            .start(store, shutdown.clone())
            .await
            .expect("event informer");
        Self {
            client,
            state,
            pods,
            replicasets,
            events,
            kubelet,
            controller_pods: ctx.informers.pods.clone(),
            shutdown,
        }
    }

    /// Creates `object`.
    pub async fn create<K>(&self, object: &K) -> K
    where
        K: Object + k8s_openapi::Resource + serde::Serialize,
    {
        self.client.create(object).await.expect("create")
    }

    /// Changes the object `name` with `change`.
    pub async fn update<K>(&self, name: &str, change: impl FnMut(&mut K) -> bool) -> K
    where
        K: Object + k8s_openapi::Resource + serde::Serialize,
    {
        self.client
            .update::<K>(Some(NS), name, change)
            .await
            .expect("update")
    }

    /// The ReplicaSet `name` as stored now.
    pub async fn replicaset(&self, name: &str) -> Option<ReplicaSet> {
        found(self.client.get::<ReplicaSet>(Some(NS), name).await)
    }

    /// The Deployment `name` as stored now.
    pub async fn deployment(&self, name: &str) -> Deployment {
        self.client
            .get::<Deployment>(Some(NS), name)
            .await
            .expect("deployment")
    }

    /// The pods (not being deleted) with label `app=<app>`, as the test sees them.
    pub fn app_pods(&self, app: &str) -> Vec<Arc<Pod>> {
        self.pods
            .list_namespace(NS)
            .into_iter()
            .filter(|p| label(p, "app") == Some(app) && p.metadata.deletion_timestamp.is_none())
            .collect()
    }

    /// Every pod in the store now, read from the store itself (not a cache).
    pub async fn stored_pods(&self) -> usize {
        let prefix = skiff_controlplane::machinery::informer::kind_of::<Pod>().key_prefix(Some(NS));
        self.state
            .store
            .list(&prefix)
            .await
            .expect("list pods")
            .items
            .len()
    }

    /// The ReplicaSets controlled by the object with `uid`.
    pub fn owned_replicasets(&self, uid: &str) -> Vec<Arc<ReplicaSet>> {
        self.replicasets
            .list_namespace(NS)
            .into_iter()
            .filter(|rs| controller_uid(&rs.metadata) == Some(uid))
            .collect()
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

    /// Waits until the Deployment `name` has rolled out completely, as `kubectl rollout
    /// status` judges it; returns it.
    pub async fn rolled_out(&self, name: &str) -> Deployment {
        eventually(&format!("deployment {name} rolled out"), || async {
            let d = self.deployment(name).await;
            rollout_done(&d).then_some(d)
        })
        .await
    }
}

/// Whether `kubectl rollout status` would call the Deployment rolled out (kubectl's
/// `DeploymentStatusViewer`).
pub fn rollout_done(d: &Deployment) -> bool {
    let Some(status) = d.status.as_ref() else {
        return false;
    };
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    d.metadata.generation <= status.observed_generation
        && updated >= replicas
        && status.replicas.unwrap_or(0) <= updated
        && status.available_replicas.unwrap_or(0) >= updated
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    support::poll(what, WAIT, Duration::from_millis(10), check).await
}

pub use support::found;

/// A label's value.
pub fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// An annotation's value.
pub fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The UID of the object's controller, if any.
pub fn controller_uid(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

/// The value of env var `COLOR` in the pod's first container.
pub fn color(pod: &Pod) -> Option<String> {
    pod.spec.as_ref()?.containers[0]
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "COLOR")
        .and_then(|e| e.value.clone())
}

/// A pod template labelled `app=<app>` whose container has `COLOR=<color>`.
pub fn template(app: &str, color: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{
            "name": "main",
            "image": "file:///show.wasm",
            "env": [{"name": "COLOR", "value": color}],
        }]},
    })
}

/// A ReplicaSet `name` of `replicas` pods labelled `app=<name>`, `extra` merged into its
/// spec.
pub fn replicaset(name: &str, replicas: i32, extra: Value) -> ReplicaSet {
    let mut spec = json!({
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": template(name, "blue"),
    });
    merge(&mut spec, extra);
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": NS}, "spec": spec}))
        .expect("replicaset")
}

/// A Deployment `name` of `replicas` pods labelled `app=<name>` with `COLOR=blue`,
/// `extra` merged into its spec.
pub fn deployment(name: &str, replicas: i32, extra: Value) -> Deployment {
    let mut spec = json!({
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": template(name, "blue"),
    });
    merge(&mut spec, extra);
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": NS}, "spec": spec}))
        .expect("deployment")
}

/// Sets the Deployment's `COLOR` (a new template); returns whether it changed.
pub fn set_color(d: &mut Deployment, color: &str) -> bool {
    let Some(spec) = d.spec.as_mut() else {
        return false;
    };
    let env = spec
        .template
        .spec
        .as_mut()
        .map(|s| &mut s.containers[0])
        .and_then(|c| c.env.as_mut())
        .and_then(|e| e.iter_mut().find(|e| e.name == "COLOR"));
    match env {
        Some(var) if var.value.as_deref() != Some(color) => {
            var.value = Some(color.to_string());
            true
        }
        _ => false,
    }
}

/// Merges `extra` into `base` (objects key by key, anything else replaced).
fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(base), Value::Object(extra)) => {
            for (k, v) in extra {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, extra) => *base = extra,
    }
}
