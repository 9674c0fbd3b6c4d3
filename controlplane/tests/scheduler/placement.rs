//! Where pods go: nodeSelector, node affinity, taints and tolerations, spreading.

use super::*;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, NodeSpec,
    Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::HashMap;

fn labelled(name: &str, labels: &[(&str, &str)]) -> Node {
    let mut n = node(name, "4", "4Gi", 110);
    n.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    n
}

fn requiring(name: &str, terms: Vec<NodeSelectorTerm>) -> Pod {
    let mut p = pod(name, "0", "0");
    p.spec.as_mut().expect("spec").affinity = Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: terms,
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    });
    p
}

fn expression(key: &str, operator: &str, values: &[&str]) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }]),
        match_fields: None,
    }
}

#[tokio::test]
async fn a_node_selector_picks_the_labelled_node() {
    let cluster = Cluster::start().await;
    cluster.add_node_with(labelled("plain-1", &[])).await;
    cluster
        .add_node_with(labelled("ssd", &[("disk", "ssd")]))
        .await;
    cluster
        .add_node_with(labelled("plain-2", &[("disk", "hdd")]))
        .await;
    for i in 0..10 {
        let mut p = pod(&format!("p-{i}"), "0", "0");
        p.spec.as_mut().expect("spec").node_selector =
            Some(BTreeMap::from([("disk".into(), "ssd".into())]));
        cluster.create(&p).await;
    }
    for i in 0..10 {
        assert_eq!(cluster.bound(&format!("p-{i}")).await, "ssd");
    }
}

#[tokio::test]
async fn required_node_affinity_is_obeyed() {
    let cluster = Cluster::start().await;
    cluster
        .add_node_with(labelled("z1", &[("zone", "one"), ("cores", "4")]))
        .await;
    cluster
        .add_node_with(labelled("z2", &[("zone", "two"), ("cores", "16")]))
        .await;
    cluster
        .add_node_with(labelled("z3", &[("zone", "three")]))
        .await;

    cluster
        .create(&requiring("in", vec![expression("zone", "In", &["two"])]))
        .await;
    cluster
        .create(&requiring(
            "not-in",
            vec![expression("zone", "NotIn", &["one", "two"])],
        ))
        .await;
    cluster
        .create(&requiring("gt", vec![expression("cores", "Gt", &["8"])]))
        .await;
    cluster
        .create(&requiring(
            "ored",
            vec![
                expression("zone", "In", &["nowhere"]),
                expression("cores", "Lt", &["8"]),
            ],
        ))
        .await;
    let by_name = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec!["z3".into()]),
        }]),
    };
    cluster.create(&requiring("by-name", vec![by_name])).await;

    assert_eq!(cluster.bound("in").await, "z2");
    assert_eq!(cluster.bound("not-in").await, "z3");
    assert_eq!(cluster.bound("gt").await, "z2");
    assert_eq!(cluster.bound("ored").await, "z1");
    assert_eq!(cluster.bound("by-name").await, "z3");
}

#[tokio::test]
async fn tainted_nodes_take_only_pods_that_tolerate_them() {
    let cluster = Cluster::start().await;
    let taint = |key: &str, effect: &str| Taint {
        key: key.into(),
        value: Some("gpu".into()),
        effect: effect.into(),
        time_added: None,
    };
    let mut dedicated = node("dedicated", "8", "8Gi", 110);
    dedicated.spec = Some(NodeSpec {
        taints: Some(vec![taint("dedicated", "NoSchedule")]),
        ..NodeSpec::default()
    });
    cluster.add_node_with(dedicated).await;
    let mut evicting = node("evicting", "8", "8Gi", 110);
    evicting.spec = Some(NodeSpec {
        taints: Some(vec![taint("special", "NoExecute")]),
        ..NodeSpec::default()
    });
    cluster.add_node_with(evicting).await;
    cluster.add_node("general", "1", "1Gi", 110).await;

    for i in 0..10 {
        cluster
            .create(&pod(&format!("plain-{i}"), "10m", "1Mi"))
            .await;
    }
    for i in 0..10 {
        assert_eq!(cluster.bound(&format!("plain-{i}")).await, "general");
    }
    // Too big for the general node: only a tainted node fits, if tolerated.
    let mut tolerant = pod("tolerant", "2", "0");
    tolerant.spec.as_mut().expect("spec").tolerations = Some(vec![Toleration {
        key: Some("dedicated".into()),
        operator: Some("Equal".into()),
        value: Some("gpu".into()),
        effect: Some("NoSchedule".into()),
        toleration_seconds: None,
    }]);
    cluster.create(&tolerant).await;
    assert_eq!(cluster.bound("tolerant").await, "dedicated");
    let mut everything = pod("everything", "2", "0");
    everything.spec.as_mut().expect("spec").tolerations = Some(vec![Toleration {
        operator: Some("Exists".into()),
        ..Toleration::default()
    }]);
    everything.spec.as_mut().expect("spec").node_selector = None;
    cluster.create(&everything).await;
    let node = cluster.bound("everything").await;
    assert!(node == "dedicated" || node == "evicting", "bound to {node}");
    cluster.create(&pod("intolerant", "2", "0")).await;
    let message = eventually("FailedScheduling for intolerant", || async {
        cluster
            .events_of("intolerant", "FailedScheduling")
            .pop()
            .map(|(_, m)| m)
    })
    .await;
    assert_eq!(
        message,
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {special: gpu}."
    );
}

#[tokio::test]
async fn the_pods_of_one_replicaset_spread_over_the_nodes() {
    let cluster = Cluster::start().await;
    for name in ["n1", "n2", "n3"] {
        cluster.add_node(name, "32", "64Gi", 110).await;
    }
    let owner = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "web-7d4b9".into(),
        uid: "5b0c3f9e-0000-4000-8000-000000000001".into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    for i in 0..9 {
        let mut p = pod(&format!("web-{i}"), "100m", "128Mi");
        p.metadata.owner_references = Some(vec![owner.clone()]);
        cluster.create(&p).await;
    }
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for i in 0..9 {
        *per_node
            .entry(cluster.bound(&format!("web-{i}")).await)
            .or_default() += 1;
    }
    assert_eq!(per_node.len(), 3, "{per_node:?}");
    assert!(per_node.values().all(|&n| n == 3), "{per_node:?}");
}
