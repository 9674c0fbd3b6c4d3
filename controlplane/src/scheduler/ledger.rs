//! [`Ledger`]: the scheduler's running account of every node — its facts and the pods
//! counted against it — kept by the informers' handlers, so that a scheduling cycle starts
//! from a ready [`Snapshot`] instead of walking every pod.
//!
//! A pod counts against its node from the moment this scheduler decides to put it there
//! (it is *assumed*) until the pod is gone or finished. When the informer shows the pod
//! bound to that node, the assumption is confirmed; if its binding fails, it is forgotten.
//! An assumed pod that the informer still shows unbound stays assumed: the informer has
//! not caught up with the binding yet.

use super::node::{NodeFacts, NodeInfo};
use super::pod::{PodInfo, controller_uid, node_name, occupies_node};
use super::resources::{PodRequests, pod_requests};
use super::snapshot::Snapshot;
use k8s_openapi::api::core::v1::{Node, Pod};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Nodes and the pods counted against them. Shared by the handlers and the scheduler.
#[derive(Default)]
pub struct Ledger {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By node name, sorted (so snapshots list nodes in a stable order).
    nodes: BTreeMap<Arc<str>, NodeInfo>,
    /// Counted pods by `namespace/name`.
    pods: HashMap<String, Counted>,
}

/// A pod counted against a node.
struct Counted {
    uid: String,
    node: Arc<str>,
    requests: PodRequests,
    owner: Option<Arc<str>>,
    /// Placed by this scheduler; the informer has not shown it bound yet.
    assumed: bool,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes in a node's new state (`None`: deleted). Returns whether pods that did not
    /// fit before might fit now: the node is new, or changed in what filters look at.
    pub fn node_changed(&self, name: &str, node: Option<Arc<Node>>) -> bool {
        let mut state = self.lock();
        match node {
            Some(node) => {
                let facts = Arc::new(NodeFacts::new(node));
                let info = state.nodes.entry(Arc::clone(&facts.name)).or_default();
                let helps = info
                    .facts
                    .as_ref()
                    .is_none_or(|old| old.differs_for_scheduling(&facts));
                info.facts = Some(facts);
                helps
            }
            None => {
                if let Some(info) = state.nodes.get_mut(name) {
                    info.facts = None;
                    if info.is_empty() {
                        state.nodes.remove(name);
                    }
                }
                false
            }
        }
    }

    /// Takes in a pod's new state (`None`: deleted). Returns whether this freed room on a
    /// node (a counted pod went away or finished).
    pub fn pod_changed(&self, key: &str, pod: Option<&Pod>) -> bool {
        let mut state = self.lock();
        let uid = pod
            .and_then(|p| p.metadata.uid.as_deref())
            .unwrap_or_default();
        let bound = pod.filter(|p| occupies_node(p)).and_then(node_name);
        if let Some(counted) = state.pods.get_mut(key)
            && counted.uid == uid
        {
            match bound {
                Some(node) if *counted.node == *node => {
                    counted.assumed = false;
                    return false;
                }
                // Bound as assumed, but the informer does not show it yet.
                None if counted.assumed && pod.is_some_and(|p| node_name(p).is_none()) => {
                    return false;
                }
                _ => {}
            }
        }
        let freed = state.uncount(key);
        if let (Some(pod), Some(node)) = (pod, bound) {
            let requests = pod.spec.as_ref().map(pod_requests).unwrap_or_default();
            state.count(
                key.to_string(),
                Counted {
                    uid: uid.to_string(),
                    node: Arc::from(node),
                    requests,
                    owner: controller_uid(&pod.metadata),
                    assumed: false,
                },
            );
        }
        freed
    }

    /// Counts pods against the nodes this scheduler chose for them.
    pub fn assume(&self, placed: &[(PodInfo, Arc<str>)]) {
        let mut state = self.lock();
        for (pod, node) in placed {
            state.uncount(&pod.key);
            state.count(
                pod.key.clone(),
                Counted {
                    uid: pod.uid().to_string(),
                    node: Arc::clone(node),
                    requests: pod.requests,
                    owner: pod.owner.clone(),
                    assumed: true,
                },
            );
        }
    }

    /// Forgets an assumed pod whose binding failed. Returns whether it was assumed.
    pub fn forget(&self, key: &str, uid: &str) -> bool {
        let mut state = self.lock();
        let assumed = state
            .pods
            .get(key)
            .is_some_and(|c| c.assumed && c.uid == uid);
        if assumed {
            state.uncount(key);
        }
        assumed
    }

    /// Whether the pod is placed and its binding not yet seen.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.lock().pods.get(key).is_some_and(|c| c.assumed)
    }

    /// A copy of every known node and its usage, for one scheduling cycle.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot::new(
            state
                .nodes
                .values()
                .filter(|info| info.facts.is_some())
                .cloned()
                .collect(),
        )
    }
}

impl State {
    fn count(&mut self, key: String, counted: Counted) {
        self.nodes
            .entry(Arc::clone(&counted.node))
            .or_default()
            .add(counted.requests, counted.owner.as_ref());
        self.pods.insert(key, counted);
    }

    fn uncount(&mut self, key: &str) -> bool {
        let Some(counted) = self.pods.remove(key) else {
            return false;
        };
        if let Some(info) = self.nodes.get_mut(&*counted.node) {
            info.remove(counted.requests, counted.owner.as_ref());
            if info.is_empty() {
                self.nodes.remove(&*counted.node);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{node, pod};
    use k8s_openapi::api::core::v1::PodStatus;

    fn bound(info: &PodInfo, node: &str, phase: &str) -> Pod {
        let mut pod = (*info.pod).clone();
        pod.spec.as_mut().expect("spec").node_name = Some(node.into());
        pod.status = Some(PodStatus {
            phase: Some(phase.into()),
            ..PodStatus::default()
        });
        pod
    }

    fn used(ledger: &Ledger, node: &str) -> (i64, i64) {
        let snapshot = ledger.snapshot();
        let info = snapshot
            .nodes()
            .iter()
            .find(|n| n.facts.as_ref().is_some_and(|f| &*f.name == node))
            .expect("node in snapshot");
        (info.pods, info.requested.exact.milli_cpu)
    }

    #[test]
    fn an_assumed_pod_counts_until_confirmed_and_is_not_counted_twice() {
        let ledger = Ledger::new();
        assert!(ledger.node_changed("a", Some(Arc::new(node("a", "4", "4Gi", 10)))));
        let p = pod("p", "1", "1Mi");
        ledger.assume(&[(p.clone(), Arc::from("a"))]);
        assert_eq!(used(&ledger, "a"), (1, 1000));
        assert!(ledger.is_assumed(&p.key));
        // The informer still shows the pod unbound: it stays assumed.
        assert!(!ledger.pod_changed(&p.key, Some(&p.pod)));
        assert!(ledger.is_assumed(&p.key));
        // Bound: confirmed, counted once.
        assert!(!ledger.pod_changed(&p.key, Some(&bound(&p, "a", "Pending"))));
        assert!(!ledger.is_assumed(&p.key));
        assert_eq!(used(&ledger, "a"), (1, 1000));
        // Finished: the room is freed.
        assert!(ledger.pod_changed(&p.key, Some(&bound(&p, "a", "Succeeded"))));
        assert_eq!(used(&ledger, "a"), (0, 0));
    }

    #[test]
    fn a_failed_binding_is_forgotten() {
        let ledger = Ledger::new();
        ledger.node_changed("a", Some(Arc::new(node("a", "4", "4Gi", 10))));
        let p = pod("p", "1", "1Mi");
        ledger.assume(&[(p.clone(), Arc::from("a"))]);
        assert!(!ledger.forget(&p.key, "another-uid"));
        assert!(ledger.forget(&p.key, p.uid()));
        assert_eq!(used(&ledger, "a"), (0, 0));
        assert!(!ledger.forget(&p.key, p.uid()));
    }

    #[test]
    fn deleted_pods_free_their_node_and_node_changes_that_matter_are_reported() {
        let ledger = Ledger::new();
        let p = pod("p", "1", "1Mi");
        // A pod seen before its node.
        ledger.pod_changed(&p.key, Some(&bound(&p, "a", "Running")));
        assert!(
            ledger.snapshot().nodes().is_empty(),
            "a node not known yet is not offered"
        );
        assert!(ledger.node_changed("a", Some(Arc::new(node("a", "4", "4Gi", 10)))));
        assert_eq!(used(&ledger, "a"), (1, 1000));
        assert!(
            !ledger.node_changed("a", Some(Arc::new(node("a", "4", "4Gi", 10)))),
            "same facts"
        );
        assert!(ledger.node_changed("a", Some(Arc::new(node("a", "8", "4Gi", 10)))));
        assert!(ledger.pod_changed(&p.key, None));
        assert_eq!(used(&ledger, "a"), (0, 0));
        ledger.node_changed("a", None);
        assert!(ledger.snapshot().nodes().is_empty());
    }
}
