//! The taints the node lifecycle controller keeps on nodes, as Kubernetes names them:
//! `NoSchedule` taints mirroring the node's conditions (`not-ready` for Ready=False,
//! `unreachable` for Ready=Unknown, the pressure conditions, `unschedulable` for a cordoned
//! node), and the `NoExecute` taints `not-ready` and `unreachable` that make the taint
//! eviction controller move pods away. Taints anyone else set are never touched.

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The node's Ready condition is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The node's Ready condition is Unknown: its agent stopped reporting.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The node is cordoned (`spec.unschedulable`).
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The node reports MemoryPressure.
pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
/// The node reports DiskPressure.
pub const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
/// The node reports PIDPressure.
pub const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
/// The node reports NetworkUnavailable.
pub const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
/// Set by an operator on a node known to be down for good: the pod garbage collector
/// then force-deletes the pods stuck terminating there.
pub const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// New pods that do not tolerate the taint are not placed on the node.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// Pods that do not tolerate the taint are also evicted from the node.
pub const NO_EXECUTE: &str = "NoExecute";

/// Which condition status brings which `NoSchedule` taint (Kubernetes'
/// `nodeConditionToTaintKeyStatusMap`).
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", NOT_READY),
    ("Ready", "Unknown", UNREACHABLE),
    ("MemoryPressure", "True", MEMORY_PRESSURE),
    ("DiskPressure", "True", DISK_PRESSURE),
    ("PIDPressure", "True", PID_PRESSURE),
    ("NetworkUnavailable", "True", NETWORK_UNAVAILABLE),
];

/// A taint without value, added now if it is not on the node yet.
pub fn taint(key: &str, effect: &str) -> Taint {
    Taint {
        key: key.to_string(),
        effect: effect.to_string(),
        value: None,
        time_added: None,
    }
}

/// The status of the node's condition of type `kind` (`True`, `False`, `Unknown`).
pub fn condition_status<'a>(node: &'a Node, kind: &str) -> Option<&'a str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

/// The status of the node's Ready condition.
pub fn ready_status(node: &Node) -> Option<&str> {
    condition_status(node, "Ready")
}

/// The node's taints.
pub fn taints_of(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// Whether the node has a taint with `key` and `effect`.
pub fn has(node: &Node, key: &str, effect: &str) -> bool {
    taints_of(node)
        .iter()
        .any(|t| t.key == key && t.effect == effect)
}

/// The `NoSchedule` taints the node's conditions and `spec.unschedulable` call for.
pub fn no_schedule_taints(node: &Node) -> Vec<Taint> {
    let mut taints: Vec<Taint> = CONDITION_TAINTS
        .iter()
        .filter(|(kind, status, _)| condition_status(node, kind) == Some(status))
        .map(|(_, _, key)| taint(key, NO_SCHEDULE))
        .collect();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        taints.push(taint(UNSCHEDULABLE, NO_SCHEDULE));
    }
    taints
}

/// Whether this controller owns `taint`: a condition or cordon taint with `NoSchedule`,
/// or `not-ready`/`unreachable` with `NoExecute`.
pub fn is_managed(taint: &Taint) -> bool {
    match taint.effect.as_str() {
        NO_SCHEDULE => {
            taint.key == UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == taint.key)
        }
        NO_EXECUTE => taint.key == NOT_READY || taint.key == UNREACHABLE,
        _ => false,
    }
}

/// Makes the managed taints in `taints` exactly `desired` (by key and effect), leaving
/// every other taint alone. A managed taint already present keeps its `timeAdded`; a new
/// `NoExecute` one gets `now`. Returns whether anything changed.
pub fn replace_managed(taints: &mut Option<Vec<Taint>>, desired: &[Taint], now: &Time) -> bool {
    let current = taints.take().unwrap_or_default();
    let same = |a: &Taint, b: &Taint| a.key == b.key && a.effect == b.effect;
    let mut next: Vec<Taint> = current
        .iter()
        .filter(|t| !is_managed(t) || desired.iter().any(|d| same(d, t)))
        .cloned()
        .collect();
    for wanted in desired {
        if !next.iter().any(|t| same(t, wanted)) {
            let mut added = wanted.clone();
            if added.effect == NO_EXECUTE && added.time_added.is_none() {
                added.time_added = Some(now.clone());
            }
            next.push(added);
        }
    }
    let changed =
        next.len() != current.len() || next.iter().zip(current.iter()).any(|(a, b)| !same(a, b));
    *taints = (!next.is_empty()).then_some(next);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};
    use k8s_openapi::jiff::Timestamp;

    fn node(conditions: &[(&str, &str)], unschedulable: bool) -> Node {
        Node {
            spec: Some(NodeSpec {
                unschedulable: Some(unschedulable),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(kind, status)| NodeCondition {
                            type_: kind.to_string(),
                            status: status.to_string(),
                            ..NodeCondition::default()
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn keys(taints: &[Taint]) -> Vec<String> {
        taints
            .iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect()
    }

    #[test]
    fn conditions_and_cordon_map_to_noschedule_taints() {
        assert!(no_schedule_taints(&node(&[("Ready", "True")], false)).is_empty());
        assert_eq!(
            keys(&no_schedule_taints(&node(&[("Ready", "Unknown")], false))),
            [format!("{UNREACHABLE}:NoSchedule")]
        );
        assert_eq!(
            keys(&no_schedule_taints(&node(
                &[("Ready", "False"), ("MemoryPressure", "True")],
                true
            ))),
            [
                format!("{NOT_READY}:NoSchedule"),
                format!("{MEMORY_PRESSURE}:NoSchedule"),
                format!("{UNSCHEDULABLE}:NoSchedule"),
            ]
        );
    }

    #[test]
    fn replacing_managed_taints_keeps_foreign_ones_and_times() {
        let earlier = Time(Timestamp::from_second(1_000).expect("timestamp"));
        let now = Time(Timestamp::from_second(2_000).expect("timestamp"));
        let mut foreign = taint("dedicated", NO_EXECUTE);
        foreign.value = Some("gpu".into());
        let mut old_unreachable = taint(UNREACHABLE, NO_EXECUTE);
        old_unreachable.time_added = Some(earlier.clone());
        let mut taints = Some(vec![
            foreign.clone(),
            old_unreachable,
            taint(NOT_READY, NO_SCHEDULE),
        ]);
        let desired = [
            taint(UNREACHABLE, NO_SCHEDULE),
            taint(UNREACHABLE, NO_EXECUTE),
        ];
        assert!(replace_managed(&mut taints, &desired, &now));
        let taints = taints.expect("taints");
        assert_eq!(
            keys(&taints),
            [
                "dedicated:NoExecute".to_string(),
                format!("{UNREACHABLE}:NoExecute"),
                format!("{UNREACHABLE}:NoSchedule"),
            ]
        );
        assert_eq!(taints[1].time_added, Some(earlier), "kept its time");
        assert_eq!(taints[0], foreign);
        // Again: nothing to change.
        let mut again = Some(taints);
        assert!(!replace_managed(&mut again, &desired, &now));
    }

    #[test]
    fn new_noexecute_taints_are_stamped_and_removing_all_leaves_none() {
        let now = Time(Timestamp::from_second(2_000).expect("timestamp"));
        let mut taints = None;
        assert!(replace_managed(
            &mut taints,
            &[taint(NOT_READY, NO_EXECUTE)],
            &now
        ));
        assert_eq!(
            taints.as_ref().expect("taints")[0].time_added,
            Some(now.clone())
        );
        assert!(replace_managed(&mut taints, &[], &now));
        assert_eq!(taints, None);
        assert!(!replace_managed(&mut taints, &[], &now));
    }
}
