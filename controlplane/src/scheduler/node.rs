//! What the scheduler knows of a node: [`NodeFacts`], read once from the Node object each
//! time it changes, and [`NodeInfo`], the facts plus the pods counted against the node
//! (bound ones and ones this scheduler has assumed there).
//!
//! Readiness is a taint here, as in Kubernetes, where the node lifecycle controller taints
//! a node that is not Ready (`node.kubernetes.io/not-ready`, or `unreachable` when its
//! agent stopped reporting): a node whose Ready condition is not `True` gets that
//! `NoSchedule` taint if it does not already carry it, so a pod lands there only if it
//! tolerates it, and the FailedScheduling message names it as Kubernetes would.

use super::pod::PodInfo;
use super::resources::{Allocatable, PodRequests, allocatable};
use super::taints::NO_SCHEDULE;
use k8s_openapi::api::core::v1::{Node, Taint};
use std::collections::HashMap;
use std::sync::Arc;

/// Taint of a node whose Ready condition is `False` (or not reported yet).
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of a node whose Ready condition is `Unknown` (its agent went silent).
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint a pod must tolerate to be placed on a cordoned node.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// A node, read for scheduling.
#[derive(Debug)]
pub struct NodeFacts {
    /// Its name.
    pub name: Arc<str>,
    /// The Node object.
    pub node: Arc<Node>,
    /// What pods may use.
    pub allocatable: Allocatable,
    /// Cordoned (`spec.unschedulable`).
    pub unschedulable: bool,
    /// Its taints, with the readiness taint if it is not Ready.
    pub taints: Vec<Taint>,
}

impl NodeFacts {
    /// Reads a node.
    pub fn new(node: Arc<Node>) -> Self {
        let spec = node.spec.as_ref();
        let mut taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        if let Some(key) = readiness_taint(&node)
            && !taints
                .iter()
                .any(|t| t.key == key && t.effect == NO_SCHEDULE)
        {
            taints.push(Taint {
                key: key.to_string(),
                effect: NO_SCHEDULE.to_string(),
                value: None,
                time_added: None,
            });
        }
        Self {
            name: Arc::from(node.metadata.name.as_deref().unwrap_or_default()),
            allocatable: allocatable(&node),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            taints,
            node,
        }
    }

    /// Whether the two readings differ in anything a filter or score looks at (labels,
    /// taints and readiness, cordon, allocatable): a change that could let a pod fit.
    pub fn differs_for_scheduling(&self, other: &NodeFacts) -> bool {
        self.allocatable != other.allocatable
            || self.unschedulable != other.unschedulable
            || self.taints != other.taints
            || self.node.metadata.labels != other.node.metadata.labels
    }
}

/// The key of the taint standing for the node's readiness, if it is not Ready.
fn readiness_taint(node: &Node) -> Option<&'static str> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    match ready {
        Some("True") => None,
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        _ => Some(TAINT_NOT_READY),
    }
}

/// A node and the pods counted against it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// The node; `None` while pods name a node the informer does not have (yet).
    pub facts: Option<Arc<NodeFacts>>,
    /// The sum of the requests of its pods.
    pub requested: PodRequests,
    /// How many pods it has.
    pub pods: i64,
    /// Its pods per controller UID.
    pub owners: HashMap<Arc<str>, u32>,
}

impl NodeInfo {
    /// Counts a pod against the node.
    pub fn add(&mut self, requests: PodRequests, owner: Option<&Arc<str>>) {
        self.requested += requests;
        self.pods += 1;
        if let Some(owner) = owner {
            *self.owners.entry(owner.clone()).or_default() += 1;
        }
    }

    /// Counts a pod to place against the node.
    pub fn add_pod(&mut self, pod: &PodInfo) {
        self.add(pod.requests, pod.owner.as_ref());
    }

    /// Stops counting a pod.
    pub fn remove(&mut self, requests: PodRequests, owner: Option<&Arc<str>>) {
        self.requested -= requests;
        self.pods -= 1;
        if let Some(owner) = owner
            && let Some(n) = self.owners.get_mut(owner)
        {
            *n -= 1;
            if *n == 0 {
                self.owners.remove(owner);
            }
        }
    }

    /// Pods of the controller `owner` on the node.
    pub fn owned_by(&self, owner: &str) -> u32 {
        self.owners.get(owner).copied().unwrap_or(0)
    }

    /// Whether nothing is known of the node: it can be forgotten.
    pub fn is_empty(&self) -> bool {
        self.facts.is_none() && self.pods == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(ready: Option<&str>, taints: Vec<Taint>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("a".into()),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                taints: Some(taints),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: ready.map(|s| {
                    vec![NodeCondition {
                        type_: "Ready".into(),
                        status: s.into(),
                        ..NodeCondition::default()
                    }]
                }),
                ..NodeStatus::default()
            }),
        }
    }

    fn keys(facts: &NodeFacts) -> Vec<&str> {
        facts.taints.iter().map(|t| t.key.as_str()).collect()
    }

    #[test]
    fn readiness_becomes_a_no_schedule_taint() {
        assert!(keys(&NodeFacts::new(Arc::new(node(Some("True"), vec![])))).is_empty());
        assert_eq!(
            keys(&NodeFacts::new(Arc::new(node(Some("False"), vec![])))),
            [TAINT_NOT_READY]
        );
        assert_eq!(
            keys(&NodeFacts::new(Arc::new(node(None, vec![])))),
            [TAINT_NOT_READY]
        );
        let unknown = NodeFacts::new(Arc::new(node(Some("Unknown"), vec![])));
        assert_eq!(keys(&unknown), [TAINT_UNREACHABLE]);
        assert_eq!(unknown.taints[0].effect, NO_SCHEDULE);
    }

    #[test]
    fn a_readiness_taint_already_set_is_not_doubled() {
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            effect: NO_SCHEDULE.into(),
            value: None,
            time_added: None,
        };
        let facts = NodeFacts::new(Arc::new(node(Some("Unknown"), vec![taint])));
        assert_eq!(keys(&facts), [TAINT_UNREACHABLE]);
    }

    #[test]
    fn pods_are_counted_per_owner_and_uncounted() {
        let owner: Arc<str> = Arc::from("rs");
        let mut info = NodeInfo::default();
        info.add(PodRequests::default(), Some(&owner));
        info.add(PodRequests::default(), Some(&owner));
        assert_eq!((info.pods, info.owned_by("rs")), (2, 2));
        info.remove(PodRequests::default(), Some(&owner));
        info.remove(PodRequests::default(), Some(&owner));
        assert_eq!((info.pods, info.owned_by("rs")), (0, 0));
        assert!(info.owners.is_empty());
        assert!(info.is_empty());
    }
}
