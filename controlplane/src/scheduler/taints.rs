//! Taints and tolerations, matched as Kubernetes matches them (`Toleration.ToleratesTaint`):
//! a toleration with an effect tolerates only that effect; one with a key only that key
//! (an empty key with `Exists` tolerates every taint); `Equal` (or no operator) needs the
//! same value, `Exists` any value.

use k8s_openapi::api::core::v1::{Taint, Toleration};

/// `NoSchedule`: new pods that do not tolerate the taint are not placed on the node.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// `NoExecute`: also evicts running pods that do not tolerate it; the scheduler treats it
/// as `NoSchedule`.
pub const NO_EXECUTE: &str = "NoExecute";
/// `PreferNoSchedule`: the scheduler avoids the node if it can; it only lowers the score.
pub const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// Whether `toleration` tolerates `taint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = toleration.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    if let Some(key) = toleration.key.as_deref().filter(|k| !k.is_empty())
        && key != taint.key
    {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint`.
pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first `NoSchedule` or `NoExecute` taint none of `tolerations` tolerates.
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints.iter().find(|taint| {
        (taint.effect == NO_SCHEDULE || taint.effect == NO_EXECUTE)
            && !tolerated(tolerations, taint)
    })
}

/// How many `PreferNoSchedule` taints are not tolerated (by tolerations of that effect or
/// of every effect).
pub fn untolerated_preferences(taints: &[Taint], tolerations: &[Toleration]) -> usize {
    taints
        .iter()
        .filter(|taint| taint.effect == PREFER_NO_SCHEDULE && !tolerated(tolerations, taint))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()).filter(|v: &String| !v.is_empty()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
        let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Toleration {
            key: some(key),
            operator: some(operator),
            value: some(value),
            effect: some(effect),
            toleration_seconds: None,
        }
    }

    #[test]
    fn equal_needs_the_same_key_and_value() {
        let t = taint("dedicated", "gpu", NO_SCHEDULE);
        assert!(tolerates(&toleration("dedicated", "Equal", "gpu", ""), &t));
        assert!(
            tolerates(&toleration("dedicated", "", "gpu", ""), &t),
            "no operator is Equal"
        );
        assert!(!tolerates(&toleration("dedicated", "Equal", "cpu", ""), &t));
        assert!(!tolerates(&toleration("other", "Equal", "gpu", ""), &t));
    }

    #[test]
    fn exists_takes_any_value_and_an_empty_key_takes_every_taint() {
        let t = taint("dedicated", "gpu", NO_EXECUTE);
        assert!(tolerates(&toleration("dedicated", "Exists", "", ""), &t));
        assert!(tolerates(&toleration("", "Exists", "", ""), &t));
        assert!(!tolerates(&toleration("other", "Exists", "", ""), &t));
    }

    #[test]
    fn an_effect_must_match_if_given() {
        let t = taint("k", "", NO_SCHEDULE);
        assert!(tolerates(&toleration("k", "Exists", "", NO_SCHEDULE), &t));
        assert!(!tolerates(&toleration("k", "Exists", "", NO_EXECUTE), &t));
        assert!(!tolerates(
            &toleration("", "Exists", "", PREFER_NO_SCHEDULE),
            &t
        ));
    }

    #[test]
    fn unknown_operators_tolerate_nothing() {
        assert!(!tolerates(
            &toleration("k", "Gt", "", ""),
            &taint("k", "", NO_SCHEDULE)
        ));
    }

    #[test]
    fn only_hard_effects_block_and_only_soft_ones_are_counted() {
        let taints = [
            taint("soft", "", PREFER_NO_SCHEDULE),
            taint("hard", "x", NO_SCHEDULE),
            taint("evict", "", NO_EXECUTE),
        ];
        let none: [Toleration; 0] = [];
        assert_eq!(
            first_untolerated(&taints, &none).map(|t| t.key.as_str()),
            Some("hard")
        );
        let some = [toleration("hard", "Exists", "", "")];
        assert_eq!(
            first_untolerated(&taints, &some).map(|t| t.key.as_str()),
            Some("evict")
        );
        assert_eq!(untolerated_preferences(&taints, &none), 1);
        let soft = [toleration("soft", "Exists", "", PREFER_NO_SCHEDULE)];
        assert_eq!(untolerated_preferences(&taints, &soft), 0);
    }
}
