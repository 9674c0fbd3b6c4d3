//! A pod's `status` as the kubelet reports it, rendered from its [`PodRecord`]: phase (by
//! the kubelet's rules), conditions, container statuses, start time and addresses.

use super::record::{ContainerPhase, ContainerRecord, PodRecord, Termination};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use skiff_model::time::rfc3339;

/// A pod's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, not all containers started.
    Pending,
    /// Bound and started; at least one container running or restarting.
    Running,
    /// Every container ended successfully and none will restart.
    Succeeded,
    /// Every container ended, at least one in failure, and none will restart.
    Failed,
}

impl Phase {
    /// The phase as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }

    /// Whether the pod is done.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }

    /// Parses a phase the API reported.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Pending" => Some(Phase::Pending),
            "Running" => Some(Phase::Running),
            "Succeeded" => Some(Phase::Succeeded),
            "Failed" => Some(Phase::Failed),
            _ => None,
        }
    }
}

fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// The pod's phase, by the kubelet's `getPhase` rules.
pub fn phase(pod: &Pod, record: &PodRecord) -> Phase {
    if record.failure.is_some() {
        return Phase::Failed;
    }
    let policy = restart_policy(pod);
    for init in &record.init {
        match &init.phase {
            ContainerPhase::Terminated(t) if t.exit_code == 0 => {}
            ContainerPhase::Terminated(_) if policy == "Never" => return Phase::Failed,
            _ => return Phase::Pending,
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &record.containers {
        match &c.phase {
            ContainerPhase::Running { .. } => running += 1,
            ContainerPhase::Terminated(t) => {
                stopped += 1;
                if t.exit_code == 0 {
                    succeeded += 1;
                }
            }
            ContainerPhase::Waiting { .. } if c.last.is_some() => stopped += 1,
            ContainerPhase::Waiting { .. } => waiting += 1,
        }
    }
    if waiting > 0 {
        return Phase::Pending;
    }
    if running > 0 {
        return Phase::Running;
    }
    if stopped == 0 {
        return Phase::Pending;
    }
    match policy {
        "Always" => Phase::Running,
        "OnFailure" if stopped == succeeded => Phase::Succeeded,
        "OnFailure" => Phase::Running,
        _ if stopped == succeeded => Phase::Succeeded,
        _ => Phase::Failed,
    }
}

/// Whether a pod in `phase` with `record` is Ready: running, every container ready.
pub fn is_ready(phase: Phase, record: &PodRecord) -> bool {
    phase == Phase::Running && record.containers.iter().all(ContainerRecord::is_ready)
}

/// The pod's `status` object.
pub fn render(pod: &Pod, record: &mut PodRecord, host_ip: &str) -> (Phase, Value) {
    let phase = phase(pod, record);
    let initialized = record.init.iter().all(ContainerRecord::succeeded);
    let unready: Vec<&str> = record
        .containers
        .iter()
        .filter(|c| !c.is_ready())
        .map(|c| c.name.as_str())
        .collect();
    let incomplete: Vec<&str> = record
        .init
        .iter()
        .filter(|c| !c.succeeded())
        .map(|c| c.name.as_str())
        .collect();
    let ready = is_ready(phase, record);
    let (ready_reason, ready_message) = if ready {
        (Value::Null, Value::Null)
    } else if phase == Phase::Succeeded
        || phase == Phase::Failed && unready.len() == record.containers.len()
    {
        (json!("PodCompleted"), Value::Null)
    } else {
        (
            json!("ContainersNotReady"),
            json!(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    let mut conditions = Vec::new();
    let mut condition = |record: &mut PodRecord,
                         kind: &'static str,
                         status: bool,
                         reason: Value,
                         message: Value| {
        let since = record.transition(kind, status);
        conditions.push(json!({
            "type": kind,
            "status": if status { "True" } else { "False" },
            "lastProbeTime": null,
            "lastTransitionTime": rfc3339(since),
            "reason": reason,
            "message": message,
        }));
    };
    let (init_reason, init_message) = if initialized {
        (Value::Null, Value::Null)
    } else {
        (
            json!("ContainersNotInitialized"),
            json!(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
        )
    };
    condition(
        record,
        "PodReadyToStartContainers",
        true,
        Value::Null,
        Value::Null,
    );
    condition(
        record,
        "Initialized",
        initialized,
        init_reason,
        init_message,
    );
    condition(
        record,
        "Ready",
        ready,
        ready_reason.clone(),
        ready_message.clone(),
    );
    condition(
        record,
        "ContainersReady",
        ready,
        ready_reason,
        ready_message,
    );
    condition(record, "PodScheduled", true, Value::Null, Value::Null);

    let statuses =
        |list: &[ContainerRecord]| -> Vec<Value> { list.iter().map(container_status).collect() };
    let (reason, message) = match &record.failure {
        Some(f) => (json!(f.reason), json!(f.message)),
        None => (Value::Null, Value::Null),
    };
    let status = json!({
        "phase": phase.as_str(),
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": host_ip,
        "podIPs": [{"ip": host_ip}],
        "startTime": record.start_time.map(rfc3339),
        "initContainerStatuses": if record.init.is_empty() { Value::Null } else { json!(statuses(&record.init)) },
        "containerStatuses": statuses(&record.containers),
        "reason": reason,
        "message": message,
        "qosClass": qos_class(pod),
    });
    (phase, status)
}

fn container_status(c: &ContainerRecord) -> Value {
    let state = match &c.phase {
        ContainerPhase::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        ContainerPhase::Running { started } => json!({"running": {"startedAt": rfc3339(*started)}}),
        ContainerPhase::Terminated(t) => json!({"terminated": terminated(t)}),
    };
    let last = match &c.last {
        Some(t) => json!({"terminated": terminated(t)}),
        None => json!({}),
    };
    json!({
        "name": c.name,
        "state": state,
        "lastState": last,
        "ready": c.is_ready(),
        "started": c.is_started(),
        "restartCount": c.restart_count,
        "image": c.image,
        "imageID": c.image_id.clone().unwrap_or_default(),
        "containerID": c.container_id,
    })
}

fn terminated(t: &Termination) -> Value {
    json!({
        "exitCode": t.exit_code,
        "reason": t.reason,
        "message": t.message,
        "startedAt": t.started.map(rfc3339),
        "finishedAt": rfc3339(t.finished),
        "containerID": t.container_id,
    })
}

/// Kubernetes' QoS class: Guaranteed when every container's requests equal its limits
/// for cpu and memory, BestEffort when none sets any, Burstable otherwise.
fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = &pod.spec else {
        return "BestEffort";
    };
    let mut any = false;
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let resources = c.resources.as_ref();
        let limits = resources.and_then(|r| r.limits.as_ref());
        let requests = resources.and_then(|r| r.requests.as_ref());
        for resource in ["cpu", "memory"] {
            let limit = limits.and_then(|l| l.get(resource));
            let request = requests.and_then(|r| r.get(resource)).or(limit);
            any |= limit.is_some() || request.is_some();
            if limit.is_none() || limit != request {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::record::{ContainerRecord, ProbeState};
    use std::time::SystemTime;

    fn pod(policy: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u"},
            "spec": {"restartPolicy": policy, "containers": [{"name": "a", "image": "x"}]},
        }))
        .expect("pod")
    }

    fn ended(code: i32) -> ContainerPhase {
        ContainerPhase::Terminated(Termination {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" },
            message: None,
            started: None,
            finished: SystemTime::now(),
            container_id: None,
        })
    }

    fn record(phases: Vec<ContainerPhase>) -> PodRecord {
        PodRecord {
            containers: phases
                .into_iter()
                .enumerate()
                .map(|(i, phase)| ContainerRecord {
                    phase,
                    ..ContainerRecord::new(&format!("c{i}"), "x", "ContainerCreating")
                })
                .collect(),
            ..PodRecord::default()
        }
    }

    #[test]
    fn phases_follow_the_kubelet() {
        let running = ContainerPhase::Running {
            started: SystemTime::now(),
        };
        assert_eq!(
            phase(&pod("Always"), &record(vec![running.clone()])),
            Phase::Running
        );
        assert_eq!(
            phase(&pod("Never"), &record(vec![ended(0), ended(0)])),
            Phase::Succeeded
        );
        assert_eq!(
            phase(&pod("Never"), &record(vec![ended(0), ended(1)])),
            Phase::Failed
        );
        assert_eq!(
            phase(&pod("Never"), &record(vec![ended(1), running])),
            Phase::Running
        );
        assert_eq!(
            phase(&pod("OnFailure"), &record(vec![ended(1)])),
            Phase::Running
        );
        assert_eq!(
            phase(&pod("OnFailure"), &record(vec![ended(0)])),
            Phase::Succeeded
        );
        assert_eq!(
            phase(&pod("Always"), &record(vec![ended(0)])),
            Phase::Running
        );
        let creating = ContainerPhase::Waiting {
            reason: "ContainerCreating",
            message: None,
        };
        assert_eq!(
            phase(&pod("Always"), &record(vec![creating])),
            Phase::Pending
        );
    }

    #[test]
    fn conditions_keep_their_transition_time() {
        let p = pod("Always");
        let mut r = record(vec![ContainerPhase::Running {
            started: SystemTime::now(),
        }]);
        let (_, first) = render(&p, &mut r, "127.0.0.1");
        let (_, second) = render(&p, &mut r, "127.0.0.1");
        assert_eq!(first["conditions"], second["conditions"]);
        let ready = first["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .expect("Ready condition");
        assert_eq!(ready["status"], "True");
        assert_eq!(first["containerStatuses"][0]["ready"], true);
    }

    #[test]
    fn probes_decide_started_and_ready() {
        let p = pod("Always");
        let running = ContainerPhase::Running {
            started: SystemTime::now(),
        };
        let mut r = record(vec![running.clone(), running]);
        r.containers[1].probes = ProbeState {
            starting: false,
            unready: true,
        };
        let (_, status) = render(&p, &mut r, "127.0.0.1");
        assert_eq!(status["containerStatuses"][0]["ready"], true);
        assert_eq!(status["containerStatuses"][1]["ready"], false);
        assert_eq!(status["containerStatuses"][1]["started"], true);
        let ready = &status["conditions"][2];
        assert_eq!(
            (&ready["type"], &ready["status"]),
            (&json!("Ready"), &json!("False"))
        );
        assert_eq!(ready["message"], "containers with unready status: [c1]");
        assert_eq!(
            status["conditions"][3]["status"], "False",
            "ContainersReady"
        );

        r.containers[1].probes = ProbeState {
            starting: true,
            unready: false,
        };
        let (_, status) = render(&p, &mut r, "127.0.0.1");
        assert_eq!(status["containerStatuses"][1]["started"], false);
        assert_eq!(
            status["containerStatuses"][1]["ready"], false,
            "not started yet"
        );

        r.containers[1].probes = ProbeState::default();
        let (_, status) = render(&p, &mut r, "127.0.0.1");
        assert_eq!(status["conditions"][2]["status"], "True");
    }

    #[test]
    fn qos_classes() {
        let with = |resources: Value| -> Pod {
            serde_json::from_value(
                json!({"spec": {"containers": [{"name": "a", "resources": resources}]}}),
            )
            .expect("pod")
        };
        assert_eq!(qos_class(&with(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&with(json!({"limits": {"cpu": "1", "memory": "1Mi"}}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&with(json!({"requests": {"cpu": "1"}}))),
            "Burstable"
        );
    }
}
