//! Scheduling: pods created without a node are placed on nodes by the scheduler — a real
//! `skiff server`, two `skiff agent`s and kubectl. Pods land on Ready nodes and run; a
//! nodeSelector picks the labelled node; a cordoned node gets no new pods; a pod that fits
//! nowhere says why in `kubectl describe` and `kubectl get events`.

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
