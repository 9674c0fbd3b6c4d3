//! The records of what the agent knows of one pod's run: [`PodRecord`] with a
//! [`ContainerRecord`] per container, each in a [`ContainerPhase`] (with its last
//! [`Termination`] and its [`ProbeState`]), and a pod-wide [`PodFailure`]. Container
//! runners write them; the pod's `status` is rendered from them (in `pods::status`).

use std::collections::HashMap;
use std::time::SystemTime;

/// What a container is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum ContainerPhase {
    /// Not running: not started yet, or waiting to restart.
    Waiting {
        /// Why, as the kubelet says it (`ContainerCreating`, `ErrImagePull`,
        /// `CrashLoopBackOff`...).
        reason: &'static str,
        /// The detail, if any.
        message: Option<String>,
    },
    /// Running since `started`.
    Running {
        /// When the instance started.
        started: SystemTime,
    },
    /// Ended, not to be restarted (or not yet decided).
    Terminated(Termination),
}

/// How a run of a container ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Termination {
    /// The exit code (137 for a forced stop or a memory limit, as for a killed process).
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`, `DeadlineExceeded`, `Unknown`...
    pub reason: &'static str,
    /// The detail (a trap message, the limit that was hit).
    pub message: Option<String>,
    /// When the run started.
    pub started: Option<SystemTime>,
    /// When it ended.
    pub finished: SystemTime,
    /// Which run it was.
    pub container_id: Option<String>,
}

/// What a container's probes say of its current run. The default (no probes) is a
/// container that counts as started and ready as soon as it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeState {
    /// It has a startup probe that has not succeeded yet.
    pub starting: bool,
    /// Its readiness probe says it is not ready (so it is until the probe first passes),
    /// or it is draining.
    pub unready: bool,
}

/// One container's record.
#[derive(Clone, Debug)]
pub struct ContainerRecord {
    /// The container's name.
    pub name: String,
    /// The image as the spec names it.
    pub image: String,
    /// The pulled image's identity (its digest).
    pub image_id: Option<String>,
    /// The current (or last) run's id.
    pub container_id: Option<String>,
    /// What it is doing.
    pub phase: ContainerPhase,
    /// How the run before ended.
    pub last: Option<Termination>,
    /// Restarts so far.
    pub restart_count: u32,
    /// What its probes say of the current run.
    pub probes: ProbeState,
}

impl ContainerRecord {
    /// A container not started yet.
    pub fn new(name: &str, image: &str, reason: &'static str) -> Self {
        Self {
            name: name.to_string(),
            image: image.to_string(),
            image_id: None,
            container_id: None,
            phase: ContainerPhase::Waiting {
                reason,
                message: None,
            },
            last: None,
            restart_count: 0,
            probes: ProbeState::default(),
        }
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        matches!(self.phase, ContainerPhase::Running { .. })
    }

    /// Whether it runs and has passed its startup probe, if it has one (`started`).
    pub fn is_started(&self) -> bool {
        self.is_running() && !self.probes.starting
    }

    /// Whether it runs, has started, and passes its readiness probe, if it has one
    /// (`ready`).
    pub fn is_ready(&self) -> bool {
        self.is_started() && !self.probes.unready
    }

    /// Whether it ended with exit code 0 (for init containers: done).
    pub fn succeeded(&self) -> bool {
        matches!(&self.phase, ContainerPhase::Terminated(t) if t.exit_code == 0)
    }
}

/// A pod-level failure that overrides what its containers say.
#[derive(Clone, Debug, PartialEq)]
pub struct PodFailure {
    /// `DeadlineExceeded`, `OutOfcpu`, `OutOfmemory`, `OutOfpods`, `NodeLost`...
    pub reason: &'static str,
    /// The detail.
    pub message: String,
}

/// Everything the agent knows of one pod's run on this node.
#[derive(Clone, Debug, Default)]
pub struct PodRecord {
    /// Init containers, in spec order.
    pub init: Vec<ContainerRecord>,
    /// Containers, in spec order.
    pub containers: Vec<ContainerRecord>,
    /// When the agent accepted the pod.
    pub start_time: Option<SystemTime>,
    /// Set when the pod failed as a whole.
    pub failure: Option<PodFailure>,
    /// Last transition time of each condition type, with its status then.
    pub transitions: HashMap<&'static str, (bool, SystemTime)>,
}

impl PodRecord {
    /// The record of a container (or init container) by name.
    pub fn container_mut(&mut self, name: &str) -> Option<&mut ContainerRecord> {
        self.init
            .iter_mut()
            .chain(self.containers.iter_mut())
            .find(|c| c.name == name)
    }

    /// The time `condition` last changed to `status`, updating it if it changed now.
    pub fn transition(&mut self, condition: &'static str, status: bool) -> SystemTime {
        let now = SystemTime::now();
        let entry = self.transitions.entry(condition).or_insert((status, now));
        if entry.0 != status {
            *entry = (status, now);
        }
        entry.1
    }
}
