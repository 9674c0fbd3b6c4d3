//! How long a pod may stay on a node that carries `NoExecute` taints: Kubernetes'
//! taint-eviction rule (the shortest `tolerationSeconds` among the tolerations that match
//! the node's taints; a taint nothing tolerates evicts at once; a toleration without
//! seconds tolerates forever), with the `DefaultTolerationSeconds` admission plugin folded
//! in: a pod that has no toleration of its own for `node.kubernetes.io/not-ready` or
//! `node.kubernetes.io/unreachable` tolerates that taint for the configured default.

use super::taints::{NO_EXECUTE, NOT_READY, UNREACHABLE};
use k8s_openapi::api::core::v1::{Taint, Toleration};
use std::time::Duration;

/// What a node's `NoExecute` taints mean for one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// The pod tolerates every taint forever: it stays.
    Never,
    /// The pod is evicted this long after it first found itself on the tainted node
    /// (zero: at once).
    After(Duration),
}

/// Whether a toleration tolerates a taint: the scheduler's rule, Kubernetes'
/// `Toleration.ToleratesTaint` (one copy for both).
pub use crate::scheduler::taints::tolerates;

/// Whether the pod would get a default toleration for `key` at admission: it has no
/// toleration naming that key (or every key) for `NoExecute` (or every effect).
fn gets_default(tolerations: &[Toleration], key: &str) -> bool {
    (key == NOT_READY || key == UNREACHABLE)
        && !tolerations.iter().any(|t| {
            t.key.as_deref().is_none_or(|k| k.is_empty() || k == key)
                && t.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == NO_EXECUTE)
        })
}

/// How long a pod with `tolerations` may stay on a node with `taints` (only the
/// `NoExecute` ones count), given the default toleration of the not-ready and unreachable
/// taints.
pub fn eviction(taints: &[Taint], tolerations: &[Toleration], default: Duration) -> Eviction {
    let mut shortest: Option<Duration> = None;
    for taint in taints.iter().filter(|t| t.effect == NO_EXECUTE) {
        let tolerated_for = match tolerations.iter().find(|t| tolerates(t, taint)) {
            // No seconds: forever; zero or negative seconds: not at all.
            Some(toleration) => match toleration.toleration_seconds {
                None => continue,
                Some(seconds) => Duration::from_secs(u64::try_from(seconds).unwrap_or(0)),
            },
            None if gets_default(tolerations, &taint.key) => default,
            None => Duration::ZERO,
        };
        shortest = Some(shortest.map_or(tolerated_for, |s| s.min(tolerated_for)));
    }
    shortest.map_or(Eviction::Never, Eviction::After)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Duration = Duration::from_secs(300);

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            value: None,
            time_added: None,
        }
    }

    fn toleration(key: &str, operator: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Toleration {
            key: some(key),
            operator: some(operator),
            effect: some(effect),
            value: None,
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn no_noexecute_taint_never_evicts() {
        let taints = [
            taint(UNREACHABLE, "NoSchedule"),
            taint("x", "PreferNoSchedule"),
        ];
        assert_eq!(eviction(&taints, &[], DEFAULT), Eviction::Never);
        assert_eq!(eviction(&[], &[], DEFAULT), Eviction::Never);
    }

    #[test]
    fn a_pod_without_tolerations_gets_the_default_for_unreachable_and_not_ready() {
        let unreachable = [taint(UNREACHABLE, NO_EXECUTE)];
        assert_eq!(
            eviction(&unreachable, &[], DEFAULT),
            Eviction::After(DEFAULT)
        );
        let not_ready = [taint(NOT_READY, NO_EXECUTE)];
        assert_eq!(eviction(&not_ready, &[], DEFAULT), Eviction::After(DEFAULT));
    }

    #[test]
    fn any_other_untolerated_noexecute_taint_evicts_at_once() {
        let taints = [
            taint(UNREACHABLE, NO_EXECUTE),
            taint("dedicated", NO_EXECUTE),
        ];
        assert_eq!(
            eviction(&taints, &[], DEFAULT),
            Eviction::After(Duration::ZERO)
        );
    }

    #[test]
    fn the_pods_own_seconds_win_over_the_default() {
        let taints = [taint(UNREACHABLE, NO_EXECUTE)];
        let long = [toleration(UNREACHABLE, "Exists", NO_EXECUTE, Some(3600))];
        assert_eq!(
            eviction(&taints, &long, DEFAULT),
            Eviction::After(Duration::from_secs(3600))
        );
        let short = [toleration(UNREACHABLE, "Exists", NO_EXECUTE, Some(1))];
        assert_eq!(
            eviction(&taints, &short, DEFAULT),
            Eviction::After(Duration::from_secs(1))
        );
    }

    #[test]
    fn a_toleration_without_seconds_tolerates_forever() {
        let taints = [taint(UNREACHABLE, NO_EXECUTE)];
        let forever = [toleration(UNREACHABLE, "Exists", NO_EXECUTE, None)];
        assert_eq!(eviction(&taints, &forever, DEFAULT), Eviction::Never);
        // A wildcard toleration (every key, every effect) too, and it also stops the
        // default from applying to not-ready.
        let wildcard = [toleration("", "Exists", "", None)];
        let both = [taint(UNREACHABLE, NO_EXECUTE), taint(NOT_READY, NO_EXECUTE)];
        assert_eq!(eviction(&both, &wildcard, DEFAULT), Eviction::Never);
    }

    #[test]
    fn zero_or_negative_seconds_evict_at_once() {
        let taints = [taint(UNREACHABLE, NO_EXECUTE)];
        for seconds in [0, -5] {
            let t = [toleration(UNREACHABLE, "Exists", NO_EXECUTE, Some(seconds))];
            assert_eq!(
                eviction(&taints, &t, DEFAULT),
                Eviction::After(Duration::ZERO)
            );
        }
    }

    #[test]
    fn the_shortest_toleration_among_the_taints_counts() {
        let taints = [
            taint(UNREACHABLE, NO_EXECUTE),
            taint("maintenance", NO_EXECUTE),
        ];
        let tolerations = [
            toleration(UNREACHABLE, "Exists", NO_EXECUTE, Some(600)),
            toleration("maintenance", "Exists", NO_EXECUTE, Some(20)),
        ];
        assert_eq!(
            eviction(&taints, &tolerations, DEFAULT),
            Eviction::After(Duration::from_secs(20))
        );
        // Own toleration of unreachable only: not-ready still gets the default.
        let taints = [taint(UNREACHABLE, NO_EXECUTE), taint(NOT_READY, NO_EXECUTE)];
        let own = [toleration(UNREACHABLE, "Exists", NO_EXECUTE, None)];
        assert_eq!(eviction(&taints, &own, DEFAULT), Eviction::After(DEFAULT));
    }

    #[test]
    fn a_toleration_for_the_key_that_does_not_match_blocks_the_default() {
        // Admission adds no default when the pod names the key itself, even with a value
        // that does not match the taint: the taint is then not tolerated at all.
        let taints = [taint(UNREACHABLE, NO_EXECUTE)];
        let mut wrong = toleration(UNREACHABLE, "Equal", NO_EXECUTE, Some(3600));
        wrong.value = Some("x".into());
        assert_eq!(
            eviction(&taints, &[wrong], DEFAULT),
            Eviction::After(Duration::ZERO)
        );
        // A toleration of the key for another effect does not count.
        let other_effect = [toleration(UNREACHABLE, "Exists", "NoSchedule", None)];
        assert_eq!(
            eviction(&taints, &other_effect, DEFAULT),
            Eviction::After(DEFAULT)
        );
    }

    #[test]
    fn matching_follows_key_operator_value_and_effect() {
        let mut t = taint("dedicated", NO_EXECUTE);
        t.value = Some("gpu".into());
        let mut equal = toleration("dedicated", "Equal", "", None);
        equal.value = Some("gpu".into());
        assert!(tolerates(&equal, &t));
        equal.value = Some("cpu".into());
        assert!(!tolerates(&equal, &t));
        assert!(tolerates(&toleration("dedicated", "Exists", "", None), &t));
        assert!(tolerates(&toleration("", "Exists", "", None), &t));
        assert!(!tolerates(&toleration("other", "Exists", "", None), &t));
        assert!(!tolerates(
            &toleration("dedicated", "Exists", "NoSchedule", None),
            &t
        ));
        assert!(!tolerates(&toleration("dedicated", "Gt", "", None), &t));
    }
}
