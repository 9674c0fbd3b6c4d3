//! What to run of a pod the agent takes on: a new pod runs everything; a pod the agent
//! finds already started — because the agent restarted and its instances died with it —
//! runs again exactly what should still run, continuing its restart counts, and reports
//! what was lost as the kubelet does after a node reboot (`Unknown`, exit code 255).

use super::container::restart::Restart;
use super::record::{ContainerPhase, ContainerRecord, PodRecord, Termination};
use super::worker::{Plan, is_terminal};
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Pod};
use std::time::SystemTime;

/// Exit code reported for a run lost to an agent restart.
const LOST_EXIT_CODE: i32 = 255;

/// The record to start from and what to run.
pub fn plan(pod: &Pod) -> (PodRecord, Plan) {
    let empty = Vec::new();
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let restart = Restart::of(spec.and_then(|s| s.restart_policy.as_deref()));
    let inits = spec
        .and_then(|s| s.init_containers.as_ref())
        .unwrap_or(&empty);
    let has_init = !inits.is_empty();
    let init_statuses = status.and_then(|s| s.init_container_statuses.as_ref());
    let statuses = status.and_then(|s| s.container_statuses.as_ref());

    let mut record = PodRecord {
        start_time: status
            .and_then(|s| s.start_time.as_ref())
            .map(|t| SystemTime::from(t.0))
            .or_else(|| Some(SystemTime::now())),
        ..PodRecord::default()
    };
    let mut plan = Plan {
        init: Vec::new(),
        containers: Vec::new(),
        terminal: is_terminal(pod),
    };
    for c in inits {
        let image = c.image.as_deref().unwrap_or_default();
        let fresh = ContainerRecord::new(&c.name, image, "PodInitializing");
        let (entry, run) = resume(fresh, find(init_statuses, &c.name), restart.for_init());
        record.init.push(entry);
        plan.init.push(run);
    }
    let all_inits_done = record.init.iter().all(ContainerRecord::succeeded);
    for c in spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
        let image = c.image.as_deref().unwrap_or_default();
        let waiting = if has_init && !all_inits_done {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let fresh = ContainerRecord::new(&c.name, image, waiting);
        let (entry, run) = resume(fresh, find(statuses, &c.name), restart);
        record.containers.push(entry);
        plan.containers.push(run);
    }
    (record, plan)
}

fn find<'a>(list: Option<&'a Vec<ContainerStatus>>, name: &str) -> Option<&'a ContainerStatus> {
    list?.iter().find(|s| s.name == name)
}

/// A container's record continued from its reported status, and whether it runs again.
fn resume(
    mut record: ContainerRecord,
    reported: Option<&ContainerStatus>,
    restart: Restart,
) -> (ContainerRecord, bool) {
    let Some(reported) = reported else {
        return (record, true);
    };
    record.restart_count = u32::try_from(reported.restart_count.max(0)).unwrap_or(0);
    record.image_id = Some(reported.image_id.clone()).filter(|id| !id.is_empty());
    record.container_id = reported.container_id.clone();
    let state = reported.state.as_ref();
    let last = reported
        .last_state
        .as_ref()
        .and_then(|s| termination(s, None));
    if let Some(state) = state.filter(|s| s.running.is_some()) {
        let lost = Termination {
            exit_code: LOST_EXIT_CODE,
            reason: "Unknown",
            message: Some("the node agent restarted while the container ran".into()),
            started: state
                .running
                .as_ref()
                .and_then(|r| r.started_at.as_ref())
                .map(|t| SystemTime::from(t.0)),
            finished: SystemTime::now(),
            container_id: reported.container_id.clone(),
        };
        if restart == Restart::Never {
            record.phase = ContainerPhase::Terminated(lost);
            record.last = last;
            return (record, false);
        }
        record.last = Some(lost);
        record.restart_count += 1;
        return (record, true);
    }
    if let Some(ended) = state.and_then(|s| termination(s, reported.container_id.clone())) {
        let done = match restart {
            Restart::Never => true,
            Restart::OnFailure => ended.exit_code == 0,
            Restart::Always => false,
        };
        if done {
            record.phase = ContainerPhase::Terminated(ended);
            record.last = last;
            return (record, false);
        }
        record.last = Some(ended);
        record.restart_count += 1;
        return (record, true);
    }
    // Waiting: to start for the first time, or to restart after `last`.
    if last.is_some() {
        record.last = last;
        record.restart_count += 1;
    }
    (record, true)
}

/// A reported terminated state as a [`Termination`].
fn termination(state: &ContainerState, container_id: Option<String>) -> Option<Termination> {
    let t = state.terminated.as_ref()?;
    Some(Termination {
        exit_code: t.exit_code,
        reason: reason(t.reason.as_deref()),
        message: t.message.clone(),
        started: t.started_at.as_ref().map(|t| SystemTime::from(t.0)),
        finished: t
            .finished_at
            .as_ref()
            .map_or_else(SystemTime::now, |t| SystemTime::from(t.0)),
        container_id: t.container_id.clone().or(container_id),
    })
}

/// Reasons this agent writes, as static strings; anything else reads as `Error`.
fn reason(text: Option<&str>) -> &'static str {
    match text {
        Some("Completed") => "Completed",
        Some("OOMKilled") => "OOMKilled",
        Some("DeadlineExceeded") => "DeadlineExceeded",
        Some("ContainerCannotRun") => "ContainerCannotRun",
        Some("Unknown") => "Unknown",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(policy: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u"},
            "spec": {"restartPolicy": policy, "containers": [{"name": "a", "image": "x"}]},
            "status": status,
        }))
        .expect("pod")
    }

    #[test]
    fn a_new_pod_runs_everything() {
        let (record, plan) = plan(&pod("Always", json!({})));
        assert_eq!(plan.containers, [true]);
        assert_eq!(record.containers[0].restart_count, 0);
        assert!(!plan.terminal);
    }

    #[test]
    fn a_running_container_lost_to_a_restart_runs_again_once() {
        let status = json!({"phase": "Running", "containerStatuses": [{
            "name": "a", "image": "x", "imageID": "sha256:1", "ready": true, "restartCount": 2,
            "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
        }]});
        let (record, plan) = plan(&pod("Always", status.clone()));
        assert_eq!(plan.containers, [true]);
        let a = &record.containers[0];
        assert_eq!(a.restart_count, 3);
        assert_eq!(a.last.as_ref().map(|t| t.reason), Some("Unknown"));

        let (record, plan) = super::plan(&pod("Never", status));
        assert_eq!(
            plan.containers,
            [false],
            "Never does not run a container twice"
        );
        assert!(matches!(
            record.containers[0].phase,
            ContainerPhase::Terminated(_)
        ));
    }

    #[test]
    fn a_completed_container_stays_completed() {
        let status = json!({"phase": "Running", "containerStatuses": [{
            "name": "a", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        }]});
        let (_, plan) = plan(&pod("OnFailure", status));
        assert_eq!(plan.containers, [false]);
    }

    #[test]
    fn a_terminal_pod_runs_nothing() {
        let (_, plan) = plan(&pod("Never", json!({"phase": "Succeeded"})));
        assert!(plan.terminal);
    }
}
