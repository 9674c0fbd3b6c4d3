//! The reconciles that only size and report (Kubernetes' `sync` and
//! `checkPausedConditions`): a paused Deployment, or one whose `replicas` changed, has
//! its ReplicaSets scaled but no rollout step taken; pausing and resuming are recorded in
//! the `Progressing` condition (`DeploymentPaused`, `DeploymentResumed`).

use super::rollout::Rollout;
use super::status::has_progress_deadline;
use super::{Error, conditions};
use crate::machinery::controller::Action;

impl Rollout<'_> {
    /// Records a pause or a resume in the `Progressing` condition (unless the rollout
    /// already timed out).
    pub(super) async fn check_paused_conditions(&mut self) -> Result<(), Error> {
        if !has_progress_deadline(&self.d) {
            return Ok(());
        }
        let mut status = self.d.status.clone().unwrap_or_default();
        let reason =
            conditions::get(&status, conditions::PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(conditions::TIMED_OUT) {
            return Ok(());
        }
        let recorded = reason.as_deref() == Some(conditions::PAUSED);
        let (reason, message) = match (self.is_paused(), recorded) {
            (true, false) => (conditions::PAUSED, "Deployment is paused"),
            (false, true) => (conditions::RESUMED, "Deployment is resumed"),
            _ => return Ok(()),
        };
        let c = conditions::condition(
            conditions::PROGRESSING,
            "Unknown",
            reason,
            message,
            skiff_model::time::now_seconds(),
        );
        conditions::set(&mut status, c);
        self.write_status(status).await
    }

    /// Scales the ReplicaSets to `replicas` without rolling; while paused, also prunes
    /// the history.
    pub(super) async fn sync(&mut self) -> Result<Action, Error> {
        self.sync_new_replica_set(false).await?;
        self.scale().await?;
        if self.is_paused() {
            self.prune_history().await?;
        }
        self.sync_status().await
    }
}
