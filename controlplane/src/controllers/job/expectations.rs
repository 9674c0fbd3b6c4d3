//! [`Expectations`]: the revisions of a Job's own writes (its status, its pods' creations,
//! deletions and finalizer removals) that the informers must show before the Job is
//! reconciled again. Acting on an informer that lags behind those writes would create
//! pods twice or count a finished pod twice; client-go's controllers keep "expectations"
//! for the same reason.

use super::Error;
use crate::machinery::informer::{Informer, Object};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long a reconcile waits for the informers to catch up before failing (and being
/// retried).
pub const CATCH_UP: Duration = Duration::from_secs(10);

/// Revisions to wait for, by Job key.
#[derive(Default)]
pub(super) struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
}

#[derive(Default, Clone, Copy)]
struct Pending {
    jobs: u64,
    pods: u64,
}

/// The revision an object was written at (0 if unknown).
pub(super) fn revision_of(object: &impl Object) -> u64 {
    object
        .metadata()
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

impl Expectations {
    /// The Job `key` wrote itself at `revision`.
    pub(super) fn job_written(&self, key: &str, revision: u64) {
        let mut pending = self.lock();
        let entry = pending.entry(key.to_string()).or_default();
        entry.jobs = entry.jobs.max(revision);
    }

    /// The Job `key` wrote one of its pods at `revision`.
    pub(super) fn pod_written(&self, key: &str, revision: u64) {
        let mut pending = self.lock();
        let entry = pending.entry(key.to_string()).or_default();
        entry.pods = entry.pods.max(revision);
    }

    /// Waits until the informers show every write recorded for `key`.
    pub(super) async fn wait(
        &self,
        key: &str,
        jobs: &Informer<Job>,
        pods: &Informer<Pod>,
    ) -> Result<(), Error> {
        let Some(pending) = self.lock().get(key).copied() else {
            return Ok(());
        };
        if !jobs.wait_for_revision(pending.jobs, CATCH_UP).await {
            return Err(Error::Lagging {
                informer: "jobs",
                revision: pending.jobs,
            });
        }
        if !pods.wait_for_revision(pending.pods, CATCH_UP).await {
            return Err(Error::Lagging {
                informer: "pods",
                revision: pending.pods,
            });
        }
        let mut all = self.lock();
        if all
            .get(key)
            .is_some_and(|p| p.jobs <= pending.jobs && p.pods <= pending.pods)
        {
            all.remove(key);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
