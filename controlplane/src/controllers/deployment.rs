//! The Deployment controller: rolls each Deployment's pod template out through
//! ReplicaSets, one per template, as Kubernetes' `pkg/controller/deployment` does — with
//! the annotations, conditions and status fields `kubectl rollout status|history|undo|
//! pause|resume|restart` read.
//!
//! Level-triggered: the key is the Deployment's `namespace/name`, queued when the
//! Deployment, one of its ReplicaSets (or an orphan its selector matches) or one of their
//! pods changes. A reconcile claims the ReplicaSets (adopting matching orphans, releasing
//! those that no longer match) and hands them to a [`rollout::Rollout`].
//!
//! Parts: [`rollout`] (one reconcile, the shared writes), [`replicasets`] (finding or
//! creating the new ReplicaSet), [`rolling`] and [`recreate`] (the strategies), [`scale`]
//! (proportional scaling), [`sync`] (pause and scale-only reconciles), [`history`]
//! (`revisionHistoryLimit`), [`status`] and [`conditions`] (what kubectl reads),
//! [`revision`] (the revision annotations), [`hash`] (`pod-template-hash`) and
//! [`fenceposts`] (`maxSurge`, `maxUnavailable`).

mod conditions;
mod fenceposts;
mod hash;
mod history;
mod recreate;
mod replicasets;
mod revision;
mod rolling;
mod rollout;
mod scale;
mod status;
mod sync;

use super::pods::ownership::{self, Claim, controller_of};
use super::pods::{self, is_deleting};
use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Change, Informer, key_of};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::events::{Involved, Recorder};
use skiff_model::selector::LabelSelector;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Deployments reconciled at once (Kubernetes' `--concurrent-deployment-syncs`).
pub const WORKERS: usize = 5;

/// What a reconcile of a Deployment can fail at; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A write to the API failed.
    #[error("cannot {action} for Deployment {deployment}: {message}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The Deployment's key.
        deployment: String,
        /// The API's answer.
        message: String,
    },
    /// A ReplicaSet was deleted and created again under the same name meanwhile.
    #[error("ReplicaSet {0} was replaced while being updated")]
    Replaced(String),
    /// The new ReplicaSet's name is taken by another ReplicaSet; `collisionCount` was
    /// raised so that the next attempt picks another.
    #[error("the pod template hash of Deployment {0} collides with another ReplicaSet")]
    HashCollision(String),
}

impl Error {
    fn api(action: &'static str, deployment: &str, error: &ApiError) -> Self {
        Self::Api {
            action,
            deployment: deployment.to_string(),
            message: error.message.clone(),
        }
    }
}

/// The Deployment controller, built and not yet running.
pub struct DeploymentController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

/// What the workers share.
struct Shared {
    deployments: Informer<Deployment>,
    replicasets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    client: Client,
    events: Recorder,
}

impl DeploymentController {
    /// Builds the controller, watching Deployments, ReplicaSets and pods.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let owners = Owners {
            deployments: informers.deployments.clone(),
            replicasets: informers.replicasets.clone(),
        };
        let pod_owners = owners.clone();
        let controller = Controller::new("deployment", WORKERS)
            .watches(&informers.deployments, |change| {
                let unchanged = change.old.zip(change.new).is_some_and(|(o, n)| {
                    o.metadata.resource_version == n.metadata.resource_version
                });
                (!unchanged).then(|| change.key.to_string())
            })
            .watches(&informers.replicasets, move |change| {
                owners.replicaset_changed(change)
            })
            .watches(&informers.pods, move |change| {
                pod_owners.pod_changed(change)
            });
        let shared = Arc::new(Shared {
            deployments: informers.deployments.clone(),
            replicasets: informers.replicasets.clone(),
            pods: informers.pods.clone(),
            client: ctx.client("deployment-controller"),
            events: ctx.events.component("deployment-controller"),
        });
        Self { controller, shared }
    }

    /// Reconciles Deployments until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

/// Turns ReplicaSet and pod changes into Deployment keys.
#[derive(Clone)]
struct Owners {
    deployments: Informer<Deployment>,
    replicasets: Informer<ReplicaSet>,
}

impl Owners {
    fn replicaset_changed(&self, change: &Change<'_, ReplicaSet>) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(old) = change.old {
            let new_ref = change.new.and_then(|n| controller_of(&n.metadata));
            if controller_of(&old.metadata) != new_ref {
                keys.extend(self.owner(&old.metadata));
            }
        }
        let rs = change.object();
        if controller_of(&rs.metadata).is_some() {
            keys.extend(self.owner(&rs.metadata));
            return keys;
        }
        let labels_changed = change
            .old
            .zip(change.new)
            .is_none_or(|(o, n)| o.metadata.labels != n.metadata.labels);
        if change.new.is_some() && labels_changed {
            keys.extend(self.selecting(&rs.metadata));
        }
        keys
    }

    fn pod_changed(&self, change: &Change<'_, Pod>) -> Option<String> {
        let pod = change.object();
        let r = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet")?;
        let rs = self
            .replicasets
            .get_named(pod.metadata.namespace.as_deref(), &r.name)?;
        if rs.metadata.uid.as_deref() == Some(r.uid.as_str()) {
            self.owner(&rs.metadata)
        } else {
            None
        }
    }

    /// The key of the Deployment controlling the object with `meta`, if it exists.
    fn owner(&self, meta: &ObjectMeta) -> Option<String> {
        let r = controller_of(meta).filter(|r| r.kind == "Deployment")?;
        let d = self
            .deployments
            .get_named(meta.namespace.as_deref(), &r.name)?;
        (d.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| key_of(&d.metadata))
    }

    /// The keys of every Deployment whose selector matches the orphan with `meta`.
    fn selecting(&self, meta: &ObjectMeta) -> Vec<String> {
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let mut keys = Vec::new();
        for d in self.deployments.list_namespace(namespace) {
            let Some(Ok(selector)) = d.spec.as_ref().map(|s| pods::selector(&s.selector)) else {
                continue;
            };
            if !selector.is_empty() && selector.matches(pods::labels(meta)) {
                keys.push(key_of(&d.metadata));
            }
        }
        keys
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(d) = self.deployments.get(key) else {
            return Ok(Action::await_change());
        };
        let d = (*d).clone();
        let spec_selector = d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let selector = match pods::selector(&spec_selector) {
            Ok(selector) if !selector.is_empty() => selector,
            Ok(_) => return self.selecting_everything(key, d).await,
            Err(e) => {
                tracing::warn!(deployment = %key, error = %e, "Deployment has an invalid selector; ignored");
                return Ok(Action::await_change());
            }
        };
        let rses = self.claim_replicasets(key, &d, &selector).await?;
        rollout::Rollout::new(self, key, d, rses).run().await
    }
}

impl Shared {
    /// A Deployment that selects every pod is not acted on (it would adopt everything);
    /// it is told so, and its generation counted as observed.
    async fn selecting_everything(&self, key: &str, d: Deployment) -> Result<Action, Error> {
        self.events.warning(
            Involved::of::<Deployment>(&d.metadata),
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        );
        let generation = d.metadata.generation;
        let observed = d.status.as_ref().and_then(|s| s.observed_generation);
        if observed >= generation {
            return Ok(Action::await_change());
        }
        let name = d.metadata.name.clone().unwrap_or_default();
        let result = self
            .client
            .update_status::<Deployment>(d.metadata.namespace.as_deref(), &name, |latest| {
                let status = latest.status.get_or_insert_with(Default::default);
                let changed = status.observed_generation != generation;
                status.observed_generation = generation;
                changed
            })
            .await;
        match result {
            Ok(_) => Ok(Action::await_change()),
            Err(e) if e.reason == "NotFound" => Ok(Action::await_change()),
            Err(e) => Err(Error::api("update the status", key, &e)),
        }
    }

    /// The ReplicaSets the Deployment controls, after adopting matching orphans and
    /// releasing those that no longer match.
    async fn claim_replicasets(
        &self,
        key: &str,
        d: &Deployment,
        selector: &LabelSelector,
    ) -> Result<Vec<ReplicaSet>, Error> {
        let namespace = d.metadata.namespace.as_deref().unwrap_or_default();
        let uid = d.metadata.uid.as_deref().unwrap_or_default();
        let mut owned = Vec::new();
        let mut may_adopt: Option<bool> = None;
        for rs in self.replicasets.list_namespace(namespace) {
            match ownership::claim(&d.metadata, selector, &rs.metadata) {
                Claim::Owned => owned.push((*rs).clone()),
                Claim::Ignore => {}
                Claim::Release => ownership::release::<ReplicaSet>(&self.client, &rs.metadata, uid)
                    .await
                    .map_err(|e| Error::api("release a ReplicaSet", key, &e))?,
                Claim::Adopt => {
                    if may_adopt.is_none() {
                        may_adopt = Some(self.still_current(d).await);
                    }
                    if may_adopt != Some(true) {
                        continue;
                    }
                    let reference = ownership::controller_ref::<Deployment>(&d.metadata);
                    let adopted = ownership::adopt::<ReplicaSet>(
                        &self.client,
                        &rs.metadata,
                        &reference,
                        selector,
                    )
                    .await
                    .map_err(|e| Error::api("adopt a ReplicaSet", key, &e))?;
                    owned.extend(adopted);
                }
            }
        }
        Ok(owned)
    }

    /// Whether the Deployment, read fresh, is still the one the informer has and is not
    /// being deleted.
    async fn still_current(&self, d: &Deployment) -> bool {
        let name = d.metadata.name.as_deref().unwrap_or_default();
        match self
            .client
            .get::<Deployment>(d.metadata.namespace.as_deref(), name)
            .await
        {
            Ok(fresh) => fresh.metadata.uid == d.metadata.uid && !is_deleting(&fresh.metadata),
            Err(_) => false,
        }
    }
}
