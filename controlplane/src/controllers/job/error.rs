//! [`Error`]: what one reconcile of the Job controller can fail with. Every failure is
//! retried with the work queue's backoff.

use crate::apiserver::error::ApiError;

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A write through the API failed.
    #[error("cannot {action} {object}: {source}")]
    Write {
        /// What was being done (`create a pod for`, `update the status of`...).
        action: &'static str,
        /// The object (`namespace/name`).
        object: String,
        /// The API's answer.
        #[source]
        source: ApiError,
    },
    /// An informer did not show the controller's own earlier writes in time; acting on
    /// it could count or create pods twice.
    #[error("the {informer} informer has not caught up with revision {revision}")]
    Lagging {
        /// `jobs` or `pods`.
        informer: &'static str,
        /// The revision waited for.
        revision: u64,
    },
}

impl Error {
    /// A failed write: `action` on `object`.
    pub(super) fn write(
        action: &'static str,
        object: impl Into<String>,
    ) -> impl FnOnce(ApiError) -> Self {
        let object = object.into();
        move |source| Error::Write {
            action,
            object,
            source,
        }
    }
}
