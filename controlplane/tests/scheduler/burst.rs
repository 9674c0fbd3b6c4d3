//! A burst: a thousand pods placed at once, no node given more than it has.

use super::*;
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_pods_are_bound_without_overcommitting_any_node() {
    let cluster = Cluster::start().await;
    // Ten nodes of 10 cpu: room for exactly a thousand pods of 100m.
    for i in 0..10 {
        cluster
            .add_node(&format!("node-{i}"), "10", "16Gi", 110)
            .await;
    }
    for i in 0..1010 {
        cluster
            .create(&pod(&format!("p-{i:04}"), "100m", "64Mi"))
            .await;
    }
    let bound = eventually("a thousand pods bound", || async {
        let pods = cluster.pods.list();
        let bound: Vec<Arc<Pod>> = pods.into_iter().filter(|p| node_of(p).is_some()).collect();
        (bound.len() >= 1000).then_some(bound)
    })
    .await;
    // The ten left over fit nowhere: they are reported, not squeezed in.
    let leftover = eventually("the leftovers reported", || async {
        let reported: Vec<String> = (0..1010)
            .map(|i| format!("p-{i:04}"))
            .filter(|name| !cluster.events_of(name, "FailedScheduling").is_empty())
            .collect();
        (reported.len() >= 10).then_some(reported)
    })
    .await;
    assert_eq!(leftover.len(), 10);
    for name in &leftover {
        assert_eq!(
            cluster.events_of(name, "FailedScheduling")[0].1,
            "0/10 nodes are available: 10 Insufficient cpu."
        );
    }
    let bound_now = cluster
        .pods
        .list()
        .iter()
        .filter(|p| node_of(p).is_some())
        .count();
    assert_eq!(bound_now, 1000, "no pod beyond the nodes' room");
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for pod in &bound {
        *per_node.entry(node_of(pod).expect("bound")).or_default() += 1;
    }
    assert_eq!(per_node.len(), 10);
    for (node, count) in per_node {
        assert_eq!(count, 100, "{node} has 100 pods of 100m on 10 cpu");
    }
}
