//! The HorizontalPodAutoscaler end to end: a real `skiff server` and `skiff agent`, the real
//! kubectl, and CPU load through the agent's node port. `kubectl autoscale deploy web
//! --cpu-percent=50` (an `autoscaling/v1` object, stored as v2) scales the `http-guest`
//! Deployment out while clients keep its pods busy in `/burn/<ms>`, `kubectl get hpa`
//! shows the measured utilization in TARGETS, and with a short scale-down stabilization
//! window set through v2 it comes back to one pod when the load stops; `kubectl describe
//! hpa` shows the conditions and the rescale events. Bad HPAs are refused with 422.

use crate::cluster::{Agent, Server};
use crate::eventually;
use crate::http::Load;
use skiff_test_programs as programs;
use std::net::SocketAddr;

fn manifest() -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: main
        image: file://{image}
        resources:
          requests:
            cpu: 100m
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
",
        image = programs::P2_HTTP_GUEST
    )
}

fn node_port(server: &Server) -> u16 {
    server
        .ok(&[
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .trim()
        .parse()
        .expect("a node port")
}

fn replicas(server: &Server) -> u32 {
    server
        .ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn kubectl_autoscale_scales_out_under_cpu_load_and_back_in() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest("web.yaml", &manifest());
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    eventually("web to be ready", || {
        let line = server.ok(&["get", "deploy", "web", "--no-headers"]);
        (line.split_whitespace().nth(1) == Some("1/1")).then_some(())
    });

    let created = server.ok(&[
        "autoscale",
        "deploy",
        "web",
        "--min=1",
        "--max=4",
        "--cpu-percent=50",
    ]);
    assert!(created.contains("autoscaled"), "{created}");
    // A v2-only field, set through v2 on the object kubectl created as v1.
    server.ok(&[
        "patch",
        "hpa",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":3}}}}"#,
    ]);
    let v1 = server.ok(&[
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-o",
        "json",
    ]);
    assert!(
        v1.contains("\"targetCPUUtilizationPercentage\": 50"),
        "{v1}"
    );
    assert!(
        v1.contains("autoscaling.alpha.kubernetes.io/behavior"),
        "{v1}"
    );

    let addr = SocketAddr::from((agent.ip(), node_port(&server)));
    let load = Load::start(addr, "/burn/50", 4);
    let scaled = eventually("web to scale out under load", || {
        let n = replicas(&server);
        (n >= 2).then_some(n)
    });
    assert!(scaled <= 4, "never past maxReplicas: {scaled}");
    let targets = eventually("TARGETS to show a measured utilization", || {
        let line = server.ok(&["get", "hpa", "web", "--no-headers"]);
        let targets = line.split_whitespace().nth(2)?.to_string();
        let value = line.split_whitespace().nth(3)?;
        (!targets.contains("<unknown>")).then(|| format!("{targets} {value}"))
    });
    assert!(targets.starts_with("cpu:"), "{targets}");
    assert!(targets.contains("%/50%"), "{targets}");
    let report = load.stop();
    assert!(report.ok > 0, "the load was served: {report:?}");

    eventually("web to scale back in once the load stops", || {
        (replicas(&server) == 1).then_some(())
    });
    let described = server.ok(&["describe", "hpa", "web"]);
    for expected in [
        "AbleToScale",
        "ScalingActive",
        "ValidMetricFound",
        "SuccessfulRescale",
        "above target",
        "All metrics below target",
    ] {
        assert!(described.contains(expected), "{expected} in:\n{described}");
    }
}

#[test]
fn bad_hpas_are_refused_with_kubernetes_wording() {
    let server = Server::start();
    let bad = |name: &str, spec: &str| {
        let yaml = format!(
            "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
{spec}"
        );
        let path = server.manifest(&format!("{name}.yaml"), &yaml);
        server.fails(&["apply", "-f", path.to_str().expect("utf-8")])
    };
    let target =
        "  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n";
    let err = bad(
        "bounds",
        &format!("{target}  minReplicas: 5\n  maxReplicas: 2\n"),
    );
    assert!(err.contains("is invalid"), "{err}");
    assert!(
        err.contains(
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
        ),
        "{err}"
    );
    let err = bad(
        "period",
        &format!(
            "{target}  maxReplicas: 3\n  behavior:\n    scaleUp:\n      policies:\n      - type: Pods\n        value: 1\n        periodSeconds: 1801\n"
        ),
    );
    assert!(
        err.contains("spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800"),
        "{err}"
    );
    let err = bad(
        "metric",
        &format!(
            "{target}  maxReplicas: 3\n  metrics:\n  - type: Pods\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: 50\n"
        ),
    );
    assert!(
        err.contains("spec.metrics[0].pods: Required value: must populate information for the given metric source"),
        "{err}"
    );
    // Through v1, as `kubectl autoscale` writes: kubectl itself refuses --min above --max,
    // so write the object directly.
    let path = server.manifest(
        "v1.yaml",
        "apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: v1
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 0
  maxReplicas: 3
",
    );
    let err = server.fails(&["apply", "-f", path.to_str().expect("utf-8")]);
    assert!(
        err.contains("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
        "{err}"
    );
}
