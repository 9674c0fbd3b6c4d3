//! [`DemandHub`]: where the activation of a Service at zero meets the autoscaler that scales
//! it. The request-driven autoscaler publishes which Services it can scale from zero
//! ([`DemandHub::publish`]); an agent holding a request for such a Service activates it
//! through the API (`Activation`), which lands here ([`DemandHub::activate`]) and wakes the
//! autoscaler at once through a channel ([`DemandHub::subscribe`]). Nothing here is
//! written to the store.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// A Service with requests waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// Requests held for it by the agent that asked.
    pub held: u32,
}

/// Shared by the API server (activations in) and the autoscaler (Services out, demand in).
#[derive(Default)]
pub struct DemandHub {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// `(namespace, service)` → the workloads scaling it, as `Kind/name`.
    targets: HashMap<(String, String), BTreeSet<String>>,
    /// `(namespace, Kind/name)` → the Services it was published for.
    services: HashMap<(String, String), Vec<String>>,
    /// Where activations go; `None` until the autoscaler subscribes.
    wake: Option<mpsc::UnboundedSender<Demand>>,
}

impl DemandHub {
    /// Says that `target` (`Kind/name`, in `namespace`) scales `services` from zero,
    /// replacing what was said for it before.
    pub fn publish(&self, namespace: &str, target: &str, services: &[String]) {
        let mut inner = self.lock();
        let key = (namespace.to_string(), target.to_string());
        if inner.services.get(&key).is_some_and(|s| s == services) {
            return;
        }
        inner.forget(&key);
        for service in services {
            inner
                .targets
                .entry((namespace.to_string(), service.clone()))
                .or_default()
                .insert(target.to_string());
        }
        inner.services.insert(key, services.to_vec());
    }

    /// Says that `target` in `namespace` no longer scales anything.
    pub fn withdraw(&self, namespace: &str, target: &str) {
        let key = (namespace.to_string(), target.to_string());
        self.lock().forget(&key);
    }

    /// The workloads scaling `namespace/service` from zero, as `Kind/name`.
    pub fn targets(&self, namespace: &str, service: &str) -> Vec<String> {
        self.lock()
            .targets
            .get(&(namespace.to_string(), service.to_string()))
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// An agent holds `demand.held` requests for a Service: wakes the autoscaler when
    /// something scales the Service, and returns what does (empty: nobody, stop holding).
    pub fn activate(&self, demand: Demand) -> Vec<String> {
        let mut inner = self.lock();
        let targets: Vec<String> = inner
            .targets
            .get(&(demand.namespace.clone(), demand.service.clone()))
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        if !targets.is_empty()
            && let Some(wake) = &inner.wake
            && wake.send(demand).is_err()
        {
            inner.wake = None;
        }
        targets
    }

    /// The activations from now on; a later subscriber replaces an earlier one.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Demand> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().wake = Some(tx);
        rx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The sections below never panic midway, so a poisoned lock holds consistent maps.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn forget(&mut self, key: &(String, String)) {
        let (namespace, target) = key;
        for service in self.services.remove(key).unwrap_or_default() {
            let entry = (namespace.clone(), service);
            if let Some(targets) = self.targets.get_mut(&entry) {
                targets.remove(target);
                if targets.is_empty() {
                    self.targets.remove(&entry);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(service: &str, held: u32) -> Demand {
        Demand {
            namespace: "default".into(),
            service: service.into(),
            held,
        }
    }

    #[test]
    fn activation_answers_the_targets_and_wakes_the_autoscaler() {
        let hub = DemandHub::default();
        let mut woken = hub.subscribe();
        hub.publish("default", "Deployment/web", &["web".into(), "web-b".into()]);
        hub.publish("default", "Deployment/web2", &["web".into()]);
        assert_eq!(
            hub.activate(demand("web", 3)),
            vec!["Deployment/web", "Deployment/web2"]
        );
        assert_eq!(
            woken.try_recv().expect("as the test set up"),
            demand("web", 3)
        );
        assert!(hub.activate(demand("other", 1)).is_empty());
        assert!(woken.try_recv().is_err(), "nobody to wake for other");
    }

    #[test]
    fn publishing_again_replaces_and_withdraw_forgets() {
        let hub = DemandHub::default();
        hub.publish("default", "Deployment/web", &["a".into()]);
        hub.publish("default", "Deployment/web", &["b".into()]);
        assert!(hub.targets("default", "a").is_empty());
        assert_eq!(hub.targets("default", "b"), vec!["Deployment/web"]);
        assert!(hub.targets("other", "b").is_empty());
        hub.withdraw("default", "Deployment/web");
        assert!(hub.targets("default", "b").is_empty());
    }
}
