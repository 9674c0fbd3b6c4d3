//! The pods bound to this node.
//!
//! Parts: [`manager`] (watches the node's pods and keeps one worker per pod), [`admit`]
//! (resource admission), [`adopt`] (what to run of a pod found already started),
//! [`worker`] (one pod's lifecycle: volumes, init containers, containers, deletion),
//! [`container`] (one container's runs and restarts: commands and HTTP servers),
//! [`probe`] (startup, liveness and readiness probes), [`backoff`] (restart delays),
//! [`grace`] (the termination grace period), [`env`](mod@env) (a container's environment),
//! [`volume`] (volumes as preopened directories), [`record`] (what is known of a pod's
//! containers), [`status`] (that rendered as the pod's status), [`report`] (coalesced
//! status writes), [`context`] (the agent-wide services every worker uses) and [`shared`]
//! (what one pod's worker and container runners share).

pub mod admit;
pub mod adopt;
pub mod backoff;
pub mod container;
pub mod context;
pub mod env;
pub mod grace;
pub mod manager;
pub mod probe;
pub mod record;
pub mod report;
pub mod shared;
pub mod status;
pub mod volume;
pub mod worker;
