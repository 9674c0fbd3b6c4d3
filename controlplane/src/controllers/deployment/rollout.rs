//! [`Rollout`]: one reconcile of one Deployment — the Deployment, its ReplicaSets (oldest
//! first), which of them is the new one, and the pods of each — with the writes every
//! strategy shares: sizing a ReplicaSet (with its `ScalingReplicaSet` event) and writing
//! the status. Kubernetes' `syncDeployment` is [`Rollout::run`].
//!
//! Pods are counted from the pod informer rather than read from the ReplicaSets' status,
//! which lags behind by one ReplicaSet reconcile. For decisions, a ReplicaSet counts at
//! most `spec.replicas` available pods: the pods above that are about to be deleted.

use super::status::{self, Totals};
use super::{Error, Shared, conditions, fenceposts, revision};
use crate::controllers::pods::{self, ownership::is_controlled_by};
use crate::machinery::controller::Action;
use crate::machinery::informers::BY_OWNER;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use skiff_model::events::Involved;
use std::collections::HashMap;
use std::time::Duration;

/// How long a write waits for the informer to show it, so that the next reconcile reads
/// its own writes. In-process this takes milliseconds; past it, the reconcile goes on.
const READ_YOUR_WRITES: Duration = Duration::from_secs(5);

/// The pods of one ReplicaSet.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PodCounts {
    /// Active pods (neither terminated nor being deleted).
    pub(super) active: i32,
    /// Ready active pods.
    pub(super) ready: i32,
    /// Available active pods.
    pub(super) available: i32,
    /// Pods not terminated, those being deleted included.
    pub(super) present: i32,
    /// How long until the next ready pod becomes available.
    pub(super) next_available: Option<Duration>,
}

/// One reconcile of one Deployment.
pub(super) struct Rollout<'a> {
    pub(super) shared: &'a Shared,
    pub(super) key: &'a str,
    /// The Deployment, as last read or written.
    pub(super) d: Deployment,
    /// Its ReplicaSets, oldest first, as last read or written.
    pub(super) rses: Vec<ReplicaSet>,
    /// Which of `rses` is the new one (of the current template), once known.
    pub(super) new: Option<usize>,
    counts: HashMap<String, PodCounts>,
}

/// A ReplicaSet's `spec.replicas`.
pub(super) fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn uid(rs: &ReplicaSet) -> &str {
    rs.metadata.uid.as_deref().unwrap_or_default()
}

impl<'a> Rollout<'a> {
    /// The Deployment `d` with its claimed ReplicaSets `rses`, their pods counted now.
    pub(super) fn new(
        shared: &'a Shared,
        key: &'a str,
        d: Deployment,
        mut rses: Vec<ReplicaSet>,
    ) -> Self {
        rses.sort_by(|a, b| {
            let at = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
            at(a)
                .cmp(&at(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let now = skiff_model::time::now();
        let min_ready = d
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        let mut counts = HashMap::new();
        for rs in &rses {
            let mut c = PodCounts::default();
            for pod in shared.pods.indexed(BY_OWNER, uid(rs)) {
                if !is_controlled_by(&pod.metadata, uid(rs)) || pods::is_terminal(&pod) {
                    continue;
                }
                c.present += 1;
                if !pods::is_active(&pod) {
                    continue;
                }
                c.active += 1;
                if pods::is_ready(&pod) {
                    c.ready += 1;
                }
                match pods::available_in(&pod, min_ready, now) {
                    Some(Duration::ZERO) => c.available += 1,
                    Some(wait) => {
                        c.next_available = Some(c.next_available.map_or(wait, |w| w.min(wait)))
                    }
                    None => {}
                }
            }
            counts.insert(uid(rs).to_string(), c);
        }
        Self {
            shared,
            key,
            d,
            rses,
            new: None,
            counts,
        }
    }

    /// Reconciles: reports only while being deleted; records pausing; while paused or
    /// when only `replicas` changed, scales; otherwise rolls out by the strategy.
    pub(super) async fn run(mut self) -> Result<Action, Error> {
        if pods::is_deleting(&self.d.metadata) {
            self.sync_new_replica_set(false).await?;
            return self.sync_status().await;
        }
        self.check_paused_conditions().await?;
        if self.is_paused() {
            return self.sync().await;
        }
        if self.is_scaling_event().await? {
            return self.sync().await;
        }
        if fenceposts::is_rolling(&self.d) {
            self.rolling().await
        } else {
            self.recreate().await
        }
    }

    /// Whether the Deployment is paused.
    pub(super) fn is_paused(&self) -> bool {
        self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
    }

    /// The Deployment's `replicas`.
    pub(super) fn replicas(&self) -> i32 {
        fenceposts::replicas(&self.d)
    }

    /// The pods of `rs`.
    pub(super) fn counts(&self, rs: &ReplicaSet) -> PodCounts {
        self.counts.get(uid(rs)).copied().unwrap_or_default()
    }

    /// The available pods of `rs` that it keeps: at most its `spec.replicas`.
    pub(super) fn available(&self, rs: &ReplicaSet) -> i32 {
        self.counts(rs).available.min(spec_replicas(rs))
    }

    /// Indexes of the old ReplicaSets (every one but the new), oldest first.
    pub(super) fn old(&self) -> Vec<usize> {
        (0..self.rses.len())
            .filter(|i| Some(*i) != self.new)
            .collect()
    }

    /// Indexes of the old ReplicaSets with replicas, oldest first.
    pub(super) fn active_old(&self) -> Vec<usize> {
        self.old()
            .into_iter()
            .filter(|i| spec_replicas(&self.rses[*i]) > 0)
            .collect()
    }

    /// The sum of `spec.replicas` over every ReplicaSet.
    pub(super) fn total_spec(&self) -> i32 {
        self.rses.iter().map(spec_replicas).sum()
    }

    /// The desired and maximum replicas the ReplicaSets are annotated with.
    pub(super) fn replicas_annotations(&self) -> (i32, i32) {
        let replicas = self.replicas();
        (replicas, replicas + fenceposts::max_surge(&self.d))
    }

    /// Sets `rs`'s replicas to `to` (and its replicas annotations); records a
    /// `ScalingReplicaSet` event if the size changed. Returns whether it did.
    pub(super) async fn scale_to(&mut self, index: usize, to: i32) -> Result<bool, Error> {
        let rs = &self.rses[index];
        let from = spec_replicas(rs);
        let (desired, max) = self.replicas_annotations();
        if from == to && !revision::replicas_annotations_differ(&rs.metadata, desired, max) {
            return Ok(false);
        }
        let expected = rs.metadata.uid.clone();
        let name = rs.metadata.name.clone().unwrap_or_default();
        let updated = self
            .shared
            .client
            .update::<ReplicaSet>(rs.metadata.namespace.as_deref(), &name, |latest| {
                if latest.metadata.uid != expected {
                    return false;
                }
                let spec = latest.spec.get_or_insert_with(Default::default);
                let resized = spec.replicas != Some(to);
                spec.replicas = Some(to);
                let annotated =
                    revision::set_replicas_annotations(&mut latest.metadata, desired, max);
                resized || annotated
            })
            .await
            .map_err(|e| Error::api("scale a ReplicaSet", self.key, &e))?;
        if updated.metadata.uid != expected {
            return Err(Error::Replaced(name));
        }
        self.settle(&updated).await;
        self.rses[index] = updated;
        if from == to {
            return Ok(false);
        }
        let direction = if from < to { "up" } else { "down" };
        self.shared.events.normal(
            Involved::of::<Deployment>(&self.d.metadata),
            "ScalingReplicaSet",
            format!("Scaled {direction} replica set {name} from {from} to {to}"),
        );
        Ok(true)
    }

    /// Waits until the ReplicaSet informer shows `written`.
    pub(super) async fn settle(&self, written: &ReplicaSet) {
        let revision = written
            .metadata
            .resource_version
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        self.shared
            .replicasets
            .wait_for_revision(revision, READ_YOUR_WRITES)
            .await;
    }

    /// The pods of every ReplicaSet, summed.
    pub(super) fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for (i, rs) in self.rses.iter().enumerate() {
            let c = self.counts(rs);
            totals.desired += spec_replicas(rs);
            totals.replicas += c.active;
            totals.ready += c.ready;
            totals.available += c.available;
            if Some(i) == self.new {
                totals.updated = c.active;
            }
        }
        totals
    }

    /// The soonest a ready pod becomes available.
    fn next_available(&self) -> Option<Duration> {
        self.rses
            .iter()
            .filter_map(|rs| self.counts(rs).next_available)
            .min()
    }

    /// Writes the status with the counts, without judging progress (Kubernetes'
    /// `syncDeploymentStatus`).
    pub(super) async fn sync_status(&mut self) -> Result<Action, Error> {
        let next = status::calculate(&self.d, &self.totals(), skiff_model::time::now_seconds());
        self.write_status(next).await?;
        Ok(self
            .next_available()
            .map_or_else(Action::await_change, Action::requeue))
    }

    /// Writes the status with the counts and the rollout's progress (Kubernetes'
    /// `syncRolloutStatus`); looks again when the deadline may pass or a pod becomes
    /// available.
    pub(super) async fn sync_rollout_status(&mut self) -> Result<Action, Error> {
        let now = skiff_model::time::now_seconds();
        let new_name = self.new.and_then(|i| self.rses[i].metadata.name.clone());
        let next = status::with_progress(
            &self.d,
            status::calculate(&self.d, &self.totals(), now),
            new_name.as_deref(),
            self.replica_failure(),
            now,
        );
        let check = status::deadline_check(&self.d, &next, now);
        self.write_status(next).await?;
        let next = [check, self.next_available()].into_iter().flatten().min();
        Ok(next.map_or_else(Action::await_change, Action::requeue))
    }

    /// The `ReplicaFailure` of the new ReplicaSet, or else of any.
    fn replica_failure(&self) -> Option<k8s_openapi::api::apps::v1::DeploymentCondition> {
        let failure = |rs: &ReplicaSet| {
            rs.status
                .as_ref()?
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == conditions::REPLICA_FAILURE)
                .map(conditions::from_replica_set)
        };
        self.new
            .and_then(|i| failure(&self.rses[i]))
            .or_else(|| self.rses.iter().find_map(failure))
    }

    /// Writes `next` as the status unless it is already the status.
    pub(super) async fn write_status(&mut self, next: DeploymentStatus) -> Result<(), Error> {
        if self.d.status.as_ref() == Some(&next) {
            return Ok(());
        }
        let expected = self.d.metadata.uid.clone();
        let name = self.d.metadata.name.clone().unwrap_or_default();
        let written = self
            .shared
            .client
            .update_status::<Deployment>(self.d.metadata.namespace.as_deref(), &name, |latest| {
                if latest.metadata.uid != expected || latest.status.as_ref() == Some(&next) {
                    return false;
                }
                latest.status = Some(next.clone());
                true
            })
            .await;
        match written {
            Ok(d) if d.metadata.uid == expected => {
                self.d.status = d.status;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(e) => Err(Error::api("update the status", self.key, &e)),
        }
    }

    /// Sets the Deployment's revision annotation to `revision`, if it differs.
    pub(super) async fn write_revision(&mut self, revision: &str) -> Result<(), Error> {
        let mut meta = self.d.metadata.clone();
        if !revision::set_deployment_revision(&mut meta, revision) {
            return Ok(());
        }
        let expected = self.d.metadata.uid.clone();
        let name = meta.name.clone().unwrap_or_default();
        let written = self
            .shared
            .client
            .update::<Deployment>(meta.namespace.as_deref(), &name, |latest| {
                latest.metadata.uid == expected
                    && revision::set_deployment_revision(&mut latest.metadata, revision)
            })
            .await;
        match written {
            Ok(d) if d.metadata.uid == expected => {
                self.d.metadata.annotations = d.metadata.annotations;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(e) => Err(Error::api("record the revision", self.key, &e)),
        }
    }
}
