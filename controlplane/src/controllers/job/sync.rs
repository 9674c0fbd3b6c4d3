//! One reconcile of one Job, in Kubernetes' order:
//!
//! 1. wait until the informers show the Job's own earlier writes (`expectations`);
//! 2. note the pods that finished since the last reconcile (still carrying the tracking
//!    finalizer, not yet in `uncountedTerminatedPods`);
//! 3. decide whether the Job is done: past its `backoffLimit` or `activeDeadlineSeconds`
//!    (`FailureTarget`), or with enough completions (`SuccessCriteriaMet`);
//! 4. create or delete pods (`manage`): none while suspended or done;
//! 5. write the status with the newly finished pods in `uncountedTerminatedPods`;
//! 6. remove those pods' finalizers, then move them into `succeeded`/`failed`, and once
//!    every pod is accounted for, set `Complete` or `Failed`; write the status again.

use super::conditions::{self, Finish, SUSPENDED};
use super::manage::{self, is_indexed};
use super::pods::{self, Outcome};
use super::{Error, Inner, indexes};
use crate::machinery::controller::Action;
use crate::machinery::informers::BY_OWNER;
use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use skiff_model::events::Involved;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Reason and message of a Job past its `backoffLimit`.
const BACKOFF_LIMIT_EXCEEDED: (&str, &str) = (
    "BackoffLimitExceeded",
    "Job has reached the specified backoff limit",
);
/// Reason and message of a Job past its `activeDeadlineSeconds`.
const DEADLINE_EXCEEDED: (&str, &str) = (
    "DeadlineExceeded",
    "Job was active longer than specified deadline",
);

/// The UIDs of finished pods not yet in the counts.
#[derive(Debug, Default, Clone)]
struct Uncounted {
    succeeded: BTreeSet<String>,
    failed: BTreeSet<String>,
}

impl Uncounted {
    fn of(status: &JobStatus) -> Self {
        let set = |list: Option<&Vec<String>>| list.into_iter().flatten().cloned().collect();
        let uncounted = status.uncounted_terminated_pods.as_ref();
        Self {
            succeeded: set(uncounted.and_then(|u| u.succeeded.as_ref())),
            failed: set(uncounted.and_then(|u| u.failed.as_ref())),
        }
    }

    fn contains(&self, uid: &str) -> bool {
        self.succeeded.contains(uid) || self.failed.contains(uid)
    }

    fn is_empty(&self) -> bool {
        self.succeeded.is_empty() && self.failed.is_empty()
    }

    fn to_status(&self) -> UncountedTerminatedPods {
        let list = |set: &BTreeSet<String>| {
            Some(set.iter().cloned().collect()).filter(|l: &Vec<_>| !l.is_empty())
        };
        UncountedTerminatedPods {
            succeeded: list(&self.succeeded),
            failed: list(&self.failed),
        }
    }
}

/// `Some(n)` unless `n` is 0 (the counters Kubernetes omits when zero).
fn non_zero(n: i32) -> Option<i32> {
    Some(n).filter(|n| *n != 0)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

impl Inner {
    /// Reconciles the Job at `key`.
    pub(super) async fn sync(&self, key: &str) -> Result<Action, Error> {
        self.expectations.wait(key, &self.jobs, &self.pods).await?;
        let Some(job) = self.jobs.get(key) else {
            self.backoffs.forget(key);
            return Ok(Action::await_change());
        };
        let pods = self.owned_pods(&job);
        if conditions::is_finished(job.status.as_ref()) {
            self.backoffs.forget(key);
            // Pods still tracked after the end (none, unless one was created just before)
            // go uncounted.
            let tracked: Vec<Arc<Pod>> = pods.into_iter().filter(|p| pods::is_tracked(p)).collect();
            self.release_pods(key, &tracked).await.1?;
            return self.expire(&job).await;
        }
        self.sync_running(key, &job, pods).await
    }

    /// The pods whose controller is `job`.
    fn owned_pods(&self, job: &Job) -> Vec<Arc<Pod>> {
        let uid = job.metadata.uid.as_deref().unwrap_or_default();
        self.pods
            .indexed(BY_OWNER, uid)
            .into_iter()
            .filter(|p| pods::job_owner(p).is_some_and(|o| o.uid == uid))
            .collect()
    }

    async fn sync_running(
        &self,
        key: &str,
        job: &Job,
        pods: Vec<Arc<Pod>>,
    ) -> Result<Action, Error> {
        let spec = job.spec.clone().unwrap_or_default();
        let suspended = spec.suspend == Some(true);
        let deleting = job.metadata.deletion_timestamp.is_some();
        let now = skiff_model::time::now_seconds();
        let old = job.status.clone().unwrap_or_default();
        let mut status = old.clone();
        let mut uncounted = Uncounted::of(&status);
        let mut release = Vec::new();

        // Pods that finished since the last reconcile.
        let (mut new_succeeded, mut new_failed) = (0, 0);
        for pod in pods.iter().filter(|p| pods::is_tracked(p)) {
            if uncounted.contains(uid(pod)) {
                continue;
            }
            match pods::outcome(pod, suspended) {
                Some(Outcome::Succeeded) => {
                    uncounted.succeeded.insert(uid(pod).to_string());
                    new_succeeded += 1;
                }
                Some(Outcome::Failed) => {
                    uncounted.failed.insert(uid(pod).to_string());
                    new_failed += 1;
                }
                Some(Outcome::Released) => release.push(pod.clone()),
                None => {}
            }
        }
        self.backoffs.record(key, new_succeeded, new_failed);

        let completions = spec.completions.unwrap_or(0);
        let mut completed = indexes::parse(status.completed_indexes.as_deref().unwrap_or(""));
        if is_indexed(&spec) {
            for pod in pods.iter().filter(|p| uncounted.succeeded.contains(uid(p))) {
                completed.extend(pods::completion_index(pod, completions));
            }
        }
        let succeeded = if is_indexed(&spec) {
            count(completed.len())
        } else {
            status.succeeded.unwrap_or(0) + count(uncounted.succeeded.len())
        };
        let failed = status.failed.unwrap_or(0) + count(uncounted.failed.len());
        let mut active: Vec<Arc<Pod>> = pods
            .iter()
            .filter(|p| pods::is_active(p))
            .cloned()
            .collect();

        // Is the Job done?
        let mut requeue: Option<Duration> = None;
        let mut finish = conditions::decided(job.status.as_ref());
        if finish.is_none() && !deleting {
            finish = judge(
                &spec,
                &status,
                succeeded,
                failed,
                &active,
                &pods,
                suspended,
                now,
                &mut requeue,
            );
        }

        // Run the right pods.
        let mut failure = Ok(());
        let mut doomed = Vec::new();
        let mut created = 0;
        if deleting {
            // The garbage collector deletes (or orphans) the pods; they are released below.
        } else if let Some(finish) = &finish {
            finish.mark_interim(&mut status, now);
            doomed = std::mem::take(&mut active);
        } else if suspended {
            if conditions::set(
                &mut status,
                SUSPENDED,
                true,
                "JobSuspended",
                "Job suspended",
                now,
            ) {
                self.events.normal(
                    Involved::of::<Job>(&job.metadata),
                    "Suspended",
                    "Job suspended",
                );
            }
            doomed = std::mem::take(&mut active);
        } else {
            if conditions::is_true(Some(&status), SUSPENDED).is_some() {
                conditions::set(
                    &mut status,
                    SUSPENDED,
                    false,
                    "JobResumed",
                    "Job resumed",
                    now,
                );
                self.events
                    .normal(Involved::of::<Job>(&job.metadata), "Resumed", "Job resumed");
                // The deadline counts from the resumption.
                status.start_time = Some(Time(now));
            }
            status.start_time.get_or_insert(Time(now));
            let plan = manage::plan(&spec, &active, succeeded, &completed);
            if !plan.delete.is_empty() {
                active.retain(|p| !plan.delete.iter().any(|d| uid(d) == uid(p)));
                doomed = plan.delete;
            } else if !plan.create.is_empty() {
                let wait = self.backoffs.remaining(key);
                if wait.is_zero() {
                    let (n, result) = self.create_pods(key, job, &plan.create).await;
                    created = n;
                    failure = result;
                } else {
                    requeue = Some(requeue.map_or(wait, |r| r.min(wait)));
                }
            }
        }
        let mut deleted = HashSet::new();
        for pod in &doomed {
            match self.delete_pod(key, job, pod).await {
                Ok(()) => {
                    deleted.insert(uid(pod).to_string());
                    if !pods::is_tracked(pod) {
                        continue;
                    }
                    if suspended && finish.is_none() {
                        release.push(pod.clone());
                    } else {
                        // Deleted before it succeeded: a failed pod, Kubernetes' way.
                        uncounted.failed.insert(uid(pod).to_string());
                    }
                }
                Err(e) => {
                    active.push(pod.clone());
                    if failure.is_ok() {
                        failure = Err(e);
                    }
                }
            }
        }

        // Record what finished before releasing it.
        status.active = non_zero(count(active.len() + created));
        status.ready = Some(count(active.iter().filter(|p| pods::is_ready(p)).count()));
        status.terminating = Some(count(
            pods.iter()
                .filter(|p| !pods::is_terminal(p))
                .filter(|p| pods::is_deleting(p) || deleted.contains(uid(p)))
                .count(),
        ));
        status.uncounted_terminated_pods = Some(uncounted.to_status());
        let mut last = old;
        if self.write_status(key, job, &last, &status).await? {
            last = status.clone();
        }

        // Release the finished pods, then count them.
        let mut to_release: Vec<Arc<Pod>> = pods
            .iter()
            .filter(|p| pods::is_tracked(p) && (deleting || uncounted.contains(uid(p))))
            .cloned()
            .collect();
        to_release.extend(release);
        let (released, result) = self.release_pods(key, &to_release).await;
        if failure.is_ok() {
            failure = result;
        }
        let released: HashSet<&str> = released.iter().map(String::as_str).collect();
        let still_tracked: HashSet<&str> = pods
            .iter()
            .filter(|p| pods::is_tracked(p) && !released.contains(uid(p)))
            .map(|p| uid(p))
            .collect();
        let mut counted = indexes::parse(status.completed_indexes.as_deref().unwrap_or(""));
        for done in uncounted.succeeded.clone() {
            if still_tracked.contains(done.as_str()) {
                continue;
            }
            uncounted.succeeded.remove(&done);
            status.succeeded = non_zero(status.succeeded.unwrap_or(0) + 1);
            let pod = pods.iter().find(|p| uid(p) == done);
            counted.extend(pod.and_then(|p| pods::completion_index(p, completions)));
        }
        for done in uncounted.failed.clone() {
            if !still_tracked.contains(done.as_str()) {
                uncounted.failed.remove(&done);
                status.failed = non_zero(status.failed.unwrap_or(0) + 1);
            }
        }
        if is_indexed(&spec) {
            status.succeeded = non_zero(count(counted.len()));
            status.completed_indexes = Some(indexes::format(&counted)).filter(|s| !s.is_empty());
        }
        status.uncounted_terminated_pods = Some(uncounted.to_status());
        let finished = finish
            .as_ref()
            .filter(|_| status.active.is_none() && uncounted.is_empty());
        let newly_finished = finished.is_some_and(|f| f.mark_final(&mut status, now));
        let written = self.write_status(key, job, &last, &status).await?;
        if newly_finished && written {
            self.record_finish(job, finish.as_ref());
        }
        failure?;
        Ok(requeue.map_or_else(Action::await_change, Action::requeue))
    }

    /// Writes `status` unless it equals `old`; returns whether it wrote.
    async fn write_status(
        &self,
        key: &str,
        job: &Job,
        old: &JobStatus,
        status: &JobStatus,
    ) -> Result<bool, Error> {
        if old == status {
            return Ok(false);
        }
        let uid = job.metadata.uid.clone();
        let written = self
            .client
            .update_status::<Job>(
                job.metadata.namespace.as_deref(),
                job.metadata.name.as_deref().unwrap_or_default(),
                |j| {
                    if j.metadata.uid != uid || j.status.as_ref() == Some(status) {
                        return false;
                    }
                    j.status = Some(status.clone());
                    true
                },
            )
            .await
            .map_err(Error::write("update the status of job", key))?;
        self.expectations
            .job_written(key, super::expectations::revision_of(&written));
        Ok(true)
    }

    fn record_finish(&self, job: &Job, finish: Option<&Finish>) {
        let involved = Involved::of::<Job>(&job.metadata);
        match finish {
            Some(Finish::Complete) => self.events.normal(involved, "Completed", "Job completed"),
            Some(Finish::Failed { reason, message }) => {
                let reason = match reason.as_str() {
                    "BackoffLimitExceeded" => BACKOFF_LIMIT_EXCEEDED.0,
                    "DeadlineExceeded" => DEADLINE_EXCEEDED.0,
                    _ => "Failed",
                };
                self.events.warning(involved, reason, message.clone());
            }
            None => {}
        }
    }
}

/// Whether the Job is done now, and if not, when to look again (its deadline).
#[allow(clippy::too_many_arguments)]
fn judge(
    spec: &JobSpec,
    status: &JobStatus,
    succeeded: i32,
    failed: i32,
    active: &[Arc<Pod>],
    pods: &[Arc<Pod>],
    suspended: bool,
    now: Timestamp,
    requeue: &mut Option<Duration>,
) -> Option<Finish> {
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    if failed > backoff_limit || past_backoff_limit_on_failure(spec, pods) {
        let (reason, message) = BACKOFF_LIMIT_EXCEEDED;
        return Some(Finish::failed(reason, message));
    }
    if let (Some(deadline), Some(start), false) = (
        spec.active_deadline_seconds,
        status.start_time.as_ref(),
        suspended,
    ) {
        let left = start.0.as_second() + deadline - now.as_second();
        if left <= 0 {
            let (reason, message) = DEADLINE_EXCEEDED;
            return Some(Finish::failed(reason, message));
        }
        *requeue = Some(Duration::from_secs(left.unsigned_abs()));
    }
    let complete = match spec.completions {
        Some(completions) => succeeded >= completions,
        None => succeeded > 0 && active.is_empty(),
    };
    complete.then_some(Finish::Complete)
}

/// With `restartPolicy: OnFailure` a failing container restarts in its pod instead of
/// failing it; its restarts count against `backoffLimit` (Kubernetes'
/// `pastBackoffLimitOnFailure`).
fn past_backoff_limit_on_failure(spec: &JobSpec, pods: &[Arc<Pod>]) -> bool {
    let on_failure = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");
    if !on_failure {
        return false;
    }
    let restarts: i64 = pods.iter().map(|p| pods::restarts(p)).sum();
    match spec.backoff_limit.unwrap_or(6) {
        0 => restarts > 0,
        limit => restarts >= i64::from(limit),
    }
}
