//! Scheduling: pods created without a node are placed on nodes by the scheduler — a real
//! `skiff server`, two `skiff agent`s and kubectl. Pods land on Ready nodes and run; a
//! nodeSelector picks the labelled node; a cordoned node gets no new pods; a pod that fits
//! nowhere says why in `kubectl describe` and `kubectl get events`; a burst beyond a node's
//! `pods` capacity leaves the rest Pending, never half started.

use crate::cluster::{Agent, Server};
use crate::eventually;
use skiff_test_programs as programs;

/// A two-node cluster: the server and agents for `node-a` and `node-b`, both Ready.
fn cluster() -> (Server, Agent, Agent) {
    let server = Server::start();
    let a = Agent::start(&server, "node-a");
    let b = Agent::start(&server, "node-b");
    for node in ["node-a", "node-b"] {
        eventually(&format!("{node} Ready"), || {
            let out = server.kubectl(&[
                "get",
                "node",
                node,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ]);
            (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
        });
    }
    (server, a, b)
}

/// A pod that sleeps for a minute, without a node, with extra spec YAML.
fn sleeper(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{extra}
  containers:
  - name: main
    image: file://{image}
    args: [\"60000\"]
",
        image = programs::P1_SLEEP
    )
}

fn apply(server: &Server, file: &str, yaml: &str) {
    let manifest = server.manifest(file, yaml);
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
}

fn field(server: &Server, pod: &str, path: &str) -> String {
    let out = server.kubectl(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the pod is bound; returns its node.
fn node_of(server: &Server, pod: &str) -> String {
    eventually(&format!("{pod} scheduled"), || {
        Some(field(server, pod, "{.spec.nodeName}")).filter(|n| !n.is_empty())
    })
}

fn running(server: &Server, pod: &str) {
    eventually(&format!("{pod} Running"), || {
        (field(server, pod, "{.status.phase}") == "Running").then_some(())
    });
}

#[test]
fn pods_without_a_node_are_scheduled_and_run() {
    let (server, _a, _b) = cluster();
    // kubectl run checks `--image` against the OCI reference syntax, so the wasm file is
    // given in the override that replaces the generated container.
    let overrides = format!(
        r#"{{"spec":{{"containers":[{{"name":"from-run","image":"file://{}","args":["60000"]}}]}}}}"#,
        programs::P1_SLEEP
    );
    server.ok(&[
        "run",
        "from-run",
        "--image=sleep",
        "--restart=Never",
        &format!("--overrides={overrides}"),
    ]);
    for i in 0..4 {
        apply(
            &server,
            &format!("p{i}.yaml"),
            &sleeper(&format!("web-{i}"), ""),
        );
    }
    let mut nodes = Vec::new();
    for pod in ["from-run", "web-0", "web-1", "web-2", "web-3"] {
        let node = node_of(&server, pod);
        assert!(node == "node-a" || node == "node-b", "{pod} on {node}");
        running(&server, pod);
        nodes.push(node);
    }
    let events = server.ok(&["get", "events", "--field-selector", "reason=Scheduled"]);
    assert!(
        events.contains(&format!(
            "Successfully assigned default/from-run to {}",
            nodes[0]
        )),
        "{events}"
    );
}

#[test]
fn a_node_selector_lands_pods_on_the_labelled_node() {
    let (server, _a, _b) = cluster();
    server.ok(&["label", "node", "node-b", "disk=ssd"]);
    for i in 0..3 {
        apply(
            &server,
            &format!("ssd{i}.yaml"),
            &sleeper(&format!("ssd-{i}"), "  nodeSelector:\n    disk: ssd"),
        );
    }
    for i in 0..3 {
        let pod = format!("ssd-{i}");
        assert_eq!(node_of(&server, &pod), "node-b");
        running(&server, &pod);
    }
}

#[test]
fn a_cordoned_node_gets_no_new_pods() {
    let (server, _a, _b) = cluster();
    server.ok(&["cordon", "node-a"]);
    for i in 0..4 {
        apply(
            &server,
            &format!("c{i}.yaml"),
            &sleeper(&format!("c-{i}"), ""),
        );
    }
    for i in 0..4 {
        assert_eq!(node_of(&server, &format!("c-{i}")), "node-b");
    }
    server.ok(&["uncordon", "node-a"]);
    server.ok(&["label", "node", "node-a", "only=a"]);
    apply(
        &server,
        "after.yaml",
        &sleeper("after", "  nodeSelector:\n    only: a"),
    );
    assert_eq!(
        node_of(&server, "after"),
        "node-a",
        "uncordoned, it takes pods again"
    );
}

#[test]
fn an_impossible_pod_shows_failed_scheduling() {
    let (server, _a, _b) = cluster();
    apply(
        &server,
        "huge.yaml",
        &format!(
            "apiVersion: v1
kind: Pod
metadata:
  name: huge
spec:
  containers:
  - name: main
    image: file://{}
    resources:
      requests:
        cpu: \"4096\"
",
            programs::P1_SLEEP
        ),
    );
    let expected = "0/2 nodes are available: 2 Insufficient cpu.";
    let described = eventually("FailedScheduling in describe", || {
        let out = server.ok(&["describe", "pod", "huge"]);
        out.contains("FailedScheduling").then_some(out)
    });
    assert!(described.contains(expected), "{described}");
    let events = server.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=huge",
    ]);
    assert!(events.contains("FailedScheduling"), "{events}");
    assert!(events.contains(expected), "{events}");
    assert_eq!(
        field(
            &server,
            "huge",
            "{.status.conditions[?(@.type==\"PodScheduled\")].reason}"
        ),
        "Unschedulable"
    );
    assert_eq!(field(&server, "huge", "{.spec.nodeName}"), "");
    assert_eq!(field(&server, "huge", "{.status.phase}"), "Pending");
}

#[test]
fn a_burst_beyond_the_nodes_pod_capacity_leaves_the_rest_pending() {
    let server = Server::start();
    let _agent = Agent::start_with(&server, "small", &["--max-pods", "4"]);
    eventually("small Ready", || {
        (server.ok(&[
            "get",
            "node",
            "small",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}/{.status.capacity.pods}",
        ]) == "True/4")
            .then_some(())
    });
    apply(
        &server,
        "burst.yaml",
        &format!(
            "apiVersion: apps/v1
kind: Deployment
metadata:
  name: burst
spec:
  replicas: 7
  selector:
    matchLabels: {{app: burst}}
  template:
    metadata:
      labels: {{app: burst}}
    spec:
      containers:
      - name: main
        image: file://{}
        args: [\"60000\"]
",
            programs::P1_SLEEP
        ),
    );
    // Per pod: name, node, phase, whether the agent reported any container.
    let pods = || {
        server
            .ok(&[
                "get",
                "pods",
                "-l",
                "app=burst",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name}/{.spec.nodeName}/{.status.phase}/{.status.containerStatuses[*].name}{\"\\n\"}{end}",
            ])
            .lines()
            .map(|l| l.split('/').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let expected = "0/1 nodes are available: 1 Too many pods.";
    let pending = eventually("four Running, three reported Pending", || {
        let pods = pods();
        let running = pods
            .iter()
            .filter(|p| p[1] == "small" && p[2] == "Running")
            .count();
        let pending: Vec<String> = pods
            .iter()
            .filter(|p| p[1].is_empty())
            .map(|p| p[0].clone())
            .collect();
        let reported = pending.iter().all(|name| {
            server
                .ok(&[
                    "get",
                    "events",
                    "--field-selector",
                    &format!("involvedObject.name={name}"),
                ])
                .contains(expected)
        });
        (pods.len() == 7 && running == 4 && pending.len() == 3 && reported).then_some(pending)
    });
    for name in &pending {
        assert_eq!(field(&server, name, "{.status.phase}"), "Pending");
        assert_eq!(field(&server, name, "{.status.containerStatuses}"), "");
        assert_eq!(
            field(
                &server,
                name,
                "{.status.conditions[?(@.type==\"PodScheduled\")].reason}"
            ),
            "Unschedulable"
        );
    }
    let described = server.ok(&["describe", "pod", &pending[0]]);
    assert!(described.contains(expected), "{described}");
    // The node was never asked for more than it holds: four pods bound, four started.
    let bound = pods().into_iter().filter(|p| p[1] == "small").count();
    assert_eq!(bound, 4);

    // Scaling back to what fits removes the Pending pods, not the running ones.
    let before: Vec<String> = pods()
        .into_iter()
        .filter(|p| p[1] == "small")
        .map(|p| p[0].clone())
        .collect();
    server.ok(&["scale", "deployment", "burst", "--replicas", "4"]);
    let after = eventually("only the four running pods left", || {
        let pods = pods();
        (pods.len() == 4 && pods.iter().all(|p| p[2] == "Running"))
            .then(|| pods.into_iter().map(|p| p[0].clone()).collect::<Vec<_>>())
    });
    let mut before = before;
    let mut after = after;
    before.sort();
    after.sort();
    assert_eq!(before, after, "the pending pods go first");
}
