//! `ttlSecondsAfterFinished`: a finished Job is deleted (with its pods, in the background)
//! that long after it finished, as Kubernetes' TTL-after-finished controller does. Before
//! deleting, the Job is read again from the API, so that a Job whose TTL was just raised,
//! or that was replaced by a namesake, is left alone.

use super::{Error, Inner, conditions};
use crate::machinery::client::Propagation;
use crate::machinery::controller::Action;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use std::time::Duration;

/// How long until `job` expires: `None` if it never does (unfinished, or no TTL), zero if
/// it has.
fn expires_in(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = conditions::finished_at(job.status.as_ref())?;
    let left = finished.as_millisecond() + i64::from(ttl) * 1000 - now.as_millisecond();
    Some(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
}

impl Inner {
    /// Deletes the finished `job` if its TTL has run out; otherwise asks to look again
    /// when it will have.
    pub(super) async fn expire(&self, job: &Job) -> Result<Action, Error> {
        let Some(left) = expires_in(job, skiff_model::time::now()) else {
            return Ok(Action::await_change());
        };
        if !left.is_zero() {
            return Ok(Action::requeue(left));
        }
        let namespace = job.metadata.namespace.as_deref();
        let name = job.metadata.name.as_deref().unwrap_or_default();
        let key = Inner::key(job);
        let live = match self.client.get::<Job>(namespace, name).await {
            Ok(live) => live,
            Err(e) if e.reason == "NotFound" => return Ok(Action::await_change()),
            Err(e) => return Err(Error::write("read job", key)(e)),
        };
        if live.metadata.uid != job.metadata.uid || live.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        match expires_in(&live, skiff_model::time::now()) {
            Some(left) if left.is_zero() => {}
            Some(left) => return Ok(Action::requeue(left)),
            None => return Ok(Action::await_change()),
        }
        tracing::info!(job = %key, "time to live after finishing is over; deleting the job");
        match self
            .client
            .delete::<Job>(
                namespace,
                name,
                live.metadata.uid.as_deref(),
                Propagation::Background,
            )
            .await
        {
            Ok(()) => Ok(Action::await_change()),
            Err(e) if e.reason == "NotFound" => Ok(Action::await_change()),
            Err(e) => Err(Error::write("delete finished job", key)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn finished_at(second: i64, ttl: Option<i32>) -> Job {
        Job {
            spec: Some(JobSpec {
                ttl_seconds_after_finished: ttl,
                ..JobSpec::default()
            }),
            status: Some(JobStatus {
                conditions: Some(vec![JobCondition {
                    type_: "Complete".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(Timestamp::from_second(second).expect("time"))),
                    ..JobCondition::default()
                }]),
                ..JobStatus::default()
            }),
            ..Job::default()
        }
    }

    #[test]
    fn a_job_expires_its_ttl_after_finishing() {
        let at = |s| Timestamp::from_second(s).expect("time");
        let job = finished_at(100, Some(30));
        assert_eq!(expires_in(&job, at(110)), Some(Duration::from_secs(20)));
        assert_eq!(expires_in(&job, at(130)), Some(Duration::ZERO));
        assert_eq!(expires_in(&job, at(500)), Some(Duration::ZERO));
        assert_eq!(expires_in(&finished_at(100, None), at(500)), None);
        assert_eq!(expires_in(&Job::default(), at(500)), None);
    }
}
