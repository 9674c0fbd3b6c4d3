//! [`Snapshot`]: the nodes as one scheduling cycle sees them. Pods of a batch are placed
//! one after the other against it, each counted on its node at once, so the batch is
//! decided as if the pods had been scheduled one by one — without a round trip each.

use super::diagnosis::Diagnosis;
use super::filter;
use super::node::NodeInfo;
use super::pod::PodInfo;
use super::score::Scorer;
use std::sync::Arc;

/// Nodes and their usage, for one cycle.
#[derive(Debug, Default)]
pub struct Snapshot {
    nodes: Vec<NodeInfo>,
    feasible: Vec<usize>,
}

impl Snapshot {
    /// A snapshot of `nodes` (each with its facts).
    pub fn new(nodes: Vec<NodeInfo>) -> Self {
        Self {
            nodes,
            feasible: Vec::new(),
        }
    }

    /// The nodes.
    #[cfg(test)]
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Chooses a node for `pod` and counts the pod on it; or says why none fits.
    pub fn place(&mut self, pod: &PodInfo, scorer: &mut Scorer) -> Result<Arc<str>, Diagnosis> {
        self.feasible.clear();
        let mut diagnosis = Diagnosis::new(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            match filter::check(pod, node) {
                Ok(()) => self.feasible.push(i),
                Err(reasons) => diagnosis.add(reasons),
            }
        }
        if self.feasible.is_empty() {
            return Err(diagnosis);
        }
        let chosen = scorer.select(pod, &self.feasible, &self.nodes);
        let node = &mut self.nodes[chosen];
        node.add_pod(pod);
        let facts = node.facts.as_ref().expect("snapshot nodes have facts");
        Ok(Arc::clone(&facts.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node::NodeFacts;
    use crate::scheduler::testing::{node, pod};

    fn snapshot(nodes: Vec<k8s_openapi::api::core::v1::Node>) -> Snapshot {
        Snapshot::new(
            nodes
                .into_iter()
                .map(|n| NodeInfo {
                    facts: Some(Arc::new(NodeFacts::new(Arc::new(n)))),
                    ..NodeInfo::default()
                })
                .collect(),
        )
    }

    #[test]
    fn a_batch_never_overcommits_a_node() {
        let mut s = snapshot(vec![node("a", "1", "1Gi", 100), node("b", "1", "1Gi", 100)]);
        let mut scorer = Scorer::with_seed(1);
        let placed: Vec<_> = (0..5)
            .map(|i| s.place(&pod(&format!("p{i}"), "400m", "1Mi"), &mut scorer))
            .collect();
        assert_eq!(
            placed.iter().filter(|r| r.is_ok()).count(),
            4,
            "two per node"
        );
        let Err(diagnosis) = &placed[4] else {
            panic!("the fifth pod fits nowhere")
        };
        assert_eq!(
            diagnosis.message(),
            "0/2 nodes are available: 2 Insufficient cpu."
        );
        for n in s.nodes() {
            assert!(n.requested.exact.milli_cpu <= 1000);
        }
    }

    #[test]
    fn an_empty_cluster_has_no_nodes_available() {
        let mut s = snapshot(vec![]);
        let err = s
            .place(&pod("p", "0", "0"), &mut Scorer::with_seed(1))
            .expect_err("nowhere to go");
        assert_eq!(err.message(), "no nodes available to schedule pods");
    }
}
