//! The activator over real sockets, following a real Skiff API server (in process, over
//! an in-memory store, no controllers) whose activations endpoint is the real one: a
//! request for a Service with no ready endpoint is held while the Service "scales" (the
//! test publishes who scales it, as the autoscaler does, and writes the EndpointSlice the
//! scaled pod would get), then goes on to the pod; a full queue answers 503, a wait past
//! the bound 504, and a Service nobody scales 503 at once. A request that finds every
//! endpoint busy is held the same way until one has room. A pod the node itself sees
//! ready takes held requests before any EndpointSlice lists it. The autoscaler itself is not
//! here (the end-to-end tests run it).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_agent::AgentConfig;
use skiff_agent::config::ActivatorConfig;
use skiff_agent::dataplane::DataPlane;
use skiff_agent::dataplane::local::{PodKey, Registration};
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::metrics::demand::Demand;
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_model::stats::HeldRequests;
use skiff_runtime::{HttpConfig, Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(20);

/// A node with a NodePort Service `web` (node port 30090, no endpoints yet), its data
/// plane (with the real activation call) and the API server behind it.
struct Setup {
    state: ApiState,
    client: kube::Client,
    dataplane: Arc<DataPlane>,
    port: SocketAddr,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(ip: &str, activator: ActivatorConfig) -> Self {
        let shutdown = CancellationToken::new();
        let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
        skiff_controlplane::bootstrap::ensure_namespaces(&state)
            .await
            .expect("namespaces");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(apiserver::serve(
            listener,
            state.clone(),
            shutdown.clone().cancelled_owned(),
        ));
        let client =
            kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");

        let post = PostParams::default();
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("node");
        nodes.create(&post, &node).await.expect("create the node");
        let status = json!({"status": {
            "addresses": [{"type": "InternalIP", "address": ip}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        }});
        nodes
            .patch_status("a", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("node status");
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30090}],
            },
        }))
        .expect("service");
        Api::<Service>::namespaced(client.clone(), "default")
            .create(&post, &service)
            .await
            .expect("create the service");

        let dir = tempfile::tempdir().expect("tempdir");
        let mut config =
            AgentConfig::new("a", format!("{ip}:10250").parse().expect("ip"), dir.path());
        config.activator = activator;
        let dataplane = DataPlane::start(client.clone(), &config, shutdown.clone());
        let port: SocketAddr = format!("{ip}:30090").parse().expect("address");
        let mut listening = dataplane.listening();
        tokio::time::timeout(WAIT, listening.wait_for(|open| open.contains(&port)))
            .await
            .expect("the node port opens in time")
            .expect("the data plane runs");
        Self {
            state,
            client,
            dataplane,
            port,
            shutdown,
            _dir: dir,
        }
    }

    /// Says that a Deployment scales `web` from zero, as the autoscaler would.
    fn scaled(&self) {
        self.state
            .demand
            .publish("default", "Deployment/web", &["web".to_string()]);
    }

    /// Serves pod `web-1` on this node and writes its ready endpoint, as scaling up would.
    async fn scale_up(&self) -> Registration {
        self.scale_up_with(HttpConfig::default()).await
    }

    /// [`scale_up`](Self::scale_up), with the pod's server configured by `config`.
    async fn scale_up_with(&self, config: HttpConfig) -> Registration {
        let registration = self.serve(config);
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {
                "name": "web-abcde",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{
                "addresses": [self.port.ip().to_string()],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "nodeName": "a",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "u1"},
            }],
        }))
        .expect("slice");
        Api::<EndpointSlice>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &slice)
            .await
            .expect("create the slice");
        registration
    }

    /// Serves pod `web-1` (UID `u1`) on this node with the HTTP guest, configured by
    /// `config`, without any endpoint for it.
    fn serve(&self, config: HttpConfig) -> Registration {
        let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
        let module = rt
            .load_file(programs::P2_HTTP_GUEST)
            .expect("load the HTTP guest");
        let handler = rt.http_handler(&module, config).expect("handler");
        let pod = PodKey {
            namespace: "default".into(),
            name: "web-1".into(),
        };
        self.dataplane
            .local
            .register(pod, "u1", "app", &[8080], handler)
    }

    /// Sends `GET path` through the node port in a task.
    fn get(&self, path: &str) -> JoinHandle<(StatusCode, String)> {
        let uri: hyper::Uri = format!("http://{}{path}", self.port).parse().expect("uri");
        tokio::spawn(async move {
            let client: Client<HttpConnector, Empty<Bytes>> =
                Client::builder(TokioExecutor::new()).build_http();
            let response = client.get(uri).await.expect("an answer");
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    }

    /// Waits until the data plane holds `count` requests for `web`.
    async fn wait_for_held(&self, count: u32) {
        let wanted: Vec<HeldRequests> = (count > 0)
            .then(|| HeldRequests {
                namespace: "default".into(),
                service: "web".into(),
                count,
            })
            .into_iter()
            .collect();
        tokio::time::timeout(WAIT, async {
            while self.dataplane.held() != wanted {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("never held {count}: {:?}", self.dataplane.held()));
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn answer(request: JoinHandle<(StatusCode, String)>) -> (StatusCode, String) {
    tokio::time::timeout(WAIT, request)
        .await
        .expect("answered in time")
        .expect("no panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_a_service_at_zero_waits_for_its_first_pod() {
    let setup = Setup::start("127.77.10.1", ActivatorConfig::default()).await;
    setup.scaled();
    let mut demand = setup.state.demand.subscribe();

    let held = setup.get("/cold");
    let asked = tokio::time::timeout(WAIT, demand.recv())
        .await
        .expect("activated in time")
        .expect("the hub runs");
    assert_eq!(
        asked,
        Demand {
            namespace: "default".into(),
            service: "web".into(),
            held: 1,
        }
    );
    setup.wait_for_held(1).await;
    assert!(!held.is_finished());
    let pod = ("default".to_string(), "web-1".to_string());
    assert!(
        setup
            .dataplane
            .pod_requests()
            .iter()
            .all(|(key, _)| *key != pod),
        "held, it is no pod's request"
    );

    let _web = setup.scale_up().await;
    assert_eq!(answer(held).await, (StatusCode::OK, "ok /cold".into()));
    setup.wait_for_held(0).await;
    let counted = setup.dataplane.pod_requests();
    let requests = counted
        .iter()
        .find(|(key, _)| *key == pod)
        .expect("web-1")
        .1;
    assert_eq!((requests.total, requests.in_flight), (1, 0), "{counted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_nobody_scales_answers_503_at_once() {
    let setup = Setup::start("127.77.10.2", ActivatorConfig::default()).await;
    // The control plane is asked, and answers that nobody scales it.
    let (status, body) = answer(setup.get("/")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "no ready endpoints for service default/web\n");
    assert!(setup.dataplane.held().is_empty());
    let (status, _) = answer(setup.get("/again")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_requests_are_bounded_in_number_and_time() {
    let bounds = ActivatorConfig {
        queue_depth: 1,
        timeout: Duration::from_secs(2),
    };
    let setup = Setup::start("127.77.10.3", bounds).await;
    setup.scaled();
    let first = setup.get("/first");
    setup.wait_for_held(1).await;

    let (status, body) = answer(setup.get("/second")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        "no ready endpoints for service default/web, and its queue of held requests is full (1); try again later\n"
    );

    let (status, body) = answer(first).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        body,
        "no ready endpoint for service default/web within 2s\n"
    );
    setup.wait_for_held(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_every_endpoint_is_too_busy_for_waits_for_room() {
    let setup = Setup::start("127.77.10.4", ActivatorConfig::default()).await;
    setup.scaled();
    // One slot, no queue: a second request in flight would be refused by the pod.
    let _web = setup
        .scale_up_with(HttpConfig {
            max_concurrency: 1,
            max_queue: Some(0),
            ..HttpConfig::default()
        })
        .await;
    let warm = answer(setup.get("/warm")).await;
    assert_eq!(
        warm,
        (StatusCode::OK, "ok /warm".into()),
        "the endpoint is routed"
    );

    let slow = setup.get("/sleep/500");
    tokio::time::timeout(WAIT, async {
        while setup
            .dataplane
            .pod_requests()
            .iter()
            .all(|(_, requests)| requests.in_flight == 0)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow request starts");
    let waiting = setup.get("/after");
    setup.wait_for_held(1).await;
    assert!(!waiting.is_finished(), "held, not refused");
    assert_eq!(answer(slow).await, (StatusCode::OK, "slept 500".into()));
    assert_eq!(
        answer(waiting).await,
        (StatusCode::OK, "ok /after".into()),
        "served once the slot is free"
    );
    setup.wait_for_held(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_ready_on_this_node_takes_held_requests_before_its_slice_lists_it() {
    let setup = Setup::start("127.77.10.5", ActivatorConfig::default()).await;
    setup.scaled();
    let held = setup.get("/cold");
    setup.wait_for_held(1).await;

    let _registration = setup.serve(HttpConfig::default());
    let pod = |labels: serde_json::Value| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u1", "labels": labels},
            "spec": {"containers": [{"name": "app"}]},
        }))
        .expect("pod")
    };
    // Serving, but not ready yet (a readiness probe has not passed): still held.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished(), "not ready, not sent");
    // Ready, but not selected by the Service: still held.
    setup.dataplane.ready.set(&pod(json!({"app": "api"})), true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished(), "not the Service's pod");
    // Ready and selected: sent, with no EndpointSlice written at all.
    setup.dataplane.ready.set(&pod(json!({"app": "web"})), true);
    assert_eq!(answer(held).await, (StatusCode::OK, "ok /cold".into()));
    setup.wait_for_held(0).await;
    let slices = Api::<EndpointSlice>::namespaced(setup.client.clone(), "default")
        .list(&Default::default())
        .await
        .expect("list slices");
    assert!(slices.items.is_empty());
}
