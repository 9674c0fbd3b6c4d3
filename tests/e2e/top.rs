//! `kubectl top`, end to end: a `skiff server` with two `skiff agent` nodes whose stats
//! streams the control plane follows, pods of two namespaces, and the real kubectl of the
//! oldest and newest supported versions (1.27 and 1.33) printing `top nodes`,
//! `top pods -A`, `--containers`, `-l` and `top pod NAME` from `metrics.k8s.io`.
//!
//! The kubectl binaries are found by [`crate::versions`].

use crate::cluster::{Agent, Server};
use crate::eventually;
use crate::versions::{self, VERSIONS};
use skiff_test_programs as programs;

/// Runs kubectl `binary` against `server`; stdout on success, `None` (with stderr
/// logged) on failure.
fn kubectl(server: &Server, version: &str, args: &[&str]) -> Option<String> {
    let out = versions::kubectl(server, version, &server.kubeconfig(), args);
    if out.status.success() {
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        eprintln!(
            "kubectl {version} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        None
    }
}

/// The rows of kubectl's table output, split into columns, header first.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn is_cpu(cell: &str) -> bool {
    cell.strip_suffix('m')
        .is_some_and(|n| n.parse::<u64>().is_ok())
}

fn is_memory(cell: &str) -> bool {
    cell.strip_suffix("Mi")
        .is_some_and(|n| n.parse::<u64>().is_ok())
}

fn is_percent(cell: &str) -> bool {
    cell.strip_suffix('%')
        .is_some_and(|n| n.parse::<u64>().is_ok())
}

/// A Deployment `name` in `namespace` of `replicas` http-guest pods labelled `app: <name>`,
/// container `main`.
fn deployment(name: &str, namespace: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: file://{image}
        ports:
        - name: http
          containerPort: 8080
",
        image = programs::P2_HTTP_GUEST
    )
}

/// A server with nodes `top-a` and `top-b`, three pods of `web` in `default` and one of
/// `api` in `tools`, all Running.
fn cluster() -> (Server, Vec<Agent>) {
    let server = Server::start();
    let agents: Vec<Agent> = ["top-a", "top-b"]
        .iter()
        .map(|n| Agent::start(&server, n))
        .collect();
    server.ok(&["create", "namespace", "tools"]);
    let web = server.manifest("web.yaml", &deployment("web", "default", 3));
    let api = server.manifest("api.yaml", &deployment("api", "tools", 1));
    for manifest in [web, api] {
        server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    }
    eventually("four pods Running", || {
        let out = server.kubectl(&[
            "get",
            "pods",
            "-A",
            "-o",
            "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (text.lines().filter(|l| *l == "Running").count() == 4).then_some(())
    });
    (server, agents)
}

#[test]
fn kubectl_top_shows_nodes_and_pods() {
    let (server, _agents) = cluster();
    for version in VERSIONS {
        let top = |args: &[&str]| kubectl(&server, version, args);

        // Nodes: both, each with figures (no `<unknown>`) and percentages of allocatable.
        let nodes = eventually(&format!("kubectl {version} top nodes"), || {
            let rows = rows(&top(&["top", "nodes"])?);
            let complete = rows.len() == 3 && rows[1..].iter().all(|r| r.len() == 5);
            complete.then_some(rows)
        });
        // kubectl writes the percentage headers `CPU%` or `CPU(%)` depending on version.
        let header: Vec<String> = nodes[0].iter().map(|h| h.replace("(%)", "%")).collect();
        assert_eq!(
            header,
            ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"],
            "kubectl {version}"
        );
        let names: Vec<&str> = nodes[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["top-a", "top-b"], "kubectl {version}");
        for row in &nodes[1..] {
            assert!(
                is_cpu(&row[1]) && is_percent(&row[2]) && is_memory(&row[3]) && is_percent(&row[4]),
                "kubectl {version} top nodes row {row:?}"
            );
        }
        let one = rows(&top(&["top", "node", "top-b"]).expect("top node top-b"));
        assert_eq!(one.len(), 2, "kubectl {version}: {one:?}");
        assert_eq!(one[1][0], "top-b");

        // Pods of every namespace.
        let pods = eventually(&format!("kubectl {version} top pods -A"), || {
            let rows = rows(&top(&["top", "pods", "-A"])?);
            (rows.len() == 5).then_some(rows)
        });
        assert_eq!(
            pods[0],
            ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"],
            "kubectl {version}"
        );
        let namespaces: Vec<&str> = pods[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            namespaces,
            ["default", "default", "default", "tools"],
            "kubectl {version}"
        );
        for row in &pods[1..] {
            assert_eq!(row.len(), 4, "kubectl {version}: {row:?}");
            assert!(
                is_cpu(&row[2]) && is_memory(&row[3]),
                "kubectl {version}: {row:?}"
            );
        }
        let api_pod = pods[4][1].clone();
        assert!(api_pod.starts_with("api-"), "{api_pod}");

        // One namespace, by container.
        let containers =
            rows(&top(&["top", "pods", "-n", "default", "--containers"]).expect("--containers"));
        assert_eq!(
            containers[0],
            ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
            "kubectl {version}"
        );
        assert_eq!(containers.len(), 4, "kubectl {version}: {containers:?}");
        for row in &containers[1..] {
            assert!(row[0].starts_with("web-"), "kubectl {version}: {row:?}");
            assert_eq!(row[1], "main", "kubectl {version}: {row:?}");
            assert!(
                is_cpu(&row[2]) && is_memory(&row[3]),
                "kubectl {version}: {row:?}"
            );
        }

        // By label, across namespaces.
        let selected = rows(&top(&["top", "pods", "-A", "-l", "app=api"]).expect("-l"));
        assert_eq!(selected.len(), 2, "kubectl {version}: {selected:?}");
        assert_eq!(selected[1][0], "tools");
        assert_eq!(selected[1][1], api_pod);

        // By name.
        let named = rows(&top(&["top", "pod", "-n", "tools", &api_pod]).expect("top pod NAME"));
        assert_eq!(named.len(), 2, "kubectl {version}: {named:?}");
        assert_eq!(named[1][0], api_pod);

        // A pod that does not exist: kubectl's own words around the API's 404.
        let out = versions::kubectl(
            &server,
            version,
            &server.kubeconfig(),
            &["top", "pod", "nope"],
        );
        assert!(!out.status.success(), "kubectl {version} top pod nope");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not found"), "kubectl {version}: {stderr}");
    }
}
