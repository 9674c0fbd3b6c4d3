//! Request-driven autoscaling end to end: a real `skiff server` (with a short stable window
//! and grace period) and `skiff agent`, kubectl, and HTTP through the agent's node port. A
//! Deployment of the `http-guest` component opted in with Knative's class annotation idles
//! to zero (`kubectl get deploy` 0/0), answers a request from zero with 200 (the agent
//! holds it and activates the Service), and scales out under concurrent `/sleep/200`
//! requests with none failed.

use crate::cluster::{Agent, Server};
use crate::eventually;
use crate::http;
use skiff_test_programs as programs;
use std::net::SocketAddr;

fn manifest() -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: zero
  annotations:
    autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
    autoscaling.knative.dev/window: 6s
    autoscaling.knative.dev/target: \"2\"
    autoscaling.knative.dev/max-scale: \"10\"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: zero
  template:
    metadata:
      labels:
        app: zero
    spec:
      containers:
      - name: main
        image: file://{image}
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: zero
spec:
  type: NodePort
  selector:
    app: zero
  ports:
  - port: 80
    targetPort: 8080
",
        image = programs::P2_HTTP_GUEST
    )
}

/// `READY` of `kubectl get deploy zero`, e.g. `0/0`.
fn ready_column(server: &Server) -> String {
    server
        .ok(&[
            "get",
            "deploy",
            "zero",
            "--no-headers",
            "-o",
            "custom-columns=R:.status.readyReplicas,S:.spec.replicas",
        ])
        .split_whitespace()
        .map(|c| if c == "<none>" { "0" } else { c })
        .collect::<Vec<_>>()
        .join("/")
}

fn node_port(server: &Server) -> u16 {
    server
        .ok(&[
            "get",
            "service",
            "zero",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .trim()
        .parse()
        .expect("a node port")
}

#[test]
fn a_kpa_deployment_idles_to_zero_answers_from_zero_and_scales_out_under_load() {
    let server = Server::start_with(&["--scale-to-zero-grace-period", "2s"]);
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest("zero.yaml", &manifest());
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    eventually("the deployment to idle at zero", || {
        let line = server.ok(&["get", "deploy", "zero", "--no-headers"]);
        line.split_whitespace()
            .nth(1)
            .filter(|r| *r == "0/0")
            .map(|_| ())
    });
    let addr = SocketAddr::from((agent.ip(), node_port(&server)));

    let first = http::get(addr, "/").expect("a request from zero");
    assert_eq!(first.status, 200, "answered from zero: {}", first.body);

    // 30 concurrent requests of 200 ms, target 2 × 70 % in flight per pod: several pods.
    let threads: Vec<_> = (0..30)
        .map(|_| {
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| http::get(addr, "/sleep/200").map(|r| r.status))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut peak = 0;
    let statuses: Vec<_> = threads
        .into_iter()
        .flat_map(|t| {
            let (ready, _) = ready_column(&server)
                .split_once('/')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap_or_default();
            peak = peak.max(ready.parse::<u32>().unwrap_or(0));
            t.join().expect("load thread")
        })
        .collect();
    let failed: Vec<_> = statuses.iter().filter(|s| !matches!(s, Ok(200))).collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    let scaled = eventually("at least 3 replicas ready under load, or seen", || {
        let ready: u32 = ready_column(&server)
            .split('/')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        (peak.max(ready) >= 3).then_some(peak.max(ready))
    });
    assert!(scaled >= 3, "scaled to {scaled}");
}
