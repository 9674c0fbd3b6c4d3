//! Filters: whether a pod may go on a node, and if not, why — in the order and with the
//! words of Kubernetes' default filter plugins: `NodeUnschedulable` (cordoned),
//! `TaintToleration` (`NoSchedule`/`NoExecute` taints, readiness included),
//! `NodeAffinity` (`nodeSelector` and required node affinity), `NodeResourcesFit` (pod
//! count, cpu, memory). The first failing filter gives the node's reasons.

use super::affinity;
use super::node::{NodeInfo, TAINT_UNSCHEDULABLE};
use super::pod::PodInfo;
use super::taints::{NO_SCHEDULE, first_untolerated, tolerated};
use k8s_openapi::api::core::v1::{Taint, Toleration};
use std::fmt;

/// Why a node cannot take a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The node is cordoned.
    Unschedulable,
    /// The node has a taint the pod does not tolerate.
    Taint {
        /// The taint's key.
        key: String,
        /// The taint's value.
        value: String,
    },
    /// The node's labels do not satisfy the pod's selector or required affinity.
    Affinity,
    /// The node has as many pods as it takes.
    TooManyPods,
    /// Not enough of a resource is left (`cpu`, `memory`).
    Insufficient(&'static str),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unschedulable => f.write_str("node(s) were unschedulable"),
            Rejection::Taint { key, value } => {
                write!(f, "node(s) had untolerated taint {{{key}: {value}}}")
            }
            Rejection::Affinity => f.write_str("node(s) didn't match Pod's node affinity/selector"),
            Rejection::TooManyPods => f.write_str("Too many pods"),
            Rejection::Insufficient(resource) => write!(f, "Insufficient {resource}"),
        }
    }
}

/// Checks the pod against the node: `Ok` if it fits, else the node's reasons (one, or
/// several resources).
pub fn check(pod: &PodInfo, node: &NodeInfo) -> Result<(), Vec<Rejection>> {
    let Some(facts) = &node.facts else {
        return Err(vec![Rejection::Unschedulable]);
    };
    let spec = pod.pod.spec.as_ref();
    let tolerations: &[Toleration] = spec
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    if facts.unschedulable && !tolerated(tolerations, &cordon_taint()) {
        return Err(vec![Rejection::Unschedulable]);
    }
    if let Some(taint) = first_untolerated(&facts.taints, tolerations) {
        return Err(vec![Rejection::Taint {
            key: taint.key.clone(),
            value: taint.value.clone().unwrap_or_default(),
        }]);
    }
    if let Some(spec) = spec
        && !affinity::required_matches(spec, &facts.node)
    {
        return Err(vec![Rejection::Affinity]);
    }
    let mut short = Vec::new();
    if node.pods + 1 > facts.allocatable.pods {
        short.push(Rejection::TooManyPods);
    }
    let wanted = pod.requests.exact;
    let free = facts.allocatable.resources;
    let used = node.requested.exact;
    if wanted.milli_cpu > 0 && wanted.milli_cpu > free.milli_cpu - used.milli_cpu {
        short.push(Rejection::Insufficient("cpu"));
    }
    if wanted.memory > 0 && wanted.memory > free.memory - used.memory {
        short.push(Rejection::Insufficient("memory"));
    }
    if short.is_empty() { Ok(()) } else { Err(short) }
}

/// The taint a pod tolerates to go on a cordoned node.
fn cordon_taint() -> Taint {
    Taint {
        key: TAINT_UNSCHEDULABLE.to_string(),
        effect: NO_SCHEDULE.to_string(),
        value: None,
        time_added: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::node::NodeFacts;
    use crate::scheduler::testing::{node, pod};
    use k8s_openapi::api::core::v1::NodeSpec;
    use std::sync::Arc;

    fn info(node: k8s_openapi::api::core::v1::Node) -> NodeInfo {
        NodeInfo {
            facts: Some(Arc::new(NodeFacts::new(Arc::new(node)))),
            ..NodeInfo::default()
        }
    }

    #[test]
    fn a_ready_node_with_room_fits() {
        let n = info(node("a", "2", "1Gi", 10));
        assert_eq!(check(&pod("p", "1", "512Mi"), &n), Ok(()));
    }

    #[test]
    fn a_cordoned_node_fits_only_pods_tolerating_the_cordon() {
        let mut n = node("a", "2", "1Gi", 10);
        n.spec = Some(NodeSpec {
            unschedulable: Some(true),
            ..NodeSpec::default()
        });
        let n = info(n);
        let mut p = pod("p", "1", "1Mi");
        assert_eq!(check(&p, &n), Err(vec![Rejection::Unschedulable]));
        Arc::make_mut(&mut p.pod)
            .spec
            .as_mut()
            .expect("spec")
            .tolerations = Some(vec![Toleration {
            key: Some(TAINT_UNSCHEDULABLE.into()),
            operator: Some("Exists".into()),
            effect: Some(NO_SCHEDULE.into()),
            ..Toleration::default()
        }]);
        assert_eq!(check(&p, &n), Ok(()));
    }

    #[test]
    fn a_node_that_is_not_ready_is_reported_by_its_taint() {
        let mut n = node("a", "2", "1Gi", 10);
        n.status
            .as_mut()
            .expect("status")
            .conditions
            .as_mut()
            .expect("conditions")[0]
            .status = "Unknown".into();
        assert_eq!(
            check(&pod("p", "1", "1Mi"), &info(n)),
            Err(vec![Rejection::Taint {
                key: "node.kubernetes.io/unreachable".into(),
                value: String::new()
            }])
        );
    }

    #[test]
    fn resources_count_what_is_already_on_the_node() {
        let mut n = info(node("a", "2", "1Gi", 10));
        let p = pod("p", "1500m", "600Mi");
        assert_eq!(check(&p, &n), Ok(()));
        n.add_pod(&p);
        assert_eq!(
            check(&p, &n),
            Err(vec![
                Rejection::Insufficient("cpu"),
                Rejection::Insufficient("memory")
            ])
        );
        assert_eq!(
            check(&pod("q", "0", "0"), &n),
            Ok(()),
            "asking for nothing always fits"
        );
    }

    #[test]
    fn the_pod_count_is_bounded_by_allocatable_pods() {
        let mut n = info(node("a", "2", "1Gi", 1));
        let p = pod("p", "0", "0");
        n.add_pod(&p);
        assert_eq!(check(&p, &n), Err(vec![Rejection::TooManyPods]));
    }

    #[test]
    fn reasons_read_as_kubernetes_writes_them() {
        let taint = Rejection::Taint {
            key: "node.kubernetes.io/unreachable".into(),
            value: String::new(),
        };
        assert_eq!(
            taint.to_string(),
            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
        );
        assert_eq!(
            Rejection::Insufficient("memory").to_string(),
            "Insufficient memory"
        );
        assert_eq!(
            Rejection::Unschedulable.to_string(),
            "node(s) were unschedulable"
        );
    }
}
