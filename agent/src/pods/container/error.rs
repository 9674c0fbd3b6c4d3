//! [`StartError`]: why a container could not be started (its image could not be pulled,
//! its configuration is wrong, its instance could not be created), with the waiting
//! reason the pod's status shows while the failure stands and while backing off.

use crate::image::PullError;

/// Why a container could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Create(String),
}

impl StartError {
    /// The waiting reason while the failure stands.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            StartError::Pull(e) => e.reason(),
            StartError::Config(_) => "CreateContainerConfigError",
            StartError::Create(_) => "CreateContainerError",
        }
    }

    /// The waiting reason while backing off before the next try.
    pub(super) fn backoff_reason(&self) -> &'static str {
        match self {
            StartError::Pull(e) if e.reason() == "ErrImagePull" => "ImagePullBackOff",
            other => other.reason(),
        }
    }
}
