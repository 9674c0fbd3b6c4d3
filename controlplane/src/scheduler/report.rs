//! [`Reporter`]: tells why a pod could not be placed, as kube-scheduler does — a
//! `FailedScheduling` warning event, and the pod's `PodScheduled` condition set to
//! `False` with reason `Unschedulable` and the same message.
//!
//! The condition is written only when it changes (a retry that fails the same way writes
//! nothing), and only while the pod is still the same unbound pod. The event is recorded
//! when its message changes, and repeated at most every [`EVENT_REPEAT`] while it stays
//! the same, so a pod parked for long does not write on every retry.

use super::pod::{PodInfo, node_name};
use crate::machinery::client::Client;
use crate::machinery::informer::split_key;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use skiff_model::events::{Involved, Recorder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How often the same `FailedScheduling` event is repeated for a pod that stays
/// unschedulable for the same reason.
pub const EVENT_REPEAT: Duration = Duration::from_secs(30);

/// The condition's reason for a pod that fits no node.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// Reports unschedulable pods.
pub struct Reporter {
    client: Client,
    events: Recorder,
    permits: Arc<Semaphore>,
    /// Per pod key: the last message recorded as an event, and when.
    recorded: Mutex<HashMap<String, (String, Instant)>>,
}

impl Reporter {
    /// A reporter writing through `client`, sharing `permits` with the other writers.
    pub fn new(client: Client, events: Recorder, permits: Arc<Semaphore>) -> Self {
        Self {
            client,
            events,
            permits,
            recorded: Mutex::new(HashMap::new()),
        }
    }

    fn recorded(&self) -> MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reports that `pod` fits no node, for the reason `message`.
    pub async fn unschedulable(&self, pod: &PodInfo, message: String) {
        let record = {
            let mut recorded = self.recorded();
            match recorded.get(&pod.key) {
                Some((last, at)) if *last == message && at.elapsed() < EVENT_REPEAT => false,
                _ => {
                    recorded.insert(pod.key.clone(), (message.clone(), Instant::now()));
                    true
                }
            }
        };
        if record {
            self.events.warning(
                Involved::of::<Pod>(&pod.pod.metadata),
                "FailedScheduling",
                message.clone(),
            );
        }
        if condition_is(&pod.pod, &message) {
            return;
        }
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return;
        };
        let client = self.client.clone();
        let key = pod.key.clone();
        let uid = pod.uid().to_string();
        tokio::spawn(async move {
            let (namespace, name) = split_key(&key);
            let result = client
                .update_status::<Pod>(namespace, name, |pod| {
                    pod.metadata.uid.as_deref() == Some(uid.as_str())
                        && node_name(pod).is_none()
                        && set_unschedulable(pod, &message)
                })
                .await;
            drop(permit);
            if let Err(e) = result {
                tracing::debug!(pod = %key, error = %e.message, "cannot set PodScheduled");
            }
        });
    }

    /// Forgets a pod that is no longer pending.
    pub fn forget(&self, key: &str) {
        self.recorded().remove(key);
    }
}

/// Whether the pod's `PodScheduled` condition already says `message`.
fn condition_is(pod: &Pod, message: &str) -> bool {
    scheduled_condition(pod).is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some(REASON_UNSCHEDULABLE)
            && c.message.as_deref() == Some(message)
    })
}

fn scheduled_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")
}

/// Sets `PodScheduled=False/Unschedulable` with `message`; returns whether that changed
/// anything. The transition time moves only when the status does.
pub fn set_unschedulable(pod: &mut Pod, message: &str) -> bool {
    if condition_is(pod, message) {
        return false;
    }
    let transition = scheduled_condition(pod)
        .filter(|c| c.status == "False")
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(skiff_model::time::now_time);
    let conditions = pod
        .status
        .get_or_insert_default()
        .conditions
        .get_or_insert_default();
    conditions.retain(|c| c.type_ != "PodScheduled");
    conditions.push(PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some(REASON_UNSCHEDULABLE.into()),
        message: Some(message.to_string()),
        last_transition_time: Some(transition),
        ..PodCondition::default()
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_is_set_once_per_message() {
        let mut pod = Pod::default();
        assert!(set_unschedulable(
            &mut pod,
            "0/1 nodes are available: 1 Insufficient cpu."
        ));
        let first = scheduled_condition(&pod).cloned().expect("set");
        assert_eq!(first.status, "False");
        assert_eq!(first.reason.as_deref(), Some("Unschedulable"));
        assert!(!set_unschedulable(
            &mut pod,
            "0/1 nodes are available: 1 Insufficient cpu."
        ));
        assert!(set_unschedulable(
            &mut pod,
            "0/2 nodes are available: 2 Insufficient cpu."
        ));
        let conditions = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .expect("set");
        assert_eq!(conditions.len(), 1, "replaced, not added");
        assert_eq!(
            conditions[0].last_transition_time, first.last_transition_time,
            "still False: the transition time stays"
        );
    }
}
