//! `core/v1` Affinity: node affinity, pod affinity and pod anti-affinity terms.

use super::schema::{
    Field,
    Type::{I32, Str},
    keep, list, msg, msgs,
};

/// `core/v1` Affinity.
pub(crate) const AFFINITY: &[Field] = &[
    msg(1, "nodeAffinity", NODE_AFFINITY),
    msg(2, "podAffinity", POD_AFFINITY),
    msg(3, "podAntiAffinity", POD_ANTI_AFFINITY),
];

/// `core/v1` NodeAffinity.
pub(crate) const NODE_AFFINITY: &[Field] = &[
    msg(
        1,
        "requiredDuringSchedulingIgnoredDuringExecution",
        NODE_SELECTOR,
    ),
    msgs(
        2,
        "preferredDuringSchedulingIgnoredDuringExecution",
        PREFERRED_SCHEDULING_TERM,
    ),
];

/// `core/v1` NodeSelector.
pub(crate) const NODE_SELECTOR: &[Field] = &[msgs(1, "nodeSelectorTerms", NODE_SELECTOR_TERM)];

/// `core/v1` NodeSelectorTerm.
pub(crate) const NODE_SELECTOR_TERM: &[Field] = &[
    msgs(1, "matchExpressions", NODE_SELECTOR_REQUIREMENT),
    msgs(2, "matchFields", NODE_SELECTOR_REQUIREMENT),
];

/// `core/v1` NodeSelectorRequirement.
pub(crate) const NODE_SELECTOR_REQUIREMENT: &[Field] = &[
    keep(1, "key", Str),
    keep(2, "operator", Str),
    list(3, "values", Str),
];

/// `core/v1` PreferredSchedulingTerm.
pub(crate) const PREFERRED_SCHEDULING_TERM: &[Field] = &[
    keep(1, "weight", I32),
    msg(2, "preference", NODE_SELECTOR_TERM),
];

/// `core/v1` PodAffinity.
pub(crate) const POD_AFFINITY: &[Field] = &[
    msgs(
        1,
        "requiredDuringSchedulingIgnoredDuringExecution",
        POD_AFFINITY_TERM,
    ),
    msgs(
        2,
        "preferredDuringSchedulingIgnoredDuringExecution",
        WEIGHTED_POD_AFFINITY_TERM,
    ),
];

/// `core/v1` PodAntiAffinity.
pub(crate) const POD_ANTI_AFFINITY: &[Field] = &[
    msgs(
        1,
        "requiredDuringSchedulingIgnoredDuringExecution",
        POD_AFFINITY_TERM,
    ),
    msgs(
        2,
        "preferredDuringSchedulingIgnoredDuringExecution",
        WEIGHTED_POD_AFFINITY_TERM,
    ),
];

/// `core/v1` PodAffinityTerm.
pub(crate) const POD_AFFINITY_TERM: &[Field] = &[
    msg(1, "labelSelector", super::meta::LABEL_SELECTOR),
    list(2, "namespaces", Str),
    keep(3, "topologyKey", Str),
    msg(4, "namespaceSelector", super::meta::LABEL_SELECTOR),
    list(5, "matchLabelKeys", Str),
    list(6, "mismatchLabelKeys", Str),
];

/// `core/v1` WeightedPodAffinityTerm.
pub(crate) const WEIGHTED_POD_AFFINITY_TERM: &[Field] = &[
    keep(1, "weight", I32),
    msg(2, "podAffinityTerm", POD_AFFINITY_TERM),
];
