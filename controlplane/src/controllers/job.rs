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

use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, key_of};
use crate::machinery::workqueue::WorkQueue;
use backoff::Backoffs;
use expectations::Expectations;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::Recorder;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Jobs reconciled at once (Kubernetes' `--concurrent-job-syncs`, 5 there too).
pub const WORKERS: usize = 5;

/// The name the controller writes and records events as.
const COMPONENT: &str = "job-controller";

/// The Job controller.
pub struct JobController {
    jobs: Controller<String>,
    orphans: Controller<String>,
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Informer<Job>,
    pods: Informer<Pod>,
    client: Client,
    events: Recorder,
    /// The Job queue, for an orphan whose Job turns out to exist.
    queue: WorkQueue<String>,
    backoffs: Backoffs,
    expectations: Expectations,
}

/// The pods whose Job may be gone, released by their own queue.
struct Orphans(Arc<Inner>);

impl JobController {
    /// Builds the controller, watching Jobs and pods.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let jobs = Controller::new("job", WORKERS)
            .watches(&informers.jobs, |change| Some(change.key.to_string()))
            .watches(&informers.pods, |change| {
                [change.old, change.new]
                    .into_iter()
                    .flatten()
                    .filter_map(pods::job_key)
                    .collect::<Vec<_>>()
            });
        let known = informers.jobs.clone();
        let orphans = Controller::new("job-orphans", 1).watches(&informers.pods, move |change| {
            change
                .new
                .filter(|pod| pods::is_tracked(pod) && !pods::job_known(pod, &known))
                .map(|_| change.key.to_string())
        });
        let inner = Arc::new(Inner {
            jobs: informers.jobs.clone(),
            pods: informers.pods.clone(),
            client: ctx.client(COMPONENT),
            events: ctx.events.component(COMPONENT),
            queue: jobs.queue(),
            backoffs: Backoffs::default(),
            expectations: Expectations::default(),
        });
        Self {
            jobs,
            orphans,
            inner,
        }
    }

    /// Reconciles Jobs (and releases orphaned pods) until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let jobs = self.jobs.run(self.inner.clone(), shutdown.clone());
        let orphans = self.orphans.run(Arc::new(Orphans(self.inner)), shutdown);
        tokio::join!(jobs, orphans);
    }
}

impl Reconciler for Inner {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        self.sync(key).await
    }
}

impl Reconciler for Orphans {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        self.0.release_orphan(key).await
    }
}

impl Inner {
    /// The informer key of `job`.
    fn key(job: &Job) -> String {
        key_of(&job.metadata)
    }
}
