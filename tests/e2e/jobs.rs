//! Jobs, garbage collection and namespace deletion, with a real `skiff server`, one
//! `skiff agent` and kubectl. Job pods are placed by the scheduler.
//!
//! - a Job of 10 completions, 3 at a time, completes (`kubectl wait --for=condition=complete`);
//! - a failing Job stops at its `backoffLimit` with the `Failed` condition;
//! - `kubectl delete ns` removes everything in the namespace, then the namespace;
//! - `kubectl delete --cascade=orphan` leaves the dependents running, without their owner;
//! - `kubectl delete deploy` removes its ReplicaSets and their pods.

use crate::cluster::{Agent, Server};
use crate::eventually;
use skiff_test_programs as programs;

/// A server and one Ready node, `node-a`.
fn cluster() -> (Server, Agent) {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    eventually("node-a Ready", || {
        let out = server.kubectl(&[
            "get",
            "node",
            "node-a",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ]);
        (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
    });
    (server, agent)
}

/// A Job running `image` with `args`, `restartPolicy: Never`, plus extra spec YAML.
fn job(name: &str, image: &str, args: &[&str], spec: &str) -> String {
    let args = args
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{spec}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: file://{image}
        args: [{args}]
"
    )
}

fn apply(server: &Server, file: &str, yaml: &str, namespace: Option<&str>) {
    let manifest = server.manifest(file, yaml);
    let path = manifest.to_str().expect("utf-8");
    match namespace {
        Some(ns) => server.ok(&["apply", "-n", ns, "-f", path]),
        None => server.ok(&["apply", "-f", path]),
    };
}

fn get(server: &Server, args: &[&str]) -> String {
    String::from_utf8_lossy(&server.kubectl(args).stdout)
        .trim()
        .to_string()
}

/// The names (`pod/x`) of the pods matching `selector`.
fn pods(server: &Server, selector: &str) -> Vec<String> {
    server
        .ok(&["get", "pods", "-l", selector, "-o", "name"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The phases of the pods matching `selector`, one per pod.
fn phases(server: &Server, selector: &str) -> Vec<String> {
    get(
        server,
        &[
            "get",
            "pods",
            "-l",
            selector,
            "-o",
            "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}",
        ],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn a_job_of_ten_completions_runs_three_at_a_time_to_completion() {
    let (server, agent) = cluster();
    apply(
        &server,
        "ten.yaml",
        &job(
            "ten",
            programs::P1_EXIT_CODE,
            &["0"],
            "  completions: 10\n  parallelism: 3",
        ),
        None,
    );
    let out = server.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/ten",
        "--timeout=50s",
    ]);
    assert!(
        out.status.success(),
        "job did not complete: {}{}\n--- job:\n{}\n--- agent log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.ok(&["get", "job", "ten", "-o", "yaml"]),
        agent.log()
    );
    assert_eq!(
        get(
            &server,
            &["get", "job", "ten", "-o", "jsonpath={.status.succeeded}"]
        ),
        "10"
    );
    assert_eq!(
        get(
            &server,
            &["get", "job", "ten", "-o", "jsonpath={.status.failed}"]
        ),
        ""
    );
    let phases = phases(&server, "job-name=ten");
    assert_eq!(phases.len(), 10, "one pod per completion: {phases:?}");
    assert!(phases.iter().all(|p| p == "Succeeded"), "{phases:?}");
    let table = server.ok(&["get", "job", "ten"]);
    assert!(table.contains("10/10"), "{table}");
    let described = server.ok(&["describe", "job", "ten"]);
    for story in ["SuccessfulCreate", "Completed"] {
        assert!(
            described.contains(story),
            "describe lacks {story}:\n{described}"
        );
    }
}

#[test]
fn a_failing_job_stops_at_its_backoff_limit() {
    let (server, _agent) = cluster();
    apply(
        &server,
        "fails.yaml",
        &job("fails", programs::P1_EXIT_CODE, &["1"], "  backoffLimit: 2"),
        None,
    );
    server.ok(&[
        "wait",
        "--for=condition=failed",
        "job/fails",
        "--timeout=50s",
    ]);
    let reason = get(
        &server,
        &[
            "get",
            "job",
            "fails",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Failed\")].reason}",
        ],
    );
    assert_eq!(reason, "BackoffLimitExceeded");
    assert_eq!(
        get(
            &server,
            &["get", "job", "fails", "-o", "jsonpath={.status.failed}"]
        ),
        "3"
    );
    let phases = phases(&server, "job-name=fails");
    assert_eq!(
        phases,
        ["Failed", "Failed", "Failed"],
        "no pod beyond the limit"
    );
    let described = server.ok(&["describe", "job", "fails"]);
    assert!(described.contains("BackoffLimitExceeded"), "{described}");
}

#[test]
fn deleting_a_namespace_removes_everything_in_it() {
    let (server, _agent) = cluster();
    server.ok(&["create", "namespace", "team"]);
    server.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team",
        "--from-literal=a=b",
    ]);
    // A neighbour that must survive.
    server.ok(&["create", "configmap", "elsewhere", "--from-literal=a=b"]);
    apply(
        &server,
        "sleepers.yaml",
        &job(
            "sleepers",
            programs::P1_SLEEP,
            &["60000"],
            "  completions: 2\n  parallelism: 2",
        ),
        Some("team"),
    );
    eventually("the job's pods running", || {
        let out = server.kubectl(&[
            "get",
            "pods",
            "-n",
            "team",
            "-o",
            "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}",
        ]);
        let phases = String::from_utf8_lossy(&out.stdout).into_owned();
        (phases.lines().filter(|p| *p == "Running").count() == 2).then_some(())
    });
    // kubectl waits until the namespace is gone.
    let out = server.ok(&["delete", "namespace", "team"]);
    assert!(out.contains("namespace \"team\" deleted"), "{out}");
    let err = server.fails(&["get", "namespace", "team"]);
    assert!(err.contains("not found"), "{err}");
    let namespaces = server.ok(&[
        "get",
        "pods,configmaps,jobs",
        "--all-namespaces",
        "-o",
        "jsonpath={range .items[*]}{.metadata.namespace}{\"\\n\"}{end}",
    ]);
    assert!(namespaces.lines().any(|ns| ns == "default"), "{namespaces}");
    assert!(
        !namespaces.lines().any(|ns| ns == "team"),
        "content left behind: {namespaces}"
    );
    let err = server.fails(&["delete", "namespace", "default"]);
    assert!(err.contains("this namespace may not be deleted"), "{err}");
}

#[test]
fn deleting_with_cascade_orphan_leaves_the_pods() {
    let (server, _agent) = cluster();
    apply(
        &server,
        "keep.yaml",
        &job(
            "keep",
            programs::P1_SLEEP,
            &["60000"],
            "  completions: 2\n  parallelism: 2",
        ),
        None,
    );
    eventually("two pods running", || {
        let phases = phases(&server, "job-name=keep");
        (phases.iter().filter(|p| *p == "Running").count() == 2).then_some(())
    });
    let before = pods(&server, "job-name=keep");
    server.ok(&["delete", "job", "keep", "--cascade=orphan"]);
    let err = server.fails(&["get", "job", "keep"]);
    assert!(err.contains("not found"), "{err}");
    eventually("the pods released by their job", || {
        let owners = get(
            &server,
            &[
                "get",
                "pods",
                "-l",
                "job-name=keep",
                "-o",
                "jsonpath={range .items[*]}{.metadata.ownerReferences}{.metadata.finalizers}{end}",
            ],
        );
        owners.is_empty().then_some(())
    });
    assert_eq!(
        pods(&server, "job-name=keep"),
        before,
        "the same pods, still there"
    );
    assert_eq!(phases(&server, "job-name=keep"), ["Running", "Running"]);
}

#[test]
fn deleting_a_deployment_removes_its_replica_sets_and_pods() {
    let (server, _agent) = cluster();
    let deployment = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: main
        image: file://{image}
        args: [\"60000\"]
",
        image = programs::P1_SLEEP
    );
    apply(&server, "web.yaml", &deployment, None);
    eventually("two pods running", || {
        let phases = phases(&server, "app=web");
        (phases.iter().filter(|p| *p == "Running").count() == 2).then_some(())
    });
    assert_eq!(
        server
            .ok(&["get", "rs", "-l", "app=web", "-o", "name"])
            .lines()
            .count(),
        1
    );
    server.ok(&["delete", "deployment", "web"]);
    eventually("the replica set gone", || {
        server
            .ok(&["get", "rs", "-l", "app=web", "-o", "name"])
            .trim()
            .is_empty()
            .then_some(())
    });
    eventually("the pods gone", || {
        pods(&server, "app=web").is_empty().then_some(())
    });
}
