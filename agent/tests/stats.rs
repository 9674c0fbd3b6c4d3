//! Resource figures of real pods: the in-process API server, real pod workers running the
//! test guests in wasmtime, the node's registry of usage meters, and the agent's endpoint
//! on `127.0.0.1:0` serving the stats stream and the resource series, read over real HTTP.

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, BodyStream, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use skiff_agent::AgentConfig;
use skiff_agent::compiled::Modules;
use skiff_agent::config::BackoffConfig;
use skiff_agent::dataplane::DataPlane;
use skiff_agent::endpoint;
use skiff_agent::image::ImageStore;
use skiff_agent::logs::LogRegistry;
use skiff_agent::pods::adopt;
use skiff_agent::pods::context::Context;
use skiff_agent::pods::report::StatusReporter;
use skiff_agent::pods::shared::PodShared;
use skiff_agent::pods::worker;
use skiff_agent::sources::Sources;
use skiff_agent::stats::{NodeStats, UsageRegistry};
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_model::stats::{NodeReport, PodReport};
use skiff_runtime::{Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(30);

/// A node: pod workers over an in-process API server, and its endpoint; stopped on drop.
struct Node {
    ctx: Arc<Context>,
    client: kube::Client,
    addr: SocketAddr,
    http: Client<HttpConnector, Empty<Bytes>>,
    shutdown: CancellationToken,
    /// Stops the endpoint alone (its streams end with it).
    endpoint_shutdown: CancellationToken,
    _pods: Vec<watch::Sender<Arc<Pod>>>,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start() -> Self {
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
            state,
            shutdown.clone().cancelled_owned(),
        ));
        let client =
            kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");

        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = AgentConfig::new(
            "node-a",
            "127.0.0.1:0".parse().expect("address"),
            dir.path(),
        );
        config.backoff = BackoffConfig {
            base: Duration::from_millis(50),
            max: Duration::from_millis(100),
            reset_after: Duration::from_secs(600),
        };
        let runtime = Runtime::new(RuntimeConfig {
            max_instances: 64,
            cache_dir: Some(
                std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agent-stats-cache"),
            ),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let logs = LogRegistry::new(config.logs_dir()).expect("logs");
        let dataplane = DataPlane::start(client.clone(), &config, shutdown.clone());
        let usage = UsageRegistry::new();
        let ctx = Arc::new(Context {
            client: client.clone(),
            host_ip: "127.0.0.1".into(),
            images: ImageStore::new(config.images_dir(), Vec::new()).expect("images"),
            modules: Modules::new(runtime),
            sources: Sources::from_objects(Vec::new(), Vec::new()),
            logs: logs.clone(),
            events: skiff_agent::events::start_recorder(
                client.clone(),
                config.name.clone(),
                shutdown.clone(),
            ),
            reporter: StatusReporter::start(client.clone(), shutdown.clone()),
            dataplane: dataplane.clone(),
            stats: usage.clone(),
            config,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let endpoint_shutdown = shutdown.child_token();
        tokio::spawn(endpoint::serve_node(
            listener,
            logs,
            NodeStats {
                node: "node-a".into(),
                usage,
                dataplane: Some(dataplane),
            },
            endpoint_shutdown.clone(),
        ));
        Self {
            ctx,
            client,
            addr,
            http: Client::builder(TokioExecutor::new()).build_http(),
            shutdown,
            endpoint_shutdown,
            _pods: Vec::new(),
            _dir: dir,
        }
    }

    /// Creates a pod with one container `app` in the API and runs it on this node.
    async fn run(&mut self, name: &str, container: Value) -> Arc<PodShared> {
        let mut container = container;
        container["name"] = json!("app");
        let pod = json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "nodeName": "node-a",
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 1,
                "containers": [container],
            },
        });
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        let pod: Pod = serde_json::from_value(pod).expect("pod");
        let pod = pods
            .create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
        let pod = Arc::new(pod);
        let (record, plan) = adopt::plan(&pod);
        let shared = Arc::new(PodShared::new(&self.ctx, pod.clone(), record));
        let (updates, receiver) = watch::channel(pod);
        tokio::spawn(worker::run(
            self.ctx.clone(),
            shared.clone(),
            plan,
            receiver,
            || {},
        ));
        self._pods.push(updates);
        shared
    }

    /// Waits until the registry's figures of `pod` satisfy `check`; returns them.
    async fn figures_until(&self, pod: &str, check: impl Fn(&PodReport) -> bool) -> PodReport {
        let mut last = None;
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let snapshot = self.ctx.stats.snapshot();
                last = snapshot.pods.into_iter().find(|p| p.name == pod);
                if let Some(figures) = &last
                    && check(figures)
                {
                    return figures.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("figures of {pod} never matched; last: {last:?}"))
    }

    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> hyper::Response<hyper::body::Incoming> {
        let mut request = hyper::Request::get(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::new()).expect("request");
        tokio::time::timeout(WAIT, self.http.request(request))
            .await
            .expect("answered in time")
            .expect("request")
    }

    async fn get_text(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self.get(path, headers).await;
        let status = response.status();
        let body = tokio::time::timeout(WAIT, response.into_body().collect())
            .await
            .expect("body in time")
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Reads NDJSON reports from a streaming body.
struct Reports {
    body: BodyStream<hyper::body::Incoming>,
    buffer: Vec<u8>,
}

impl Reports {
    fn new(response: hyper::Response<hyper::body::Incoming>) -> Self {
        Self {
            body: BodyStream::new(response.into_body()),
            buffer: Vec::new(),
        }
    }

    /// The next report, or `None` when the stream ended.
    async fn next(&mut self) -> Option<NodeReport> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).expect("a report per line"));
            }
            let frame = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("a report in time")?
                .expect("body frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.extend_from_slice(&data);
            }
        }
    }

    /// The first report whose entry for `pod` satisfies `check`.
    async fn until(&mut self, pod: &str, check: impl Fn(&PodReport) -> bool) -> NodeReport {
        loop {
            let report = self.next().await.expect("the stream goes on");
            if report.pods.iter().any(|p| p.name == pod && check(p)) {
                return report;
            }
        }
    }
}

fn cpu(pod: &PodReport) -> Duration {
    Duration::from_nanos(pod.containers.iter().map(|c| c.cpu_nanos).sum())
}

fn memory(pod: &PodReport) -> u64 {
    pod.containers.iter().map(|c| c.memory_bytes).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spinning_command_is_charged_cpu_and_holds_memory() {
    let mut node = Node::start().await;
    node.run("spinner", json!({"image": programs::P1_SPIN}))
        .await;
    let first = node
        .figures_until("spinner", |p| memory(p) > 0 && cpu(p) > Duration::ZERO)
        .await;
    assert_eq!(first.containers.len(), 1);
    assert_eq!(first.containers[0].name, "app");
    // Spinning, it is charged CPU time as it runs.
    let later = node
        .figures_until("spinner", |p| {
            cpu(p) >= cpu(&first) + Duration::from_millis(200)
        })
        .await;
    assert!(memory(&later) > 0, "its instance holds linear memory");
    let snapshot = node.ctx.stats.snapshot();
    let pods_cpu: u64 = snapshot
        .pods
        .iter()
        .flat_map(|p| &p.containers)
        .map(|c| c.cpu_nanos)
        .sum();
    assert!(
        snapshot.cpu_nanos >= pods_cpu,
        "the node sums its containers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_container_meter_survives_restarts_and_memory_is_given_back_between_runs() {
    let mut node = Node::start().await;
    // Holds 8 MiB for 100 ms, exits 0, and is restarted (restartPolicy Always).
    let pod = node
        .run(
            "restarter",
            json!({"image": programs::P1_HOLD, "command": ["hold", "8", "100"]}),
        )
        .await;
    let meter = pod.usage.container("app", false);
    let restarts = |at_least: u32| {
        let pod = pod.clone();
        async move {
            tokio::time::timeout(WAIT, async {
                loop {
                    let count = pod.read(|r| r.containers[0].restart_count);
                    if count >= at_least {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("the container restarts");
        }
    };
    restarts(1).await;
    let after_one = meter.cpu_nanos();
    assert!(after_one > 0);
    restarts(3).await;
    assert!(
        meter.cpu_nanos() > after_one,
        "later runs add to the same counter"
    );
    assert!(
        Arc::ptr_eq(&meter, &pod.usage.container("app", false)),
        "one meter for every run"
    );
    // Between runs (backing off) no instance is alive: memory returns to zero.
    let peak = node
        .figures_until("restarter", |p| memory(p) >= 8 << 20)
        .await;
    assert!(memory(&peak) >= 8 << 20);
    node.figures_until("restarter", |p| memory(p) == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_reports_a_burning_pod_full_then_changes_and_ends_on_shutdown() {
    let mut node = Node::start().await;
    node.run("burner", json!({"image": programs::P2_HTTP_GUEST}))
        .await;
    node.run("sleeper", json!({"image": programs::P1_SLEEP}))
        .await;
    node.figures_until("burner", |_| true).await;
    node.figures_until("sleeper", |p| cpu(p) > Duration::ZERO)
        .await;
    // The HTTP pod is registered with the data plane once it serves.
    tokio::time::timeout(WAIT, async {
        while node
            .ctx
            .dataplane
            .local
            .lookup("default", "burner", 8080)
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("burner serves");

    let response = node.get("/stats/stream?intervalMillis=100", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        skiff_model::stats::CONTENT_TYPE
    );
    let mut reports = Reports::new(response);
    let first = reports.next().await.expect("a first report");
    assert!(first.full);
    assert_eq!(first.node, "node-a");
    let mut names: Vec<_> = first.pods.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["burner", "sleeper"]);
    let burner_before = first
        .pods
        .iter()
        .find(|p| p.name == "burner")
        .map(cpu)
        .expect("burner listed");

    // Unchanged pods drop out of the changed-only reports (the sleeper is asleep in the
    // host, the burner idle).
    let quiet = reports.next().await.expect("a second report");
    assert!(!quiet.full);
    assert!(quiet.pods.iter().all(|p| p.name != "sleeper"), "{quiet:?}");

    // Burn 400 ms of CPU in the burner, through the data plane (a forwarded request).
    let (status, body) = node
        .get_text("/burn/400", &[("skiff-forward-to", "default/burner/8080")])
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "burned 400"));
    let burned = reports
        .until("burner", |p| {
            cpu(p) >= burner_before + Duration::from_millis(100)
        })
        .await;
    assert!(!burned.full || burned.pods.len() == 2);
    let burner = burned
        .pods
        .iter()
        .find(|p| p.name == "burner")
        .expect("burner");
    let requests = burner.requests.expect("the data plane's counters");
    assert!(requests.total >= 1, "{requests:?}");
    assert!(
        burned.cpu_nanos >= u64::try_from(cpu(burner).as_nanos()).expect("fits"),
        "the node's total includes the pod"
    );

    // The endpoint's shutdown ends the stream cleanly.
    node.endpoint_shutdown.cancel();
    tokio::time::timeout(WAIT, async { while reports.next().await.is_some() {} })
        .await
        .expect("the stream ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resource_series_name_the_pods_containers_and_node() {
    let mut node = Node::start().await;
    node.run("spinner", json!({"image": programs::P1_SPIN}))
        .await;
    node.figures_until("spinner", |p| cpu(p) > Duration::ZERO)
        .await;
    let (status, text) = node.get_text("/metrics/resource", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let series = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .split(' ')
            .nth(1)
            .expect("a value")
            .parse::<f64>()
            .expect("a number")
    };
    let container = series(
        "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"spinner\"}",
    );
    assert!(container > 0.0);
    assert!(
        series("pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"spinner\"}") >= container
    );
    assert!(series("node_cpu_usage_seconds_total ") >= container);
    assert!(
        series(
            "container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"spinner\"}"
        ) > 0.0
    );
    assert!(series("node_memory_working_set_bytes ") > 0.0);
    assert!(
        !text.contains("skiff_requests_total"),
        "the resource series alone"
    );
    // `/metrics` has them next to the data plane's.
    let (_, all) = node.get_text("/metrics", &[]).await;
    assert!(all.contains("skiff_http_servers"), "{all}");
    assert!(all.contains("pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"spinner\"}"));

    let (status, body) = node
        .get_text("/stats/stream?intervalMillis=soon", &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "BadRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_streams_each_start_full_and_end_when_their_client_goes() {
    let mut node = Node::start().await;
    node.run("spinner", json!({"image": programs::P1_SPIN}))
        .await;
    node.figures_until("spinner", |p| cpu(p) > Duration::ZERO)
        .await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let response = node.get("/stats/stream?intervalMillis=100", &[]).await;
        streams.push(Reports::new(response));
    }
    for stream in &mut streams {
        let first = stream.next().await.expect("a first report");
        assert!(first.full && first.pods.len() == 1);
        // The spinner changes every time: listed in changed-only reports too.
        let second = stream.next().await.expect("a second report");
        assert!(!second.full && second.pods.len() == 1, "{second:?}");
    }
    // Clients going away end their streams; the endpoint keeps serving new ones.
    drop(streams);
    let mut again = Reports::new(node.get("/stats/stream", &[]).await);
    assert!(again.next().await.expect("a report").full);
}
