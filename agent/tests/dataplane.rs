//! The data plane over real sockets, with real wasm HTTP handlers: agents (a data plane
//! and the agent endpoint, each on its own loopback IP as agents sharing a machine are)
//! routing by hand-made Services, EndpointSlices and Nodes. Covers node ports served
//! locally and across agents, interception of forwarded requests, retries after peer
//! failures, 503 without ready endpoints, outbound calls by Service name and the
//! allow-list, and `/metrics`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;
use skiff_agent::AgentConfig;
use skiff_agent::dataplane::local::{PodKey, Registration};
use skiff_agent::dataplane::{ClusterObjects, DataPlane, FORWARD_TO, NOT_SERVED};

use skiff_agent::endpoint;
use skiff_agent::logs::LogRegistry;
use skiff_runtime::{HttpConfig, HttpHandler, Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(20);

fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::new(RuntimeConfig {
                max_instances: 64,
                cache_dir: Some(
                    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dataplane-cache"),
                ),
                ..RuntimeConfig::default()
            })
            .expect("runtime")
        })
        .clone()
}

/// The test guest's handler, with `config`.
fn handler(config: HttpConfig) -> HttpHandler {
    let rt = runtime();
    let module = rt
        .load_file(programs::P2_HTTP_GUEST)
        .expect("load the HTTP guest");
    rt.http_handler(&module, config).expect("handler")
}

/// An agent endpoint's socket, bound before the cluster objects naming it are made.
struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
}

async fn bind(ip: &str) -> Bound {
    let listener = TcpListener::bind((ip, 0))
        .await
        .expect("bind the agent endpoint");
    let addr = listener.local_addr().expect("address");
    Bound { listener, addr }
}

/// A data plane and the agent endpoint serving it; stopped on drop.
struct Agent {
    addr: SocketAddr,
    dataplane: Arc<DataPlane>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Agent {
    async fn start(name: &str, bound: Bound, objects: &ClusterObjects) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let shutdown = CancellationToken::new();
        let config = AgentConfig::new(name, bound.addr, dir.path());
        let dataplane = DataPlane::with_objects(&config, objects, shutdown.clone());
        let logs = LogRegistry::new(dir.path().join("logs")).expect("logs");
        tokio::spawn(endpoint::serve_with_dataplane(
            bound.listener,
            logs,
            dataplane.clone(),
            shutdown.clone(),
        ));
        Self {
            addr: bound.addr,
            dataplane,
            shutdown,
            _dir: dir,
        }
    }

    /// Registers the test guest as pod `default/name` on `port`.
    fn serve(&self, name: &str, port: u16, config: HttpConfig) -> Registration {
        let pod = PodKey {
            namespace: "default".into(),
            name: name.into(),
        };
        self.dataplane
            .local
            .register(pod, &format!("uid-{name}"), "app", &[port], handler(config))
    }

    /// Waits until the data plane listens on `port` of its IP; returns the address.
    async fn node_port(&self, port: u16) -> SocketAddr {
        let addr = SocketAddr::new(self.addr.ip(), port);
        let mut listening = self.dataplane.listening();
        tokio::time::timeout(WAIT, listening.wait_for(|open| open.contains(&addr)))
            .await
            .expect("the node port opens in time")
            .expect("the data plane runs");
        addr
    }

    async fn metrics(&self) -> String {
        let (status, body) = send(Method::GET, self.addr, "/metrics", &[], "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Sends one request and reads the answer.
async fn send(
    method: Method,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, String) {
    let (status, _, body) = exchange(method, addr, path, headers, body).await;
    (status, body)
}

async fn exchange(
    method: Method,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, hyper::HeaderMap, String) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .expect("answered in time")
        .expect("an answer");
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(WAIT, body.collect())
        .await
        .expect("the body ends")
        .expect("body")
        .to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn node(name: &str, addr: SocketAddr) -> Arc<Node> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {
                "addresses": [{"type": "InternalIP", "address": addr.ip().to_string()}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": addr.port()}},
            },
        }))
        .expect("node"),
    )
}

fn service(name: &str, kind: &str, cluster_ip: &str, node_port: Option<u16>) -> Arc<Service> {
    let mut port = json!({"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"});
    if let Some(node_port) = node_port {
        port["nodePort"] = json!(node_port);
    }
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": kind, "clusterIP": cluster_ip, "ports": [port]},
        }))
        .expect("service"),
    )
}

/// A slice of `service` with `endpoints` as (pod, node, ready), all on target port 8080.
fn slice(service: &str, endpoints: &[(&str, &str, bool)]) -> Arc<EndpointSlice> {
    let endpoints: Vec<_> = endpoints
        .iter()
        .map(|(pod, node, ready)| {
            json!({
                "addresses": ["127.0.0.1"],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "nodeName": node,
                "targetRef": {"kind": "Pod", "namespace": "default", "name": pod, "uid": format!("uid-{pod}")},
            })
        })
        .collect();
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("{service}-x1"),
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": service},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": endpoints,
        }))
        .expect("slice"),
    )
}

/// The value of the metric line that starts with `prefix`, if any.
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_port_serves_a_local_pod_and_counts_it() {
    let a = bind("127.77.1.1").await;
    let objects = ClusterObjects {
        services: vec![service("web", "NodePort", "10.96.0.10", Some(30080))],
        slices: vec![slice("web", &[("web-1", "a", true)])],
        nodes: vec![node("a", a.addr)],
    };
    let agent = Agent::start("a", a, &objects).await;
    let _web = agent.serve("web-1", 8080, HttpConfig::default());
    let port = agent.node_port(30080).await;

    assert_eq!(
        send(Method::GET, port, "/hello", &[], "").await,
        (StatusCode::OK, "ok /hello".into())
    );
    assert_eq!(
        send(Method::POST, port, "/again", &[], "data").await,
        (StatusCode::OK, "ok /again".into())
    );

    let metrics = agent.metrics().await;
    let requests =
        r#"skiff_requests_total{namespace="default",service="web",pod="web-1",code="200"}"#;
    assert_eq!(metric(&metrics, requests), Some(2.0), "{metrics}");
    let count = r#"skiff_request_duration_seconds_count{namespace="default",service="web"}"#;
    assert_eq!(metric(&metrics, count), Some(2.0), "{metrics}");
    assert_eq!(
        metric(&metrics, "skiff_http_servers"),
        Some(1.0),
        "{metrics}"
    );
    let in_flight = r#"skiff_requests_in_flight{namespace="default",pod="web-1"}"#;
    assert!(metric(&metrics, in_flight).is_some(), "{metrics}");
    assert!(metrics.contains("# TYPE skiff_request_duration_seconds histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_port_reaches_a_pod_on_another_agent() {
    let (a, b) = (bind("127.77.2.1").await, bind("127.77.2.2").await);
    let objects = ClusterObjects {
        services: vec![service("web", "LoadBalancer", "10.96.0.10", Some(30080))],
        slices: vec![slice("web", &[("web-1", "b", true)])],
        nodes: vec![node("a", a.addr), node("b", b.addr)],
    };
    let agent_a = Agent::start("a", a, &objects).await;
    let agent_b = Agent::start("b", b, &objects).await;
    let _web = agent_b.serve("web-1", 8080, HttpConfig::default());

    // Through a's node port, and through b's (where the pod is).
    let via_a = agent_a.node_port(30080).await;
    let via_b = agent_b.node_port(30080).await;
    assert_eq!(
        send(Method::GET, via_a, "/x?y=1", &[], "").await,
        (StatusCode::OK, "ok /x?y=1".into())
    );
    assert_eq!(
        send(Method::GET, via_b, "/z", &[], "").await,
        (StatusCode::OK, "ok /z".into())
    );
    // A LoadBalancer Service also listens on its own port (80 needs privileges, so it
    // may not open here; its node port is what counts).

    let metrics_a = agent_a.metrics().await;
    let forwarded = r#"skiff_forwarded_requests_total{namespace="default",service="web",node="b"}"#;
    assert_eq!(metric(&metrics_a, forwarded), Some(1.0), "{metrics_a}");
    let answered =
        r#"skiff_requests_total{namespace="default",service="web",pod="web-1",code="200"}"#;
    assert_eq!(metric(&metrics_a, answered), Some(1.0), "{metrics_a}");
    let metrics_b = agent_b.metrics().await;
    assert_eq!(
        metric(&metrics_b, "skiff_forwarded_requests_received_total"),
        Some(1.0),
        "{metrics_b}"
    );
    assert_eq!(
        metric(&metrics_b, forwarded),
        None,
        "b served its own pod: {metrics_b}"
    );

    // Each request is counted once, by the pod's node, however it came in.
    let pod = ("default".to_string(), "web-1".to_string());
    let counted = agent_b.dataplane.pod_requests();
    let requests = counted
        .iter()
        .find(|(key, _)| *key == pod)
        .expect("web-1")
        .1;
    assert_eq!((requests.total, requests.in_flight), (2, 0), "{counted:?}");
    assert!(requests.busy_nanos > 0, "{requests:?}");
    let elsewhere = agent_a.dataplane.pod_requests();
    assert!(
        elsewhere.iter().all(|(key, _)| *key != pod),
        "{elsewhere:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_endpoint_serves_forwarded_requests_before_its_routes() {
    let b = bind("127.77.3.2").await;
    let objects = ClusterObjects {
        nodes: vec![node("b", b.addr)],
        ..ClusterObjects::default()
    };
    let agent = Agent::start("b", b, &objects).await;
    let _web = agent.serve("web-1", 8080, HttpConfig::default());

    assert_eq!(FORWARD_TO, "skiff-forward-to");
    let to_pod = [("skiff-forward-to", "default/web-1/8080")];
    assert_eq!(
        send(Method::GET, agent.addr, "/healthz", &to_pod, "").await,
        (StatusCode::OK, "ok /healthz".into())
    );
    // Without the header, the agent's own route answers.
    assert_eq!(
        send(Method::GET, agent.addr, "/healthz", &[], "").await,
        (StatusCode::OK, "ok".into())
    );

    let (status, headers, body) = exchange(
        Method::POST,
        agent.addr,
        "/",
        &[("skiff-forward-to", "default/gone/8080")],
        "x",
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        headers.get(NOT_SERVED).map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert!(body.contains("default/gone"), "{body}");
    let (status, _) = send(
        Method::GET,
        agent.addr,
        "/",
        &[("skiff-forward-to", "nonsense")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let metrics = agent.metrics().await;
    assert_eq!(
        metric(&metrics, "skiff_forwarded_requests_received_total"),
        Some(3.0),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ready_endpoints_the_answer_is_503_naming_the_service() {
    let a = bind("127.77.4.1").await;
    let mut objects = ClusterObjects {
        services: vec![service("web", "NodePort", "10.96.0.10", Some(30080))],
        slices: vec![slice("web", &[("web-1", "a", false)])],
        nodes: vec![node("a", a.addr)],
    };
    let agent = Agent::start("a", a, &objects).await;
    let _web = agent.serve("web-1", 8080, HttpConfig::default());
    let port = agent.node_port(30080).await;
    let (status, body) = send(Method::GET, port, "/", &[], "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "no ready endpoints for service default/web\n");

    // Ready now: served.
    objects.slices = vec![slice("web", &[("web-1", "a", true)])];
    agent.dataplane.set_objects(&objects);
    assert_eq!(
        send(Method::GET, port, "/", &[], "").await.0,
        StatusCode::OK
    );
    // A ready endpoint whose pod is not serving here is no endpoint either.
    objects.slices = vec![slice("web", &[("web-2", "a", true)])];
    agent.dataplane.set_objects(&objects);
    assert_eq!(
        send(Method::GET, port, "/", &[], "").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let metrics = agent.metrics().await;
    let unrouted = r#"skiff_requests_total{namespace="default",service="web",pod="",code="503"}"#;
    assert_eq!(metric(&metrics, unrouted), Some(2.0), "{metrics}");

    // The Service gone, its node port closes.
    objects.services.clear();
    agent.dataplane.set_objects(&objects);
    let mut listening = agent.dataplane.listening();
    tokio::time::timeout(WAIT, listening.wait_for(|open| !open.contains(&port)))
        .await
        .expect("the node port closes in time")
        .expect("the data plane runs");
}

/// A peer that reads a request and hangs up without answering; counts requests.
async fn hang_up_peer(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_peers_are_retried_when_that_is_safe() {
    let (a, b) = (bind("127.77.5.1").await, bind("127.77.5.2").await);
    let (hang_up, hung_up) = hang_up_peer("127.77.5.3").await;
    // A port nothing listens on: connections are refused.
    let refused = bind("127.77.5.4").await;
    let refused_addr = refused.addr;
    drop(refused);
    let mut web = slice(
        "web",
        &[
            ("hang-up", "hang-up", true),
            ("refused", "refused", true),
            ("web-1", "b", true),
        ],
    );
    Arc::make_mut(&mut web).metadata.name = Some("web-x1".into());
    let objects = ClusterObjects {
        services: vec![
            service("web", "NodePort", "10.96.0.10", Some(30080)),
            service("moved", "NodePort", "10.96.0.11", Some(30081)),
        ],
        // `gone` is ready by its slice, but b does not serve it (any more).
        slices: vec![
            web,
            slice("moved", &[("gone", "b", true), ("web-1", "b", true)]),
        ],
        nodes: vec![
            node("a", a.addr),
            node("b", b.addr),
            node("hang-up", hang_up),
            node("refused", refused_addr),
        ],
    };
    let agent_a = Agent::start("a", a, &objects).await;
    let agent_b = Agent::start("b", b, &objects).await;
    let _web = agent_b.serve("web-1", 8080, HttpConfig::default());
    let web_port = agent_a.node_port(30080).await;
    let moved_port = agent_a.node_port(30081).await;

    // The first choice is the peer that hangs up: a POST may have been processed there,
    // so it is not sent again.
    let (status, body) = send(Method::POST, web_port, "/order", &[], "one").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body.starts_with("service default/web: pod default/hang-up on node hang-up"),
        "{body}"
    );
    assert_eq!(hung_up.load(Ordering::SeqCst), 1);

    // Idempotent requests get past both broken peers, whichever comes first.
    for i in 0..6 {
        let path = format!("/get/{i}");
        assert_eq!(
            send(Method::GET, web_port, &path, &[], "").await,
            (StatusCode::OK, format!("ok {path}"))
        );
        assert_eq!(
            send(Method::PUT, web_port, &path, &[], "body").await.0,
            StatusCode::OK
        );
    }
    assert!(
        hung_up.load(Ordering::SeqCst) > 1,
        "the hang-up peer was tried again"
    );

    // "Not served" means not processed: any method goes elsewhere.
    for i in 0..4 {
        let path = format!("/post/{i}");
        assert_eq!(
            send(Method::POST, moved_port, &path, &[], "x").await,
            (StatusCode::OK, format!("ok {path}"))
        );
    }

    let metrics = agent_a.metrics().await;
    let bad_gateway =
        r#"skiff_requests_total{namespace="default",service="web",pod="",code="502"}"#;
    assert_eq!(metric(&metrics, bad_gateway), Some(1.0), "{metrics}");
}

fn pod(annotations: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "client", "namespace": "default", "annotations": annotations},
    }))
    .expect("pod")
}

/// A plain HTTP server answering 204 to anything; counts requests.
async fn plain_server(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_call_services_by_name_and_allowed_hosts_only() {
    let (a, b) = (bind("127.77.6.1").await, bind("127.77.6.2").await);
    let objects = ClusterObjects {
        services: vec![
            service("backend", "ClusterIP", "10.96.0.20", None),
            service("frontend", "NodePort", "10.96.0.21", Some(30090)),
        ],
        slices: vec![
            slice("backend", &[("backend-1", "b", true)]),
            slice("frontend", &[("frontend-1", "a", true)]),
        ],
        nodes: vec![node("a", a.addr), node("b", b.addr)],
    };
    let agent_a = Agent::start("a", a, &objects).await;
    let agent_b = Agent::start("b", b, &objects).await;
    let _backend = agent_b.serve("backend-1", 8080, HttpConfig::default());
    let (allowed, allowed_hits) = plain_server("127.0.0.1").await;
    let denials = Arc::new(Mutex::new(Vec::new()));
    let heard = denials.clone();
    let outbound = agent_a.dataplane.outbound_for(
        &pod(json!({"skiff.dev/allowed-outbound-hosts": format!("localhost:{}", allowed.port())})),
        Arc::new(move |message| heard.lock().expect("lock").push(message)),
    );
    let _frontend = agent_a.serve(
        "frontend-1",
        8080,
        HttpConfig {
            outbound,
            ..HttpConfig::default()
        },
    );
    let port = agent_a.node_port(30090).await;

    for host in [
        "backend",
        "backend.default",
        "backend.default.svc",
        "backend.default.svc.cluster.local",
        "10.96.0.20",
    ] {
        let (status, body) = send(Method::GET, port, &format!("/fetch/{host}/hi"), &[], "").await;
        assert_eq!(status, StatusCode::OK, "{host}: {body}");
        assert!(body.starts_with("upstream 200"), "{host}: {body}");
    }
    let metrics_a = agent_a.metrics().await;
    let backend =
        r#"skiff_requests_total{namespace="default",service="backend",pod="backend-1",code="200"}"#;
    assert_eq!(metric(&metrics_a, backend), Some(5.0), "{metrics_a}");

    // Allowed by the annotation: sent straight there.
    let (status, body) = send(
        Method::GET,
        port,
        &format!("/fetch/localhost:{}/", allowed.port()),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (status, body.starts_with("upstream 204")),
        (StatusCode::OK, true),
        "{body}"
    );
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    // Anything else is denied, and the pod hears why.
    for url in [
        "example.com/",
        format!("127.0.0.1:{}/", allowed.port()).as_str(),
        "backend.other/",
    ] {
        let (status, body) = send(Method::GET, port, &format!("/fetch/{url}"), &[], "").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{url}: {body}");
        assert!(body.contains("HttpRequestDenied"), "{url}: {body}");
    }
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);
    let denials = denials.lock().expect("lock").clone();
    assert_eq!(denials.len(), 3, "{denials:?}");
    assert_eq!(
        denials[0],
        "outbound request to example.com denied: not an in-cluster Service and not in the pod's \
         skiff.dev/allowed-outbound-hosts annotation"
    );
}
