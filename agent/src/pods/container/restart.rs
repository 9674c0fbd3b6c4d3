//! [`Restart`]: whether a container that ended runs again — the pod's `restartPolicy`
//! for its regular containers, and the policy of its init containers.

/// Whether a container that ended runs again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always (`restartPolicy: Always`).
    Always,
    /// Only after a failure (`OnFailure`, and init containers of restartable pods).
    OnFailure,
    /// Never.
    Never,
}

impl Restart {
    /// The policy of a pod's regular containers.
    pub fn of(policy: Option<&str>) -> Self {
        match policy {
            Some("OnFailure") => Restart::OnFailure,
            Some("Never") => Restart::Never,
            _ => Restart::Always,
        }
    }

    /// The policy of a pod's init containers: retried until they succeed, unless the pod
    /// never restarts anything.
    pub fn for_init(self) -> Self {
        match self {
            Restart::Never => Restart::Never,
            _ => Restart::OnFailure,
        }
    }

    /// Whether a run that ended (`succeeded` or not, or `killed` by a probe) runs again.
    /// A container killed by a probe restarts unless the policy is `Never`, as the
    /// kubelet's does whatever its exit code.
    pub(crate) fn again(self, succeeded: bool, killed: bool) -> bool {
        match self {
            Restart::Always => true,
            Restart::OnFailure => killed || !succeeded,
            Restart::Never => false,
        }
    }
}
