//! [`Diagnosis`]: why a pod fits no node, told as kube-scheduler tells it in the
//! `FailedScheduling` event and the `PodScheduled` condition — "0/3 nodes are available:
//! 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient
//! memory." — each reason counted over the nodes and the counted reasons sorted as
//! strings (Go's `sort.Strings`), or "no nodes available to schedule pods" when the
//! cluster has no node at all.

use super::filter::Rejection;
use std::collections::HashMap;

/// The message when there are no nodes (kube-scheduler's `ErrNoNodesAvailable`).
pub const NO_NODES: &str = "no nodes available to schedule pods";

/// The reasons nodes gave for rejecting one pod.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    nodes: usize,
    reasons: HashMap<Rejection, usize>,
}

impl Diagnosis {
    /// A diagnosis over a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            reasons: HashMap::new(),
        }
    }

    /// Records one node's reasons.
    pub fn add(&mut self, reasons: Vec<Rejection>) {
        for reason in reasons {
            *self.reasons.entry(reason).or_default() += 1;
        }
    }

    /// The message, as kube-scheduler writes it.
    pub fn message(&self) -> String {
        if self.nodes == 0 {
            return NO_NODES.to_string();
        }
        let mut counted: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        counted.sort();
        if counted.is_empty() {
            format!("0/{} nodes are available.", self.nodes)
        } else {
            format!(
                "0/{} nodes are available: {}.",
                self.nodes,
                counted.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_and_sorted_as_strings() {
        let mut d = Diagnosis::new(3);
        d.add(vec![Rejection::Insufficient("memory")]);
        d.add(vec![Rejection::Taint {
            key: "node.kubernetes.io/unreachable".into(),
            value: String::new(),
        }]);
        d.add(vec![Rejection::Insufficient("memory")]);
        assert_eq!(
            d.message(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient memory."
        );
    }

    #[test]
    fn one_node_may_give_several_reasons() {
        let mut d = Diagnosis::new(12);
        for _ in 0..10 {
            d.add(vec![
                Rejection::Insufficient("cpu"),
                Rejection::Insufficient("memory"),
            ]);
        }
        d.add(vec![Rejection::Unschedulable]);
        d.add(vec![Rejection::Affinity]);
        // Sorted as strings, not numbers: "1 node(s)..." comes before "10 ..." (' ' < '0').
        assert_eq!(
            d.message(),
            "0/12 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable, 10 Insufficient cpu, 10 Insufficient memory."
        );
    }

    #[test]
    fn no_nodes_says_so() {
        assert_eq!(
            Diagnosis::new(0).message(),
            "no nodes available to schedule pods"
        );
    }
}
