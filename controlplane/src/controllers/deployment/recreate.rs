//! The `Recreate` strategy (Kubernetes' `rolloutRecreate`): every old ReplicaSet goes to
//! zero, and only once none of their pods is left — terminating ones included — is the
//! new ReplicaSet created (or grown) to `replicas`. Old and new pods never run together.

use super::rollout::{Rollout, spec_replicas};
use super::{Error, status};
use crate::machinery::controller::Action;

impl Rollout<'_> {
    /// One step of a recreate rollout.
    pub(super) async fn recreate(&mut self) -> Result<Action, Error> {
        // Not created yet: nothing new may start before the old pods are gone.
        self.sync_new_replica_set(false).await?;
        let mut scaled = false;
        for index in self.active_old() {
            scaled |= self.scale_to(index, 0).await?;
        }
        if scaled || self.old_pods_running() {
            return self.sync_rollout_status().await;
        }
        if self.new.is_none() {
            self.sync_new_replica_set(true).await?;
        }
        if let Some(index) = self.new
            && spec_replicas(&self.rses[index]) != self.replicas()
        {
            let replicas = self.replicas();
            self.scale_to(index, replicas).await?;
        }
        let complete = self
            .d
            .status
            .as_ref()
            .is_some_and(|s| status::is_complete(&self.d, s));
        if complete {
            self.prune_history().await?;
        }
        self.sync_rollout_status().await
    }

    /// Whether any old ReplicaSet still has a pod that has not terminated.
    fn old_pods_running(&self) -> bool {
        self.old()
            .into_iter()
            .any(|i| self.counts(&self.rses[i]).present > 0)
    }
}
