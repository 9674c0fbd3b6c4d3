//! [`ReadyPods`]: the pods on this node the agent itself sees ready, with what a Service
//! selects them by (their labels) and resolves named target ports with (their container
//! ports). The routing table adds them to the endpoints of the Services that select them
//! ahead of their EndpointSlice: the slice follows the pod's Ready status through two
//! writes and two watches, while this node knows at once. A pod that just started — the
//! first pod of a Service scaling from zero above all — serves the requests waiting for
//! it without that round trip.
//!
//! The agent reports every pod's readiness as it renders the pod's status
//! ([`ReadyPods::set`]), and forgets a pod when its worker ends; each change wakes the
//! table builder ([`ReadyPods::changed`]).

use super::local::PodKey;
use k8s_openapi::api::core::v1::Pod;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

/// A ready pod on this node, as Services select it.
#[derive(Debug, PartialEq, Eq)]
pub struct ReadyPod {
    /// The pod.
    pub pod: PodKey,
    /// Its UID.
    pub uid: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its named TCP container ports.
    pub named_ports: Vec<(String, u16)>,
}

impl ReadyPod {
    fn of(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let named_ports = pod
            .spec
            .iter()
            .flat_map(|spec| &spec.containers)
            .flat_map(|container| container.ports.iter().flatten())
            .filter(|port| port.protocol.as_deref().is_none_or(|p| p == "TCP"))
            .filter_map(|port| {
                let number = u16::try_from(port.container_port).ok()?;
                Some((port.name.clone()?, number))
            })
            .collect();
        Self {
            pod: PodKey {
                namespace: meta.namespace.clone().unwrap_or_default(),
                name: meta.name.clone().unwrap_or_default(),
            },
            uid: meta.uid.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            named_ports,
        }
    }

    /// Whether `selector` (a Service's, equality on every label) selects the pod; an empty
    /// selector selects nothing, as a Service without one has hand-written endpoints.
    pub fn selected_by(&self, selector: &BTreeMap<String, String>) -> bool {
        !selector.is_empty()
            && selector
                .iter()
                .all(|(key, value)| self.labels.get(key) == Some(value))
    }

    /// The container port named `name`.
    pub fn named_port(&self, name: &str) -> Option<u16> {
        self.named_ports
            .iter()
            .find(|(port, _)| port == name)
            .map(|&(_, number)| number)
    }
}

/// This node's ready pods. Cheap to clone.
#[derive(Clone, Default)]
pub struct ReadyPods {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pods: RwLock<HashMap<PodKey, Arc<ReadyPod>>>,
    changed: Notify,
}

impl ReadyPods {
    /// Records whether `pod` is ready now. Only a change (ready or not, new labels or
    /// ports) wakes the table builder, so calling it on every status render is cheap.
    pub fn set(&self, pod: &Pod, ready: bool) {
        let meta = &pod.metadata;
        let key = PodKey {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        };
        let uid = meta.uid.as_deref().unwrap_or_default();
        let current = self.read().get(&key).cloned();
        let changed = match (current, ready) {
            (Some(current), true) => {
                let fresh = ReadyPod::of(pod);
                let differs = *current != fresh;
                if differs {
                    self.write().insert(key, Arc::new(fresh));
                }
                differs
            }
            (None, true) => {
                self.write().insert(key, Arc::new(ReadyPod::of(pod)));
                true
            }
            (Some(current), false) if current.uid == uid => self.remove(&key, uid),
            _ => false,
        };
        if changed {
            self.inner.changed.notify_one();
        }
    }

    /// Forgets pod `key` with `uid` (its worker ended).
    pub fn forget(&self, key: &PodKey, uid: &str) {
        if self.remove(key, uid) {
            self.inner.changed.notify_one();
        }
    }

    /// The ready pods now.
    pub fn snapshot(&self) -> Vec<Arc<ReadyPod>> {
        self.read().values().cloned().collect()
    }

    /// Resolves after the next change (or at once, if one happened since the last wait).
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Removes `key` if it is the pod with `uid` (not a newer pod of the same name).
    fn remove(&self, key: &PodKey, uid: &str) -> bool {
        let mut pods = self.write();
        if pods.get(key).is_some_and(|pod| pod.uid == uid) {
            pods.remove(key);
            true
        } else {
            false
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PodKey, Arc<ReadyPod>>> {
        // Sections under this lock do not panic; recover the map if one did.
        self.inner.pods.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PodKey, Arc<ReadyPod>>> {
        self.inner.pods.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use serde_json::json;

    fn pod(uid: &str, labels: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "default", "uid": uid, "labels": labels},
            "spec": {"containers": [{"name": "app", "ports": [
                {"name": "http", "containerPort": 8080},
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                {"containerPort": 9090},
            ]}]},
        }))
        .expect("pod")
    }

    #[test]
    fn only_changes_wake_the_builder() {
        let ready = ReadyPods::default();
        let web = pod("u1", json!({"app": "web"}));
        ready.set(&web, false);
        assert!(ready.changed().now_or_never().is_none(), "nothing changed");
        ready.set(&web, true);
        assert!(ready.changed().now_or_never().is_some(), "became ready");
        ready.set(&web, true);
        assert!(ready.changed().now_or_never().is_none(), "still ready");
        ready.set(&pod("u1", json!({"app": "api"})), true);
        assert!(ready.changed().now_or_never().is_some(), "relabelled");
        let [listed] = ready.snapshot().try_into().expect("one pod");
        assert_eq!(listed.labels["app"], "api");
        assert_eq!(listed.named_port("http"), Some(8080));
        assert_eq!(listed.named_port("dns"), None, "UDP is not served");
        ready.set(&web, false);
        assert!(ready.changed().now_or_never().is_some(), "became unready");
        assert!(ready.snapshot().is_empty());
    }

    #[test]
    fn an_old_pod_does_not_remove_a_newer_one_of_the_same_name() {
        let ready = ReadyPods::default();
        ready.set(&pod("new", json!({"app": "web"})), true);
        ready.set(&pod("old", json!({"app": "web"})), false);
        let key = PodKey {
            namespace: "default".into(),
            name: "web-1".into(),
        };
        ready.forget(&key, "old");
        assert_eq!(ready.snapshot().len(), 1);
        ready.forget(&key, "new");
        assert!(ready.snapshot().is_empty());
    }

    #[test]
    fn selectors_match_every_label_and_empty_ones_nothing() {
        let web = ReadyPod::of(&pod("u1", json!({"app": "web", "tier": "front"})));
        let selector = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(web.selected_by(&selector(&[("app", "web")])));
        assert!(web.selected_by(&selector(&[("app", "web"), ("tier", "front")])));
        assert!(!web.selected_by(&selector(&[("app", "web"), ("tier", "back")])));
        assert!(!web.selected_by(&selector(&[])));
    }
}
