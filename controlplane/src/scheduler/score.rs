//! Scores: among the nodes a pod fits, which is best — Kubernetes' default score plugins,
//! each normalized to 0..=100 and weighted as there:
//!
//! | plugin | weight | prefers |
//! |---|---|---|
//! | `TaintToleration` | 3 | fewer untolerated `PreferNoSchedule` taints |
//! | `NodeAffinity` | 2 | more preferred-term weight |
//! | spreading (as `PodTopologySpread`'s default per-node constraint) | 2 | fewer pods of the same controller |
//! | `NodeResourcesFit` (least allocated) | 1 | more free cpu and memory |
//! | `NodeResourcesBalancedAllocation` | 1 | cpu and memory used in the same proportion |
//!
//! A score that is the same on every node cannot change the choice and is skipped. Ties
//! are broken at random, as kube-scheduler does, so equal nodes share the load.

use super::affinity;
use super::node::NodeInfo;
use super::pod::PodInfo;
use super::resources::Resources;
use super::taints::untolerated_preferences;

/// The best score a plugin gives.
pub const MAX_NODE_SCORE: i64 = 100;

const WEIGHT_TAINTS: i64 = 3;
const WEIGHT_AFFINITY: i64 = 2;
const WEIGHT_SPREAD: i64 = 2;
const WEIGHT_LEAST_ALLOCATED: i64 = 1;
const WEIGHT_BALANCED: i64 = 1;

/// Picks nodes; keeps its buffers and random state between pods.
#[derive(Debug)]
pub struct Scorer {
    totals: Vec<i64>,
    raw: Vec<i64>,
    rng: u64,
}

impl Default for Scorer {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        Self::with_seed(seed)
    }
}

impl Scorer {
    /// A scorer whose tie-breaking follows `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            totals: Vec::new(),
            raw: Vec::new(),
            rng: seed | 1,
        }
    }

    /// The best of `feasible` (indexes into `nodes`, at least one) for `pod`.
    pub fn select(&mut self, pod: &PodInfo, feasible: &[usize], nodes: &[NodeInfo]) -> usize {
        if feasible.len() == 1 {
            return feasible[0];
        }
        self.totals.clear();
        self.totals.resize(feasible.len(), 0);
        for (total, &i) in self.totals.iter_mut().zip(feasible) {
            let node = &nodes[i];
            *total = WEIGHT_LEAST_ALLOCATED * least_allocated(pod, node)
                + WEIGHT_BALANCED * balanced(pod, node);
        }
        self.add_taints(pod, feasible, nodes);
        self.add_affinity(pod, feasible, nodes);
        self.add_spread(pod, feasible, nodes);
        self.pick(feasible)
    }

    fn add_taints(&mut self, pod: &PodInfo, feasible: &[usize], nodes: &[NodeInfo]) {
        let tolerations = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        self.raw.clear();
        self.raw.extend(feasible.iter().map(|&i| {
            nodes[i].facts.as_ref().map_or(0, |f| {
                untolerated_preferences(&f.taints, tolerations) as i64
            })
        }));
        self.add_normalized(WEIGHT_TAINTS, true);
    }

    fn add_affinity(&mut self, pod: &PodInfo, feasible: &[usize], nodes: &[NodeInfo]) {
        let terms = pod.pod.spec.as_ref().map(affinity::preferred_terms);
        let Some(terms) = terms.filter(|t| !t.is_empty()) else {
            return;
        };
        self.raw.clear();
        self.raw.extend(feasible.iter().map(|&i| {
            nodes[i]
                .facts
                .as_ref()
                .map_or(0, |f| affinity::preferred_weight(terms, &f.node))
        }));
        self.add_normalized(WEIGHT_AFFINITY, false);
    }

    fn add_spread(&mut self, pod: &PodInfo, feasible: &[usize], nodes: &[NodeInfo]) {
        let Some(owner) = &pod.owner else { return };
        self.raw.clear();
        self.raw.extend(
            feasible
                .iter()
                .map(|&i| i64::from(nodes[i].owned_by(owner))),
        );
        self.add_normalized(WEIGHT_SPREAD, true);
    }

    /// Adds `raw` scaled to 0..=100 by its maximum (`reverse`: the fewer the better), as
    /// Kubernetes' `DefaultNormalizeScore`; nothing if every node scores the same.
    fn add_normalized(&mut self, weight: i64, reverse: bool) {
        let max = self.raw.iter().copied().max().unwrap_or(0);
        let min = self.raw.iter().copied().min().unwrap_or(0);
        if max == min {
            return;
        }
        for (total, &raw) in self.totals.iter_mut().zip(&self.raw) {
            let score = MAX_NODE_SCORE * raw / max;
            *total += weight
                * if reverse {
                    MAX_NODE_SCORE - score
                } else {
                    score
                };
        }
    }

    /// The highest total; among equals, one at random (reservoir sampling).
    fn pick(&mut self, feasible: &[usize]) -> usize {
        let mut best = 0;
        let mut ties = 0u64;
        for n in 0..self.totals.len() {
            let total = self.totals[n];
            if total > self.totals[best] {
                best = n;
                ties = 1;
            } else if total == self.totals[best] {
                ties += 1;
                if self.next().is_multiple_of(ties) {
                    best = n;
                }
            }
        }
        feasible[best]
    }

    /// xorshift64*: cheap, good enough to spread ties.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The share of the node left free after placing the pod, cpu and memory averaged.
fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let Some(facts) = &node.facts else { return 0 };
    let alloc = facts.allocatable.resources;
    let used = node.requested.nonzero + pod.requests.nonzero;
    let free = |capacity: i64, requested: i64| {
        if capacity <= 0 || requested > capacity {
            0
        } else {
            (capacity - requested) * MAX_NODE_SCORE / capacity
        }
    };
    (free(alloc.milli_cpu, used.milli_cpu) + free(alloc.memory, used.memory)) / 2
}

/// How evenly cpu and memory would be used: 100 when in the same proportion.
fn balanced(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let Some(facts) = &node.facts else { return 0 };
    let alloc = facts.allocatable.resources;
    let used: Resources = node.requested.exact + pod.requests.exact;
    let fraction = |capacity: i64, requested: i64| {
        if capacity <= 0 {
            0.0
        } else {
            (requested as f64 / capacity as f64).min(1.0)
        }
    };
    let cpu = fraction(alloc.milli_cpu, used.milli_cpu);
    let memory = fraction(alloc.memory, used.memory);
    let deviation = (cpu - memory).abs() / 2.0;
    ((1.0 - deviation) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node::NodeFacts;
    use crate::scheduler::testing::{node, pod};
    use k8s_openapi::api::core::v1::{
        Affinity, NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm, NodeSpec,
        PreferredSchedulingTerm, Taint,
    };
    use std::collections::{BTreeMap, HashSet};
    use std::sync::Arc;

    fn infos(nodes: Vec<k8s_openapi::api::core::v1::Node>) -> Vec<NodeInfo> {
        nodes
            .into_iter()
            .map(|n| NodeInfo {
                facts: Some(Arc::new(NodeFacts::new(Arc::new(n)))),
                ..NodeInfo::default()
            })
            .collect()
    }

    #[test]
    fn the_emptier_node_wins() {
        let mut nodes = infos(vec![node("a", "4", "4Gi", 110), node("b", "4", "4Gi", 110)]);
        nodes[0].add_pod(&pod("busy", "3", "3Gi"));
        let mut scorer = Scorer::with_seed(7);
        for _ in 0..20 {
            assert_eq!(
                scorer.select(&pod("p", "100m", "100Mi"), &[0, 1], &nodes),
                1
            );
        }
    }

    #[test]
    fn pods_of_one_controller_spread() {
        let mut nodes = infos(vec![
            node("a", "64", "64Gi", 110),
            node("b", "64", "64Gi", 110),
        ]);
        let mut p = pod("p", "0", "0");
        p.owner = Some(Arc::from("rs-1"));
        nodes[0].add_pod(&p);
        let mut scorer = Scorer::with_seed(7);
        assert_eq!(scorer.select(&p, &[0, 1], &nodes), 1);
        let mut other = p.clone();
        other.owner = Some(Arc::from("rs-2"));
        let picks: HashSet<usize> = (0..50)
            .map(|_| scorer.select(&other, &[0, 1], &nodes))
            .collect();
        assert_eq!(
            picks.len(),
            2,
            "another controller's pods are not pushed away"
        );
    }

    #[test]
    fn preferred_affinity_outweighs_free_room() {
        let mut labelled = node("a", "4", "4Gi", 110);
        labelled.metadata.labels = Some(BTreeMap::from([("disk".into(), "ssd".into())]));
        let mut nodes = infos(vec![labelled, node("b", "4", "4Gi", 110)]);
        nodes[0].add_pod(&pod("busy", "2", "2Gi"));
        let mut p = pod("p", "100m", "100Mi");
        Arc::make_mut(&mut p.pod)
            .spec
            .as_mut()
            .expect("spec")
            .affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![
                    PreferredSchedulingTerm {
                        weight: 50,
                        preference: NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: "disk".into(),
                                operator: "In".into(),
                                values: Some(vec!["ssd".into()]),
                            }]),
                            match_fields: None,
                        },
                    },
                ]),
                ..NodeAffinity::default()
            }),
            ..Affinity::default()
        });
        assert_eq!(Scorer::with_seed(3).select(&p, &[0, 1], &nodes), 0);
    }

    #[test]
    fn prefer_no_schedule_taints_are_avoided() {
        let mut tainted = node("a", "4", "4Gi", 110);
        tainted.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "spot".into(),
                effect: "PreferNoSchedule".into(),
                value: None,
                time_added: None,
            }]),
            ..NodeSpec::default()
        });
        let mut nodes = infos(vec![tainted, node("b", "4", "4Gi", 110)]);
        nodes[1].add_pod(&pod("busy", "2", "2Gi"));
        assert_eq!(
            Scorer::with_seed(3).select(&pod("p", "0", "0"), &[0, 1], &nodes),
            1
        );
    }

    #[test]
    fn equal_nodes_share_the_load() {
        let nodes = infos(vec![
            node("a", "4", "4Gi", 110),
            node("b", "4", "4Gi", 110),
            node("c", "4", "4Gi", 110),
        ]);
        let mut scorer = Scorer::with_seed(11);
        let mut counts = [0; 3];
        for _ in 0..300 {
            counts[scorer.select(&pod("p", "0", "0"), &[0, 1, 2], &nodes)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 50), "ties spread: {counts:?}");
    }
}
