//! [`Error`]: what one step of the garbage collector can fail with; every failure is
//! retried with the work queue's backoff.

use crate::apiserver::error::ApiError;

/// A failed step.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {object}: {source}")]
pub struct Error {
    /// What was being done (`delete`, `orphan the dependents of`...).
    pub action: &'static str,
    /// The object.
    pub object: String,
    /// The API's answer.
    #[source]
    pub source: ApiError,
}

impl Error {
    /// A failure to `action` `object`.
    pub(super) fn of(action: &'static str, object: impl ToString) -> impl FnOnce(ApiError) -> Self {
        let object = object.to_string();
        move |source| Error {
            action,
            object,
            source,
        }
    }
}
