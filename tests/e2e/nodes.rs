//! Node failure: lease expiry, the unreachable taint, eviction and replacement elsewhere —
//! a real `skiff server` with short node timings, three `skiff agent`s and kubectl.

use crate::cluster::{Agent, Server};
use crate::eventually;
use skiff_test_programs as programs;
use std::collections::BTreeMap;

/// The server's node timings: agents renew every second (the fixture's
/// `--lease-interval 1s`), so three missed renewals mark a node unreachable, and its pods
/// are evicted a second later.
const TIMINGS: [&str; 4] = [
    "--node-monitor-grace-period",
    "3s",
    "--default-unreachable-toleration",
    "1s",
];

const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

fn ready(server: &Server, node: &str) -> String {
    let out = server.kubectl(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The node's taints as `key:effect` words.
fn taints(server: &Server, node: &str) -> String {
    server.ok(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}",
    ])
}

/// The Deployment's pods that are not being deleted: name → (phase, node).
fn live_pods(server: &Server) -> BTreeMap<String, (String, String)> {
    let out = server.ok(&[
        "get",
        "pods",
        "-l",
        "app=sleeper",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    ]);
    out.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                [name, phase, node] => {
                    Some((name.to_string(), (phase.to_string(), node.to_string())))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn a_killed_agents_pods_are_replaced_on_the_other_nodes() {
    let server = Server::start_with(&TIMINGS);
    let mut agents: Vec<Agent> = NODES.iter().map(|n| Agent::start(&server, n)).collect();
    for node in NODES {
        eventually(&format!("{node} Ready"), || {
            (ready(&server, node) == "True").then_some(())
        });
    }
    let manifest = server.manifest(
        "sleeper.yaml",
        &format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleeper
spec:
  replicas: 6
  selector:
    matchLabels:
      app: sleeper
  template:
    metadata:
      labels:
        app: sleeper
    spec:
      containers:
      - name: main
        image: file://{image}
        args: [\"600000\"]
",
            image = programs::P1_SLEEP
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    let running = eventually("6 replicas Running", || {
        let pods = live_pods(&server);
        (pods.len() == 6 && pods.values().all(|(phase, _)| phase == "Running")).then_some(pods)
    });

    // Kill the agent with the most replicas, as a crash would.
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, node) in running.values() {
        *per_node.entry(node.as_str()).or_default() += 1;
    }
    let (victim, lost) = per_node
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(node, n)| (node.to_string(), *n))
        .expect("pods on some node");
    let index = NODES
        .iter()
        .position(|n| *n == victim)
        .expect("a known node");
    agents[index].kill();

    eventually(&format!("{victim} NotReady and unschedulable"), || {
        (ready(&server, &victim) == "Unknown"
            && taints(&server, &victim).contains("node.kubernetes.io/unreachable:NoSchedule"))
        .then_some(())
    });
    let wide = server.ok(&["get", "nodes"]);
    assert!(wide.contains("NotReady"), "{wide}");

    let replaced = eventually("all replicas Running on the live nodes", || {
        let pods = live_pods(&server);
        (pods.len() == 6
            && pods
                .values()
                .all(|(phase, node)| phase == "Running" && *node != victim))
        .then_some(pods)
    });
    let new = replaced
        .keys()
        .filter(|name| !running.contains_key(*name))
        .count();
    assert_eq!(new, lost, "one replacement per pod of {victim}");
    let after = taints(&server, &victim);
    assert!(
        after.contains("node.kubernetes.io/unreachable:NoExecute"),
        "{after}"
    );
    eventually("the eviction events", || {
        let events = server.ok(&["get", "events", "-o", "jsonpath={.items[*].message}"]);
        events
            .contains("Marking for deletion Pod default/")
            .then_some(())
    });
}
