//! The ReplicaSet controller: keeps `spec.replicas` active pods of each ReplicaSet's
//! template, as Kubernetes' `pkg/controller/replicaset` does.
//!
//! Level-triggered: the key is the ReplicaSet's `namespace/name`, queued whenever the
//! ReplicaSet or one of its pods changes (or an orphan pod its selector matches). A
//! reconcile claims the pods (adopting matching orphans, releasing owned pods that no
//! longer match), creates or deletes pods to reach `replicas` unless earlier creations and
//! deletions are still unseen ([`Expectations`]), and writes the status.
//!
//! Parts: [`manage`] creates (in concurrent slow-start batches) and deletes (by
//! [`ranking`](super::pods::ranking)) pods; [`status`] counts them.

mod manage;
mod status;

use super::pods::expectations::{EXPECTATIONS_TIMEOUT, Expectations};
use super::pods::ownership::{self, Claim, controller_of};
use super::pods::{self, is_active, is_deleting};
use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Change, Informer, key_of, split_key};
use crate::machinery::informers::{BY_OWNER, ORPHANS};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::Recorder;
use skiff_model::selector::LabelSelector;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// ReplicaSets reconciled at once (Kubernetes' `--concurrent-replicaset-syncs`).
pub const WORKERS: usize = 5;

/// What a reconcile of a ReplicaSet can fail at; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ReplicaSet has no pod template to create pods from.
    #[error("ReplicaSet {0} has no pod template")]
    NoTemplate(String),
    /// A write to the API failed.
    #[error("cannot {action} for ReplicaSet {replicaset}: {message}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The ReplicaSet's key.
        replicaset: String,
        /// The API's answer.
        message: String,
    },
}

impl Error {
    fn api(action: &'static str, replicaset: &str, error: &ApiError) -> Self {
        Self::Api {
            action,
            replicaset: replicaset.to_string(),
            message: error.message.clone(),
        }
    }
}

/// The ReplicaSet controller, built and not yet running.
pub struct ReplicaSetController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

/// What the workers share.
struct Shared {
    replicasets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    client: Client,
    events: Recorder,
    expectations: Expectations,
}

impl ReplicaSetController {
    /// Builds the controller, watching ReplicaSets and pods.
    pub fn new(ctx: &Context) -> Self {
        Self::with_expectations_timeout(ctx, EXPECTATIONS_TIMEOUT)
    }

    /// Builds the controller with expectations that expire after `timeout`.
    pub fn with_expectations_timeout(ctx: &Context, timeout: Duration) -> Self {
        let expectations = Expectations::new(timeout);
        let forget = expectations.clone();
        let handler = PodHandler {
            replicasets: ctx.informers.replicasets.clone(),
            expectations: expectations.clone(),
        };
        let controller = Controller::new("replicaset", WORKERS)
            .watches(&ctx.informers.replicasets, move |change| {
                if change.new.is_none() {
                    forget.forget(change.key);
                }
                Some(change.key.to_string())
            })
            .watches(&ctx.informers.pods, move |change| handler.changed(change));
        let shared = Arc::new(Shared {
            replicasets: ctx.informers.replicasets.clone(),
            pods: ctx.informers.pods.clone(),
            client: ctx.client("replicaset-controller"),
            events: ctx.events.component("replicaset-controller"),
            expectations,
        });
        Self { controller, shared }
    }

    /// Reconciles ReplicaSets until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

/// Turns pod changes into ReplicaSet keys, and ticks off expectations.
struct PodHandler {
    replicasets: Informer<ReplicaSet>,
    expectations: Expectations,
}

impl PodHandler {
    fn changed(&self, change: &Change<'_, Pod>) -> Vec<String> {
        let mut keys = Vec::new();
        match (change.old, change.new) {
            (None, Some(new)) => {
                if is_deleting(&new.metadata) {
                    self.deleted(change.key, new, &mut keys);
                } else if controller_of(&new.metadata).is_some() {
                    if let Some(owner) = self.owner(new) {
                        self.expectations.creation_observed(&owner);
                        keys.push(owner);
                    }
                } else {
                    self.selecting(new, &mut keys);
                }
            }
            (Some(old), Some(new)) => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return keys;
                }
                let labels_changed = old.metadata.labels != new.metadata.labels;
                if is_deleting(&new.metadata) {
                    self.deleted(change.key, new, &mut keys);
                    if labels_changed {
                        self.deleted(change.key, old, &mut keys);
                    }
                    return keys;
                }
                let old_ref = controller_of(&old.metadata);
                let new_ref = controller_of(&new.metadata);
                let ref_changed = old_ref != new_ref;
                if ref_changed && let Some(owner) = self.owner(old) {
                    keys.push(owner);
                }
                if new_ref.is_some() {
                    keys.extend(self.owner(new));
                    return keys;
                }
                if labels_changed || ref_changed {
                    self.selecting(new, &mut keys);
                }
            }
            (Some(old), None) => self.deleted(change.key, old, &mut keys),
            (None, None) => {}
        }
        keys
    }

    /// A pod is being deleted or is gone: its owner has seen that deletion.
    fn deleted(&self, pod_key: &str, pod: &Pod, keys: &mut Vec<String>) {
        if let Some(owner) = self.owner(pod) {
            self.expectations.deletion_observed(&owner, pod_key);
            keys.push(owner);
        }
    }

    /// The key of the ReplicaSet controlling `pod`, if it exists.
    fn owner(&self, pod: &Pod) -> Option<String> {
        let r = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet")?;
        let rs = self
            .replicasets
            .get_named(pod.metadata.namespace.as_deref(), &r.name)?;
        (rs.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| key_of(&rs.metadata))
    }

    /// Adds the key of every ReplicaSet whose selector matches the orphan `pod`.
    fn selecting(&self, pod: &Pod, keys: &mut Vec<String>) {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        for rs in self.replicasets.list_namespace(namespace) {
            let Some(Ok(selector)) = rs.spec.as_ref().map(|s| pods::selector(&s.selector)) else {
                continue;
            };
            if !selector.is_empty() && selector.matches(pods::labels(&pod.metadata)) {
                keys.push(key_of(&rs.metadata));
            }
        }
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(rs) = self.replicasets.get(key) else {
            self.expectations.forget(key);
            return Ok(Action::await_change());
        };
        let spec = rs.spec.clone().unwrap_or_default();
        let selector = match pods::selector(&spec.selector) {
            Ok(selector) if !selector.is_empty() => selector,
            Ok(_) => {
                tracing::warn!(replicaset = %key, "ReplicaSet selects every pod; ignored");
                return Ok(Action::await_change());
            }
            Err(e) => {
                tracing::warn!(replicaset = %key, error = %e, "ReplicaSet has an invalid selector; ignored");
                return Ok(Action::await_change());
            }
        };
        let waiting = self.expectations.pending(key);
        let pods = self.claim_pods(key, &rs, &selector).await?;
        let managed = if waiting.is_none() && !is_deleting(&rs.metadata) {
            self.manage(key, &rs, &pods).await
        } else {
            Ok(())
        };
        let counts = status::Counts::of(&rs, &pods, skiff_model::time::now());
        self.write_status(key, &rs, &counts, &pods, managed.as_ref().err())
            .await?;
        managed?;
        // Look again when expectations expire, or when a ready pod becomes available.
        let next = [waiting, counts.next_available].into_iter().flatten().min();
        Ok(next.map_or_else(Action::await_change, Action::requeue))
    }
}

impl Shared {
    /// The active pods the ReplicaSet owns, after adopting matching orphans and releasing
    /// owned pods that no longer match.
    async fn claim_pods(
        &self,
        key: &str,
        rs: &ReplicaSet,
        selector: &LabelSelector,
    ) -> Result<Vec<Arc<Pod>>, Error> {
        let namespace = rs.metadata.namespace.as_deref().unwrap_or_default();
        let uid = rs.metadata.uid.as_deref().unwrap_or_default();
        let mut owned = Vec::new();
        let mut may_adopt: Option<bool> = None;
        // Only its own pods and orphans can be claimed (pods of other controllers are
        // ignored), so those are all it looks at, however many pods the namespace has.
        let mut candidates = self.pods.indexed(BY_OWNER, uid);
        let orphans = self.pods.indexed(ORPHANS, namespace);
        if !orphans.is_empty() {
            // A pod may be under both (an owner reference that is not its controller).
            let owned: HashSet<String> = candidates
                .iter()
                .filter_map(|pod| pod.metadata.uid.clone())
                .collect();
            candidates.extend(
                orphans
                    .into_iter()
                    .filter(|pod| !pod.metadata.uid.as_ref().is_some_and(|u| owned.contains(u))),
            );
        }
        for pod in candidates {
            if !is_active(&pod) {
                continue;
            }
            match ownership::claim(&rs.metadata, selector, &pod.metadata) {
                Claim::Owned => owned.push(pod),
                Claim::Ignore => {}
                Claim::Release => ownership::release::<Pod>(&self.client, &pod.metadata, uid)
                    .await
                    .map_err(|e| Error::api("release a pod", key, &e))?,
                Claim::Adopt => {
                    if may_adopt.is_none() {
                        may_adopt = Some(self.still_current(rs).await);
                    }
                    if may_adopt != Some(true) {
                        continue;
                    }
                    let reference = ownership::controller_ref::<ReplicaSet>(&rs.metadata);
                    let adopted =
                        ownership::adopt::<Pod>(&self.client, &pod.metadata, &reference, selector)
                            .await
                            .map_err(|e| Error::api("adopt a pod", key, &e))?;
                    owned.extend(adopted.map(Arc::new));
                }
            }
        }
        Ok(owned)
    }

    /// Whether the ReplicaSet, read fresh, is still the one the informer has and is not
    /// being deleted: adoption must not act on a stale view of its owner.
    async fn still_current(&self, rs: &ReplicaSet) -> bool {
        let name = rs.metadata.name.as_deref().unwrap_or_default();
        match self
            .client
            .get::<ReplicaSet>(rs.metadata.namespace.as_deref(), name)
            .await
        {
            Ok(fresh) => fresh.metadata.uid == rs.metadata.uid && !is_deleting(&fresh.metadata),
            Err(_) => false,
        }
    }

    async fn write_status(
        &self,
        key: &str,
        rs: &ReplicaSet,
        counts: &status::Counts,
        pods: &[Arc<Pod>],
        failure: Option<&Error>,
    ) -> Result<(), Error> {
        let (namespace, name) = split_key(key);
        let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let failure = failure.map(|e| {
            let reason = if (pods.len() as i32) < want {
                "FailedCreate"
            } else {
                "FailedDelete"
            };
            (reason, e.to_string())
        });
        let result = self
            .client
            .update_status::<ReplicaSet>(namespace, name, |latest| {
                if latest.metadata.uid != rs.metadata.uid {
                    return false;
                }
                let next = status::next(
                    latest.status.as_ref(),
                    rs.metadata.generation,
                    counts,
                    failure.as_ref(),
                );
                if latest.status.as_ref() == Some(&next) {
                    return false;
                }
                latest.status = Some(next);
                true
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(e) => Err(Error::api("update the status", key, &e)),
        }
    }
}
