//! The Job controller (`batch/v1`, after Kubernetes' `pkg/controller/job`): runs a Job's
//! pods from its template until `completions` of them have succeeded, at most
//! `parallelism` at a time, and gives up past `backoffLimit` failures or
//! `activeDeadlineSeconds`; a finished Job is deleted `ttlSecondsAfterFinished` later.
//!
//! Pods are counted with Kubernetes' finalizer protocol, so that no success or failure is
//! lost when a pod is deleted (by a user, the pod GC or a namespace deletion) or the
//! controller restarts: every pod is created with the [`TRACKING_FINALIZER`]; a finished
//! pod's UID is first recorded in `status.uncountedTerminatedPods`, then its finalizer is
//! removed, and only then is it moved into `status.succeeded` or `status.failed`.
//!
//! Parts:
//! - `sync`: one reconcile of one Job, the steps above in order;
//! - `manage`: how many pods should run, and which to create or delete;
//! - `writes`: creating and deleting pods, and removing their finalizer;
//! - `pods`: pods from the template, and the predicates pods are counted by;
//! - `conditions`: `Complete`/`SuccessCriteriaMet`, `Failed`/`FailureTarget`, `Suspended`;
//! - `indexes`: completion indexes of `Indexed` Jobs and their `"1-3,5"` notation;
//! - `backoff`: the delay before replacing failed pods;
//! - `expectations`: the writes a Job's next reconcile must see in the informers;
//! - `ttl`: deleting finished Jobs after `ttlSecondsAfterFinished`;
//! - `orphans`: releasing pods whose Job is gone;
//! - `error`: what a reconcile can fail with.

mod backoff;
mod conditions;
mod error;
mod expectations;
mod indexes;
mod manage;
mod orphans;
mod pods;
mod sync;
mod ttl;
mod writes;

pub use error::Error;
pub use pods::{COMPLETION_INDEX, TRACKING_FINALIZER};

use crate::client::Client;
use crate::events::Recorder;
use crate::informer::{Informer, key_of};
use crate::manager::Context;
use crate::workqueue::{self, WorkQueue};
use backoff::Backoffs;
use expectations::Expectations;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Jobs reconciled at once (Kubernetes' `--concurrent-job-syncs`, 5 there too).
pub const WORKERS: usize = 5;

/// The name the controller writes and records events as.
const COMPONENT: &str = "job-controller";

/// The Job controller.
pub struct JobController {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Informer<Job>,
    pods: Informer<Pod>,
    client: Client,
    events: Recorder,
    queue: WorkQueue<String>,
    orphans: WorkQueue<String>,
    backoffs: Backoffs,
    expectations: Expectations,
}

impl JobController {
    /// Builds the controller, subscribing to Jobs and pods.
    pub fn new(ctx: &Context) -> Self {
        let inner = Arc::new(Inner {
            jobs: ctx.informers.jobs.clone(),
            pods: ctx.informers.pods.clone(),
            client: ctx.client(COMPONENT),
            events: ctx.events.component(COMPONENT),
            queue: WorkQueue::new(),
            orphans: WorkQueue::new(),
            backoffs: Backoffs::default(),
            expectations: Expectations::default(),
        });
        let queue = inner.queue.clone();
        inner
            .jobs
            .subscribe(move |change| queue.add(change.key.to_string()));
        let queue = inner.queue.clone();
        let orphans = inner.orphans.clone();
        let jobs = inner.jobs.clone();
        inner.pods.subscribe(move |change| {
            for pod in [change.old, change.new].into_iter().flatten() {
                if let Some(job) = pods::job_key(pod) {
                    queue.add(job);
                }
            }
            if let Some(pod) = change.new
                && pods::is_tracked(pod)
                && !pods::job_known(pod, &jobs)
            {
                orphans.add(change.key.to_string());
            }
        });
        Self { inner }
    }

    /// Reconciles Jobs (and releases orphaned pods) until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let inner = self.inner.clone();
        let jobs = workqueue::run(
            "job",
            inner.queue.clone(),
            WORKERS,
            shutdown.clone(),
            move |key: String| {
                let inner = inner.clone();
                async move { inner.sync(&key).await }
            },
        );
        let inner = self.inner.clone();
        let orphans = workqueue::run(
            "job-orphans",
            inner.orphans.clone(),
            1,
            shutdown,
            move |key: String| {
                let inner = inner.clone();
                async move { inner.release_orphan(&key).await }
            },
        );
        tokio::join!(jobs, orphans);
    }
}

impl Inner {
    /// The informer key of `job`.
    fn key(job: &Job) -> String {
        key_of(&job.metadata)
    }
}
