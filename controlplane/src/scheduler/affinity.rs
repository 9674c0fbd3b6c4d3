//! Node selection by labels: `spec.nodeSelector` (every label equal) and node affinity —
//! required terms (`nodeSelectorTerms`, ORed; in a term, `matchExpressions` on labels and
//! `matchFields` on `metadata.name`, ANDed) and preferred terms (weights summed for the
//! score), as Kubernetes' `NodeAffinity` plugin reads them.

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, PreferredSchedulingTerm,
};
use std::collections::BTreeMap;

/// Whether the node satisfies the pod's `nodeSelector` and required node affinity.
pub fn required_matches(spec: &PodSpec, node: &Node) -> bool {
    let labels = node.metadata.labels.as_ref();
    if let Some(selector) = &spec.node_selector {
        let all = selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !all {
            return false;
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        Some(selector) => selector
            .node_selector_terms
            .iter()
            .any(|term| term_matches(term, node)),
        None => true,
    }
}

/// The pod's preferred node affinity terms.
pub fn preferred_terms(spec: &PodSpec) -> &[PreferredSchedulingTerm] {
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default()
}

/// The sum of the weights of the preferred terms the node matches.
pub fn preferred_weight(terms: &[PreferredSchedulingTerm], node: &Node) -> i64 {
    terms
        .iter()
        .filter(|t| term_matches(&t.preference, node))
        .map(|t| i64::from(t.weight))
        .sum()
}

/// Whether a term matches: every requirement of it does; an empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node.metadata.labels.as_ref();
    let name = node.metadata.name.as_deref().unwrap_or_default();
    expressions.iter().all(|r| label_matches(r, labels))
        && fields.iter().all(|r| field_matches(r, name))
}

fn label_matches(r: &NodeSelectorRequirement, labels: Option<&BTreeMap<String, String>>) -> bool {
    let value = labels.and_then(|l| l.get(&r.key));
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(have), [want]) = (value.and_then(|v| v.parse::<i64>().ok()), values) else {
                return false;
            };
            let Ok(want) = want.parse::<i64>() else {
                return false;
            };
            if r.operator == "Gt" {
                have > want
            } else {
                have < want
            }
        }
        _ => false,
    }
}

fn field_matches(r: &NodeSelectorRequirement, name: &str) -> bool {
    if r.key != "metadata.name" {
        return false;
    }
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => values.iter().any(|v| v == name),
        "NotIn" => !values.iter().any(|v| v == name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Node::default()
        }
    }

    fn req(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn term(expressions: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Some(expressions),
            match_fields: None,
        }
    }

    fn requiring(terms: Vec<NodeSelectorTerm>) -> PodSpec {
        PodSpec {
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: terms,
                    }),
                    preferred_during_scheduling_ignored_during_execution: None,
                }),
                ..Affinity::default()
            }),
            ..PodSpec::default()
        }
    }

    #[test]
    fn node_selector_needs_every_label() {
        let n = node("a", &[("disk", "ssd"), ("zone", "1")]);
        let mut spec = PodSpec {
            node_selector: Some(BTreeMap::from([("disk".into(), "ssd".into())])),
            ..PodSpec::default()
        };
        assert!(required_matches(&spec, &n));
        spec.node_selector
            .as_mut()
            .expect("set")
            .insert("zone".into(), "2".into());
        assert!(!required_matches(&spec, &n));
    }

    #[test]
    fn each_operator_reads_as_kubernetes_reads_it() {
        let n = node("a", &[("disk", "ssd"), ("cores", "8")]);
        let labels = n.metadata.labels.as_ref();
        let cases = [
            (req("disk", "In", &["hdd", "ssd"]), true),
            (req("disk", "In", &["hdd"]), false),
            (req("disk", "NotIn", &["hdd"]), true),
            (req("gpu", "NotIn", &["x"]), true),
            (req("disk", "NotIn", &["ssd"]), false),
            (req("disk", "Exists", &[]), true),
            (req("gpu", "Exists", &[]), false),
            (req("gpu", "DoesNotExist", &[]), true),
            (req("disk", "DoesNotExist", &[]), false),
            (req("cores", "Gt", &["4"]), true),
            (req("cores", "Gt", &["8"]), false),
            (req("cores", "Lt", &["16"]), true),
            (req("cores", "Lt", &["2"]), false),
            (req("disk", "Gt", &["1"]), false),
            (req("gpu", "Lt", &["1"]), false),
            (req("disk", "Like", &["ssd"]), false),
        ];
        for (r, expected) in cases {
            assert_eq!(label_matches(&r, labels), expected, "{r:?}");
        }
    }

    #[test]
    fn terms_are_ored_and_expressions_anded() {
        let n = node("a", &[("disk", "ssd"), ("zone", "1")]);
        let both = term(vec![req("disk", "In", &["ssd"]), req("zone", "In", &["2"])]);
        assert!(!required_matches(&requiring(vec![both.clone()]), &n));
        let zone = term(vec![req("zone", "In", &["1"])]);
        assert!(required_matches(&requiring(vec![both, zone]), &n));
        assert!(
            !required_matches(&requiring(vec![]), &n),
            "no term matches nothing"
        );
        assert!(
            !required_matches(&requiring(vec![term(vec![])]), &n),
            "an empty term matches nothing"
        );
    }

    #[test]
    fn match_fields_select_by_node_name() {
        let fields = |operator: &str, names: &[&str]| NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", operator, names)]),
        };
        let n = node("a", &[]);
        assert!(required_matches(
            &requiring(vec![fields("In", &["a", "b"])]),
            &n
        ));
        assert!(!required_matches(
            &requiring(vec![fields("In", &["b"])]),
            &n
        ));
        assert!(required_matches(
            &requiring(vec![fields("NotIn", &["b"])]),
            &n
        ));
        let other_field = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.uid", "In", &["a"])]),
        };
        assert!(!required_matches(&requiring(vec![other_field]), &n));
    }

    #[test]
    fn preferred_weights_add_up_over_matching_terms() {
        let n = node("a", &[("disk", "ssd"), ("zone", "1")]);
        let terms = [
            PreferredSchedulingTerm {
                weight: 10,
                preference: term(vec![req("disk", "In", &["ssd"])]),
            },
            PreferredSchedulingTerm {
                weight: 5,
                preference: term(vec![req("zone", "In", &["1"])]),
            },
            PreferredSchedulingTerm {
                weight: 80,
                preference: term(vec![req("zone", "In", &["2"])]),
            },
        ];
        assert_eq!(preferred_weight(&terms, &n), 15);
    }
}
