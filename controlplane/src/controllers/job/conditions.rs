//! A Job's conditions. A Job that meets its success criteria first gets
//! `SuccessCriteriaMet`, and `Complete` once its pods are all accounted for; one that
//! fails gets `FailureTarget`, then `Failed` — as Kubernetes 1.31+ writes them, so that
//! `kubectl wait --for=condition=complete` and `--for=condition=failed` work.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The Job succeeded.
pub(super) const COMPLETE: &str = "Complete";
/// The Job will succeed once its pods are accounted for.
pub(super) const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
/// The Job failed.
pub(super) const FAILED: &str = "Failed";
/// The Job will fail once its pods are accounted for.
pub(super) const FAILURE_TARGET: &str = "FailureTarget";
/// The Job is suspended (`True`) or was resumed (`False`).
pub(super) const SUSPENDED: &str = "Suspended";

/// How a Job ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finish {
    /// Enough pods succeeded.
    Complete,
    /// It gave up: `reason` is `BackoffLimitExceeded` or `DeadlineExceeded`.
    Failed {
        /// The condition's reason (and the event's).
        reason: String,
        /// The condition's message.
        message: String,
    },
}

/// Reason of the success conditions.
const COMPLETIONS_REACHED: &str = "CompletionsReached";
/// Message of the success conditions.
const COMPLETIONS_MESSAGE: &str = "Reached expected number of succeeded pods";

impl Finish {
    /// Failed with `reason` and `message`.
    pub(super) fn failed(reason: &str, message: &str) -> Self {
        Finish::Failed {
            reason: reason.to_string(),
            message: message.to_string(),
        }
    }

    /// The interim condition's type, reason and message.
    fn interim(&self) -> (&str, &str, &str) {
        match self {
            Finish::Complete => (
                SUCCESS_CRITERIA_MET,
                COMPLETIONS_REACHED,
                COMPLETIONS_MESSAGE,
            ),
            Finish::Failed { reason, message } => (FAILURE_TARGET, reason, message),
        }
    }

    /// The final condition's type, reason and message.
    fn last(&self) -> (&str, &str, &str) {
        match self {
            Finish::Complete => (COMPLETE, COMPLETIONS_REACHED, COMPLETIONS_MESSAGE),
            Finish::Failed { reason, message } => (FAILED, reason, message),
        }
    }

    /// Sets the interim condition; returns whether it was new.
    pub(super) fn mark_interim(&self, status: &mut JobStatus, now: Timestamp) -> bool {
        let (kind, reason, message) = self.interim();
        set(status, kind, true, reason, message, now)
    }

    /// Sets the final condition (and `completionTime` for success); returns whether it
    /// was new.
    pub(super) fn mark_final(&self, status: &mut JobStatus, now: Timestamp) -> bool {
        let (kind, reason, message) = self.last();
        if *self == Finish::Complete && status.completion_time.is_none() {
            status.completion_time = Some(Time(now));
        }
        set(status, kind, true, reason, message, now)
    }
}

/// The condition of type `kind`, if it is `True`.
pub(super) fn is_true<'a>(status: Option<&'a JobStatus>, kind: &str) -> Option<&'a JobCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")
}

/// Whether the Job has finished (`Complete` or `Failed`).
pub(super) fn is_finished(status: Option<&JobStatus>) -> bool {
    is_true(status, COMPLETE).is_some() || is_true(status, FAILED).is_some()
}

/// When the Job finished, if it has.
pub(super) fn finished_at(status: Option<&JobStatus>) -> Option<Timestamp> {
    let condition = is_true(status, COMPLETE).or_else(|| is_true(status, FAILED))?;
    condition
        .last_transition_time
        .as_ref()
        .or(status?.completion_time.as_ref())
        .map(|t| t.0)
}

/// The finish an interim condition already decided, if any.
pub(super) fn decided(status: Option<&JobStatus>) -> Option<Finish> {
    if let Some(target) = is_true(status, FAILURE_TARGET) {
        return Some(Finish::Failed {
            reason: target.reason.clone().unwrap_or_default(),
            message: target.message.clone().unwrap_or_default(),
        });
    }
    is_true(status, SUCCESS_CRITERIA_MET).map(|_| Finish::Complete)
}

/// Sets condition `kind` to `value` with `reason` and `message`. Its
/// `lastTransitionTime` moves only when its status changes. Returns whether the status
/// changed (a condition added or flipped).
pub(super) fn set(
    status: &mut JobStatus,
    kind: &str,
    value: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let value = if value { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let time = Some(Time(now));
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(c) if c.status == value => {
            c.reason = Some(reason.to_string());
            c.message = Some(message.to_string());
            false
        }
        Some(c) => {
            c.status = value.to_string();
            c.reason = Some(reason.to_string());
            c.message = Some(message.to_string());
            c.last_probe_time = time.clone();
            c.last_transition_time = time;
            true
        }
        None => {
            conditions.push(JobCondition {
                type_: kind.to_string(),
                status: value.to_string(),
                reason: Some(reason.to_string()),
                message: Some(message.to_string()),
                last_probe_time: time.clone(),
                last_transition_time: time,
            });
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_interim_then_final() {
        let now = Timestamp::from_second(1_000).expect("time");
        let mut status = JobStatus::default();
        assert!(Finish::Complete.mark_interim(&mut status, now));
        assert_eq!(decided(Some(&status)), Some(Finish::Complete));
        assert!(!is_finished(Some(&status)));
        assert!(Finish::Complete.mark_final(&mut status, now));
        assert!(!Finish::Complete.mark_final(&mut status, now), "once");
        assert!(is_finished(Some(&status)));
        assert_eq!(finished_at(Some(&status)), Some(now));
        assert_eq!(status.completion_time, Some(Time(now)));
    }

    #[test]
    fn failure_keeps_its_reason() {
        let now = Timestamp::from_second(5).expect("time");
        let mut status = JobStatus::default();
        let finish = Finish::failed("DeadlineExceeded", "too long");
        finish.mark_interim(&mut status, now);
        assert_eq!(decided(Some(&status)), Some(finish.clone()));
        finish.mark_final(&mut status, now);
        let failed = is_true(Some(&status), FAILED).expect("failed");
        assert_eq!(failed.reason.as_deref(), Some("DeadlineExceeded"));
        assert!(status.completion_time.is_none(), "only success completes");
    }

    #[test]
    fn a_flip_moves_the_transition_time() {
        let (t1, t2) = (
            Timestamp::from_second(1).expect("time"),
            Timestamp::from_second(2).expect("time"),
        );
        let mut status = JobStatus::default();
        assert!(set(
            &mut status,
            SUSPENDED,
            true,
            "JobSuspended",
            "Job suspended",
            t1
        ));
        assert!(!set(
            &mut status,
            SUSPENDED,
            true,
            "JobSuspended",
            "Job suspended",
            t2
        ));
        let c = &status.conditions.as_ref().expect("conditions")[0];
        assert_eq!(c.last_transition_time, Some(Time(t1)));
        assert!(set(
            &mut status,
            SUSPENDED,
            false,
            "JobResumed",
            "Job resumed",
            t2
        ));
        assert!(is_true(Some(&status), SUSPENDED).is_none());
    }
}
