//! Services and the data plane, end to end: real `skiff server` and `skiff agent`
//! processes, kubectl, and HTTP through the agents' node ports. The pods run the
//! `http-guest` test component, which answers `/env/POD_NAME` with its pod's name (set from
//! the downward API), so each answer says which replica served it.

use crate::cluster::{Agent, Server};
use crate::eventually;
use crate::http::{self, Load};
use serde_json::Value;
use skiff_test_programs as programs;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// A server with agents `names`, every node Ready.
fn cluster(names: &[&str]) -> (Server, Vec<Agent>) {
    let server = Server::start();
    let agents: Vec<Agent> = names.iter().map(|n| Agent::start(&server, n)).collect();
    for name in names {
        eventually(&format!("{name} Ready"), || {
            let out = server.kubectl(&[
                "get",
                "node",
                name,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ]);
            (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
        });
    }
    (server, agents)
}

/// A Deployment `name` of `replicas` http-guest pods labelled `app: <app>`, with `extra`
/// YAML in its container (probes) and `pod_extra` in its pod spec.
fn deployment(name: &str, app: &str, replicas: u32, extra: &str, pod_extra: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      app: {app}
      deployment: {name}
  template:
    metadata:
      labels:
        app: {app}
        deployment: {name}
    spec:
      terminationGracePeriodSeconds: 5
{pod_extra}
      containers:
      - name: main
        image: file://{image}
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
{extra}
",
        image = programs::P2_HTTP_GUEST
    )
}

/// A readiness probe on `path`, checked every second.
fn readiness(path: &str) -> String {
    format!(
        "        readinessProbe:
          httpGet:
            path: {path}
            port: http
          periodSeconds: 1
          failureThreshold: 1
"
    )
}

/// A Service `name` of `kind` selecting `app: <app>`, port 80 → the pods' `http` port.
fn service(name: &str, app: &str, kind: &str) -> String {
    service_on(name, app, kind, 80)
}

/// A Service as [`service`] on `port`.
fn service_on(name: &str, app: &str, kind: &str, port: u16) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  type: {kind}
  selector:
    app: {app}
  ports:
  - name: web
    port: {port}
    targetPort: http
"
    )
}

fn apply(server: &Server, file: &str, yaml: &str) {
    let manifest = server.manifest(file, yaml);
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
}

fn json(server: &Server, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&server.ok(&args)).expect("kubectl json")
}

/// The node port the API server allocated to Service `name`.
fn node_port(server: &Server, name: &str) -> u16 {
    let svc = json(server, &["get", "service", name]);
    let port = svc["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .unwrap_or_else(|| panic!("service {name} has no nodePort: {svc}"));
    assert!((30000..=32767).contains(&port), "nodePort {port} in range");
    port as u16
}

/// Names of the ready, not terminating pods labelled `selector`, with their nodes.
fn ready_pods(server: &Server, selector: &str) -> Vec<(String, String)> {
    let list = json(server, &["get", "pods", "-l", selector]);
    list["items"]
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
        .map(|p| {
            (
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Waits until `count` pods labelled `selector` are ready; returns their names and nodes.
fn wait_ready(server: &Server, selector: &str, count: usize) -> Vec<(String, String)> {
    eventually(&format!("{count} ready pods {selector}"), || {
        let pods = ready_pods(server, selector);
        (pods.len() == count).then_some(pods)
    })
}

/// Waits until Service `name` lists `count` ready endpoint addresses.
fn wait_endpoints(server: &Server, name: &str, count: usize) {
    eventually(&format!("{count} endpoints of {name}"), || {
        let out = server.kubectl(&["get", "endpoints", name, "-o", "json"]);
        let endpoints: Value = serde_json::from_slice(&out.stdout).ok()?;
        let ready: usize = endpoints["subsets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["addresses"].as_array().map_or(0, Vec::len))
            .sum();
        (ready == count).then_some(())
    });
}

/// Which pods answer `GET /env/POD_NAME` at `addr`, over `requests` requests; every
/// request must succeed.
fn answering(addr: SocketAddr, requests: usize) -> BTreeSet<String> {
    (0..requests)
        .map(|_| {
            let r = http::get(addr, "/env/POD_NAME").expect("request through the node port");
            assert_eq!(r.status, 200, "status of {addr}: {}", r.body);
            r.body.trim().to_string()
        })
        .collect()
}

/// Which pods answer `count` requests sent at once to `addr`, each held `ms` in the guest so
/// that they overlap: the agent balances by outstanding requests, so overlapping requests
/// spread over the endpoints even where idle ones would all go to a local pod.
fn answering_at_once(addr: SocketAddr, count: usize, ms: u32) -> BTreeSet<String> {
    let threads: Vec<_> = (0..count)
        .map(|_| {
            std::thread::spawn(move || {
                http::get(addr, &format!("/sleep/{ms}/env/POD_NAME"))
                    .expect("request through the node port")
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| {
            let r = t.join().expect("request thread");
            assert_eq!(r.status, 200, "status of {addr}: {}", r.body);
            r.body.trim().to_string()
        })
        .collect()
}

#[test]
fn curl_through_a_node_port_reaches_every_replica() {
    let (server, agents) = cluster(&["node-a"]);
    apply(&server, "web.yaml", &deployment("web", "web", 3, "", ""));
    apply(&server, "svc.yaml", &service("web", "web", "NodePort"));
    let pods: BTreeSet<String> = wait_ready(&server, "app=web", 3)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    wait_endpoints(&server, "web", 3);
    let port = node_port(&server, "web");
    let url = format!("http://{}:{port}/env/POD_NAME", agents[0].ip());
    let mut seen = BTreeSet::new();
    eventually("every replica to answer through the node port", || {
        let out = crate::output(std::process::Command::new("curl").args(["-sS", "-f", &url]));
        assert!(
            out.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.insert(String::from_utf8_lossy(&out.stdout).trim().to_string());
        (seen == pods).then_some(())
    });

    let described = server.ok(&["describe", "service", "web"]);
    assert!(described.contains("NodePort:"), "{described}");
    assert!(
        described
            .lines()
            .any(|l| l.starts_with("Endpoints:") && l.contains(":8080")),
        "describe shows the endpoints: {described}"
    );
    let table = server.ok(&["get", "endpoints", "web"]);
    assert!(table.contains(":8080"), "{table}");

    // The agent counts what it served.
    let agent_port = json(&server, &["get", "node", "node-a"])["status"]["daemonEndpoints"]
        ["kubeletEndpoint"]["Port"]
        .as_u64()
        .expect("agent port");
    let metrics = http::get(
        SocketAddr::new(agents[0].ip().into(), agent_port as u16),
        "/metrics",
    )
    .expect("metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l.starts_with("skiff_requests_total{") && l.contains("service=\"web\"")),
        "{}",
        metrics.body
    );
}

#[test]
fn a_service_spans_two_agents_and_both_serve() {
    let (server, agents) = cluster(&["node-a", "node-b"]);
    apply(&server, "web.yaml", &deployment("web", "web", 4, "", ""));
    // Port 8000: a load balancer listens on its Service port, and the tests need no root.
    apply(
        &server,
        "svc.yaml",
        &service_on("web", "web", "LoadBalancer", 8000),
    );
    let pods = wait_ready(&server, "app=web", 4);
    let nodes: BTreeSet<&str> = pods.iter().map(|(_, node)| node.as_str()).collect();
    assert_eq!(nodes.len(), 2, "replicas spread over both nodes: {pods:?}");
    wait_endpoints(&server, "web", 4);
    let port = node_port(&server, "web");
    let all: BTreeSet<String> = pods.iter().map(|(name, _)| name.clone()).collect();
    for agent in &agents {
        let addr = SocketAddr::new(agent.ip().into(), port);
        // One request at a time goes to an idle pod, the node's own when it has one (the
        // balancer's unit tests pin that down); requests at once spread over both nodes.
        assert!(answering(addr, 4).is_subset(&all));
        let mut seen = BTreeSet::new();
        eventually("both nodes' pods to answer through one agent", || {
            seen.extend(answering_at_once(addr, 8, 300));
            (seen == all).then_some(())
        });
    }
    // As a LoadBalancer, it lists the nodes and is served on its own port too.
    let ingress: BTreeSet<String> = eventually("the load balancer's ingress", || {
        let svc = json(&server, &["get", "service", "web"]);
        let ips: BTreeSet<String> = svc["status"]["loadBalancer"]["ingress"]
            .as_array()?
            .iter()
            .filter_map(|i| i["ip"].as_str().map(str::to_string))
            .collect();
        (ips.len() == 2).then_some(ips)
    });
    let expected: BTreeSet<String> = agents.iter().map(|a| a.ip().to_string()).collect();
    assert_eq!(ingress, expected);
    let addr = SocketAddr::new(agents[1].ip().into(), 8000);
    let served = eventually("the service port to answer", || {
        http::get(addr, "/env/POD_NAME").ok()
    });
    assert_eq!(served.status, 200, "{}", served.body);
    assert!(all.contains(served.body.trim()), "{}", served.body);
}

#[test]
fn a_frontend_calls_its_backend_by_name() {
    let (server, agents) = cluster(&["node-a", "node-b"]);
    // The backend runs on node-b only, the frontend on node-a only: every call crosses nodes.
    let on = |node: &str| format!("      nodeSelector:\n        kubernetes.io/hostname: {node}");
    apply(
        &server,
        "backend.yaml",
        &deployment("backend", "backend", 2, "", &on("node-b")),
    );
    apply(
        &server,
        "backend-svc.yaml",
        &service("backend", "backend", "ClusterIP"),
    );
    apply(
        &server,
        "frontend.yaml",
        &deployment("frontend", "frontend", 1, "", &on("node-a")),
    );
    apply(
        &server,
        "frontend-svc.yaml",
        &service("frontend", "frontend", "NodePort"),
    );
    let backends: BTreeSet<String> = wait_ready(&server, "app=backend", 2)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    wait_ready(&server, "app=frontend", 1);
    wait_endpoints(&server, "backend", 2);
    wait_endpoints(&server, "frontend", 1);
    let addr = SocketAddr::new(agents[0].ip().into(), node_port(&server, "frontend"));
    for host in [
        "backend",
        "backend.default",
        "backend.default.svc",
        "backend.default.svc.cluster.local",
        "backend:80",
    ] {
        let r = http::get(addr, &format!("/fetch/{host}/env/POD_NAME")).expect("frontend");
        assert_eq!(r.status, 200, "via {host}: {}", r.body);
        let body = r.body.trim();
        let from = body
            .strip_prefix("upstream 200 ")
            .unwrap_or_else(|| panic!("via {host}: {body}"));
        assert!(backends.contains(from), "via {host}: answered by {from}");
    }
    // A name that is no Service is not an open door to the network.
    let r = http::get(addr, "/fetch/nosuch.default.svc.cluster.local/").expect("frontend");
    assert_ne!(r.status, 200, "{}", r.body);
}

#[test]
fn a_pod_failing_readiness_gets_no_traffic() {
    let (server, agents) = cluster(&["node-a"]);
    apply(
        &server,
        "good.yaml",
        &deployment("good", "web", 2, &readiness("/healthz"), ""),
    );
    apply(
        &server,
        "bad.yaml",
        &deployment("bad", "web", 1, &readiness("/status/500"), ""),
    );
    apply(&server, "svc.yaml", &service("web", "web", "NodePort"));
    let good: BTreeSet<String> = wait_ready(&server, "deployment=good", 2)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    // The bad pod runs, but is not ready, and says why.
    let bad = eventually("the bad pod Running", || {
        let list = json(&server, &["get", "pods", "-l", "deployment=bad"]);
        let pod = list["items"].as_array()?.first()?.clone();
        (pod["status"]["phase"] == "Running").then_some(pod)
    });
    let bad_name = bad["metadata"]["name"].as_str().expect("name").to_string();
    eventually("an Unhealthy event for the bad pod", || {
        let out = server.kubectl(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={bad_name},reason=Unhealthy"),
            "-o",
            "jsonpath={.items[*].message}",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("Readiness probe failed").then_some(())
    });
    assert!(ready_pods(&server, "deployment=bad").is_empty());
    wait_endpoints(&server, "web", 2);
    let endpoints = json(&server, &["get", "endpoints", "web"]);
    let not_ready = endpoints["subsets"][0]["notReadyAddresses"].to_string();
    assert!(not_ready.contains(&bad_name), "{endpoints}");

    let addr = SocketAddr::new(agents[0].ip().into(), node_port(&server, "web"));
    let seen = answering(addr, 60);
    assert!(
        !seen.contains(&bad_name),
        "the unready pod was sent traffic: {seen:?}"
    );
    assert_eq!(seen, good, "both ready pods serve");
}

#[test]
fn a_rolling_update_under_steady_load_loses_no_request() {
    let (server, agents) = cluster(&["node-a", "node-b"]);
    apply(
        &server,
        "web.yaml",
        &deployment("web", "web", 3, &readiness("/healthz"), ""),
    );
    apply(&server, "svc.yaml", &service("web", "web", "NodePort"));
    let before: BTreeSet<String> = wait_ready(&server, "app=web", 3)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    wait_endpoints(&server, "web", 3);
    let addr = SocketAddr::new(agents[0].ip().into(), node_port(&server, "web"));
    answering(addr, 3);

    let load = Load::start(addr, "/env/POD_NAME", 4);
    eventually("load flowing", || (load.ok() > 20).then_some(()));
    server.ok(&["set", "env", "deploy/web", "VERSION=2"]);
    let out = server.ok(&["rollout", "status", "deploy/web", "--timeout=55s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let after = wait_ready(&server, "app=web", 3);
    let served_after = load.ok();
    eventually("load served by the new pods", || {
        (load.ok() > served_after + 20).then_some(())
    });
    let report = load.stop();
    assert!(
        report.failures.is_empty(),
        "lost requests: {:?}",
        report.failures
    );
    assert!(report.ok > 40, "requests served: {}", report.ok);
    let new: BTreeSet<String> = after.into_iter().map(|(name, _)| name).collect();
    assert!(
        new.is_disjoint(&before),
        "every pod replaced: {before:?} → {new:?}"
    );
    let answered = answering_at_once(addr, 12, 200);
    assert!(
        answered.is_subset(&new),
        "only the new pods answer: {answered:?}"
    );
}

#[test]
fn deleting_a_pod_mid_load_loses_no_request() {
    let (server, agents) = cluster(&["node-a"]);
    apply(
        &server,
        "web.yaml",
        &deployment("web", "web", 3, &readiness("/healthz"), ""),
    );
    apply(&server, "svc.yaml", &service("web", "web", "NodePort"));
    let pods = wait_ready(&server, "app=web", 3);
    wait_endpoints(&server, "web", 3);
    let addr = SocketAddr::new(agents[0].ip().into(), node_port(&server, "web"));
    answering(addr, 3);

    // Requests that take a while, so some are in flight in the deleted pod.
    let load = Load::start(addr, "/sleep/200", 6);
    eventually("load flowing", || (load.ok() > 12).then_some(()));
    let (victim, _) = &pods[0];
    server.ok(&["delete", "pod", victim, "--wait=false"]);
    eventually("the victim gone and a replacement ready", || {
        let now = ready_pods(&server, "app=web");
        (now.len() == 3 && now.iter().all(|(name, _)| name != victim)).then_some(())
    });
    let served = load.ok();
    eventually("load served after the deletion", || {
        (load.ok() > served + 12).then_some(())
    });
    let report = load.stop();
    assert!(
        report.failures.is_empty(),
        "lost requests: {:?}",
        report.failures
    );
    assert!(
        !answering(addr, 20).contains(victim),
        "the deleted pod still answers"
    );
}

#[test]
fn outbound_to_a_disallowed_host_is_refused() {
    let (server, agents) = cluster(&["node-a"]);
    // A host outside the cluster, which only the allowed pod may reach.
    let outside = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let outside_addr = outside.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in outside.incoming().flatten() {
            use std::io::{Read, Write};
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\noutside",
            );
        }
    });
    apply(
        &server,
        "denied.yaml",
        &deployment("denied", "denied", 1, "", ""),
    );
    apply(
        &server,
        "denied-svc.yaml",
        &service("denied", "denied", "NodePort"),
    );
    let allowed_pod = deployment("allowed", "allowed", 1, "", "")
        .replace(
            "      labels:\n        app: allowed\n",
            "      annotations:\n        skiff.dev/allowed-outbound-hosts: 127.0.0.1\n      labels:\n        app: allowed\n",
        );
    assert!(allowed_pod.contains("allowed-outbound-hosts"));
    apply(&server, "allowed.yaml", &allowed_pod);
    apply(
        &server,
        "allowed-svc.yaml",
        &service("allowed", "allowed", "NodePort"),
    );
    wait_ready(&server, "app=denied", 1);
    wait_ready(&server, "app=allowed", 1);
    wait_endpoints(&server, "denied", 1);
    wait_endpoints(&server, "allowed", 1);
    let ip = agents[0].ip();
    let path = format!("/fetch/{outside_addr}/");

    let denied = SocketAddr::new(ip.into(), node_port(&server, "denied"));
    let r = http::get(denied, &path).expect("denied pod answers");
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("HttpRequestDenied"), "{}", r.body);
    eventually("an OutboundDenied event", || {
        let out = server.kubectl(&[
            "get",
            "events",
            "--field-selector",
            "reason=OutboundDenied",
            "-o",
            "jsonpath={.items[*].message}",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("127.0.0.1").then_some(())
    });

    let allowed = SocketAddr::new(ip.into(), node_port(&server, "allowed"));
    let r = http::get(allowed, &path).expect("allowed pod answers");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.trim(), "upstream 200 outside");
}
