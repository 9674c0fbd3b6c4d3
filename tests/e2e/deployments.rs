//! Deployments and ReplicaSets: replicas kept, scaling, rolling updates and rollbacks with
//! kubectl — a real `skiff server` (scheduler and controllers), one `skiff agent` and
//! kubectl's own `rollout status|history|undo|pause|resume|restart`, `scale` and `set env`.
//! The pods run the `show` test guest forever, printing their `COLOR`, so a template
//! change is visible in the pods' specs and in what the guest sees.

use crate::cluster::{Agent, Server};
use crate::eventually;
use serde_json::Value;
use skiff_test_programs as programs;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A server and one Ready node.
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

/// Applies Deployment `web` of `replicas` pods with `COLOR=blue`, `extra` YAML in its spec.
fn apply_web(server: &Server, replicas: u32, extra: &str) {
    let yaml = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
{extra}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: file://{image}
        args: [\"--every\", \"500\", \"COLOR\"]
        env:
        - name: COLOR
          value: blue
",
        image = programs::P1_SHOW
    );
    let manifest = server.manifest("web.yaml", &yaml);
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
}

/// Waits for `kubectl rollout status` to report the rollout done.
fn rolled_out(server: &Server) {
    let out = server.ok(&["rollout", "status", "deploy/web", "--timeout=55s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
}

/// A pod of `web`, as `kubectl get pods -o json` shows it.
#[derive(Debug, Clone)]
struct WebPod {
    name: String,
    color: String,
    ready: bool,
    deleting: bool,
}

fn web_pods(server: &Server) -> Vec<WebPod> {
    let out = server.ok(&["get", "pods", "-l", "app=web", "-o", "json"]);
    let list: Value = serde_json::from_str(&out).expect("pod list json");
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pod| WebPod {
            name: pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            color: pod["spec"]["containers"][0]["env"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["name"] == "COLOR")
                .and_then(|e| e["value"].as_str())
                .unwrap_or_default()
                .to_string(),
            ready: pod["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True"),
            deleting: pod["metadata"].get("deletionTimestamp").is_some(),
        })
        .collect()
}

/// Waits until `web` has exactly `replicas` pods (not being deleted), all ready, all with
/// `COLOR=<color>`; returns their names.
fn settled(server: &Server, replicas: usize, color: &str) -> BTreeSet<String> {
    eventually(&format!("{replicas} ready pods with COLOR={color}"), || {
        let pods: Vec<WebPod> = web_pods(server)
            .into_iter()
            .filter(|p| !p.deleting)
            .collect();
        let ok = pods.len() == replicas && pods.iter().all(|p| p.ready && p.color == color);
        ok.then(|| pods.into_iter().map(|p| p.name).collect())
    })
}

/// `.status` field of Deployment `web`.
fn status(server: &Server, field: &str) -> String {
    server.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        &format!("jsonpath={{.status.{field}}}"),
    ])
}

#[test]
fn a_deployment_keeps_its_replicas_and_scales() {
    let (server, _agent) = cluster();
    apply_web(&server, 3, "");
    rolled_out(&server);
    let pods = settled(&server, 3, "blue");
    assert_eq!(status(&server, "availableReplicas"), "3");
    let rs = server.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert!(
        rs.starts_with("web-") && !rs.contains(' '),
        "one ReplicaSet: {rs}"
    );

    // A lost pod is replaced.
    let victim = pods.iter().next().expect("a pod").clone();
    server.ok(&["delete", "pod", &victim, "--wait=false"]);
    let after = eventually("a replacement", || {
        let names = settled(&server, 3, "blue");
        (!names.contains(&victim)).then_some(names)
    });
    assert_eq!(after.intersection(&pods).count(), 2);

    server.ok(&["scale", "deploy", "web", "--replicas=5"]);
    rolled_out(&server);
    settled(&server, 5, "blue");
    server.ok(&["scale", "deploy", "web", "--replicas=2"]);
    rolled_out(&server);
    settled(&server, 2, "blue");
    eventually("the extra pods gone", || {
        (web_pods(&server).len() == 2).then_some(())
    });
    let events = server.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=web",
    ]);
    assert!(events.contains("ScalingReplicaSet"), "{events}");
    assert!(events.contains("Scaled down replica set web-"), "{events}");
}

#[test]
fn a_rolling_update_keeps_pods_available_and_rolls_back() {
    let (server, _agent) = cluster();
    apply_web(
        &server,
        4,
        "  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 1",
    );
    rolled_out(&server);
    settled(&server, 4, "blue");

    // Watch the pods throughout the rollout: never fewer than 4 - 1 ready ones that are
    // not being deleted.
    let done = Arc::new(AtomicBool::new(false));
    let lowest = Arc::new(AtomicUsize::new(usize::MAX));
    let watcher = {
        let (done, lowest) = (done.clone(), lowest.clone());
        let kubeconfig = server.kubeconfig();
        let cache = server.dir().join("watch-cache");
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let out = std::process::Command::new("kubectl")
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .arg("--cache-dir")
                    .arg(&cache)
                    .args(["get", "pods", "-l", "app=web", "-o", "json"])
                    .output()
                    .expect("kubectl");
                let Ok(list) = serde_json::from_slice::<Value>(&out.stdout) else {
                    continue;
                };
                let available = list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
                    .filter(|p| {
                        p["status"]["conditions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
                    .count();
                lowest.fetch_min(available, Ordering::SeqCst);
            }
        })
    };
    server.ok(&["set", "env", "deploy/web", "COLOR=green"]);
    rolled_out(&server);
    settled(&server, 4, "green");
    done.store(true, Ordering::SeqCst);
    watcher.join().expect("watcher");
    let lowest = lowest.load(Ordering::SeqCst);
    assert!(lowest != usize::MAX, "the rollout was observed");
    assert!(
        lowest >= 3,
        "only {lowest} pods were available at one point"
    );

    // The guest itself sees the new environment.
    let name = web_pods(&server)
        .into_iter()
        .find(|p| !p.deleting)
        .expect("a pod")
        .name;
    eventually("the guest printing COLOR=green", || {
        let logs = server.ok(&["logs", &name]);
        logs.contains("COLOR=green").then_some(())
    });

    let history = server.ok(&["rollout", "history", "deploy/web"]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    let old = server.ok(&["rollout", "history", "deploy/web", "--revision=1"]);
    assert!(old.contains("COLOR:") && old.contains("blue"), "{old}");

    server.ok(&["rollout", "undo", "deploy/web"]);
    rolled_out(&server);
    settled(&server, 4, "blue");
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ]),
        "3"
    );
    let history = server.ok(&["rollout", "history", "deploy/web"]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["2", "3"], "revision 1 became 3: {history}");
    let rs = server.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].spec.replicas}",
    ]);
    let mut sizes: Vec<&str> = rs.split_whitespace().collect();
    sizes.sort();
    assert_eq!(sizes, ["0", "4"], "two ReplicaSets, the old one at zero");
}

#[test]
fn a_paused_deployment_rolls_only_when_resumed() {
    let (server, _agent) = cluster();
    apply_web(&server, 2, "");
    rolled_out(&server);
    let first = settled(&server, 2, "blue");

    server.ok(&["rollout", "pause", "deploy/web"]);
    server.ok(&["set", "env", "deploy/web", "COLOR=green"]);
    let generation = server.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    eventually("the change observed", || {
        (status(&server, "observedGeneration") == generation).then_some(())
    });
    assert_eq!(
        status(&server, "conditions[?(@.type==\"Progressing\")].reason"),
        "DeploymentPaused"
    );
    assert_eq!(
        settled(&server, 2, "blue"),
        first,
        "nothing rolled while paused"
    );
    let rs = server.ok(&["get", "rs", "-l", "app=web", "-o", "name"]);
    assert_eq!(rs.lines().count(), 1, "{rs}");

    server.ok(&["rollout", "resume", "deploy/web"]);
    rolled_out(&server);
    let second = settled(&server, 2, "green");
    assert!(second.is_disjoint(&first));

    // A restart rolls the same template onto new pods.
    server.ok(&["rollout", "restart", "deploy/web"]);
    rolled_out(&server);
    let third = settled(&server, 2, "green");
    assert!(third.is_disjoint(&second), "{third:?} vs {second:?}");
    let rs = server.ok(&["get", "rs", "-l", "app=web", "-o", "name"]);
    assert_eq!(rs.lines().count(), 3, "{rs}");
}
