//! HTTP containers and probes through a real pod worker: the real API server in process
//! (pod status and events land there), a real runtime serving the `http-guest` test
//! component, and the node's data plane where the pod registers its server.

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use skiff_agent::AgentConfig;
use skiff_agent::compiled::Modules;
use skiff_agent::config::BackoffConfig;
use skiff_agent::dataplane::DataPlane;
use skiff_agent::dataplane::local::Served;
use skiff_agent::image::ImageStore;
use skiff_agent::logs::{LogOptions, LogRegistry};
use skiff_agent::pods::adopt;
use skiff_agent::pods::context::Context;
use skiff_agent::pods::record::{ContainerPhase, ContainerRecord};
use skiff_agent::pods::report::StatusReporter;
use skiff_agent::pods::shared::PodShared;
use skiff_agent::pods::worker;
use skiff_agent::sources::Sources;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_runtime::{Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(30);

/// A node agent's pod machinery over an in-process API server; stopped on drop.
struct Node {
    ctx: Arc<Context>,
    client: kube::Client,
    shutdown: CancellationToken,
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
            max: Duration::from_millis(200),
            reset_after: Duration::from_secs(600),
        };
        let runtime = Runtime::new(RuntimeConfig {
            max_instances: 64,
            cache_dir: Some(
                std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agent-pods-cache"),
            ),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let ctx = Arc::new(Context {
            client: client.clone(),
            host_ip: "127.0.0.1".into(),
            images: ImageStore::new(config.images_dir(), Vec::new()).expect("images"),
            modules: Modules::new(runtime),
            sources: Sources::from_objects(Vec::new(), Vec::new()),
            logs: LogRegistry::new(config.logs_dir()).expect("logs"),
            events: skiff_agent::events::start_recorder(
                client.clone(),
                config.name.clone(),
                shutdown.clone(),
            ),
            reporter: StatusReporter::start(client.clone(), shutdown.clone()),
            dataplane: DataPlane::start(client.clone(), &config, shutdown.clone()),
            stats: Default::default(),
            config,
        });
        Self {
            ctx,
            client,
            shutdown,
            _dir: dir,
        }
    }

    /// Creates `pod` in the API and runs it on this node; the returned guard keeps it
    /// running.
    async fn run(&self, pod: Value) -> Running {
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
        Running {
            shared,
            _updates: updates,
        }
    }

    /// Waits until the pod's status in the API satisfies `check`; returns it.
    async fn status_until(&self, name: &str, check: impl Fn(&Value) -> bool) -> Value {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        let mut last = Value::Null;
        let found = tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(pod) = pods.get_status(name).await {
                    last = serde_json::to_value(pod.status).expect("status");
                    if check(&last) {
                        return last.clone();
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("status of {name} never matched; last: {last:#}"))
    }

    /// Waits for an event about `pod` with `reason` whose message contains `text`.
    async fn event(&self, pod: &str, reason: &str, text: &str) -> Event {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        let mut seen = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(list) = events.list(&Default::default()).await {
                    seen = list
                        .items
                        .iter()
                        .map(|e| format!("{:?}: {:?}", e.reason, e.message))
                        .collect();
                    if let Some(event) = list.items.into_iter().find(|e| {
                        e.involved_object.name.as_deref() == Some(pod)
                            && e.reason.as_deref() == Some(reason)
                            && e.message.as_deref().is_some_and(|m| m.contains(text))
                    }) {
                        return event;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {reason} event containing {text:?}; saw {seen:#?}"))
    }

    /// The server registered for `pod`'s `port`.
    async fn served(&self, pod: &str, port: u16) -> Served {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(served) = self.ctx.dataplane.local.lookup("default", pod, port) {
                    return served;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{pod} never served port {port}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A pod running on the node.
struct Running {
    shared: Arc<PodShared>,
    _updates: watch::Sender<Arc<Pod>>,
}

impl Running {
    fn container(&self, name: &str) -> ContainerRecord {
        self.shared
            .read(|r| r.containers.iter().find(|c| c.name == name).cloned())
            .expect("container record")
    }

    /// Waits until the container's record satisfies `check`.
    async fn until(&self, name: &str, check: impl Fn(&ContainerRecord) -> bool) -> ContainerRecord {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let c = self.container(name);
                if check(&c) {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!("container {name} never matched: {:?}", self.container(name))
        })
    }
}

fn http_pod(name: &str, container: Value, annotations: Value) -> Value {
    let mut container = container;
    container["name"] = json!("web");
    container["image"] = json!(programs::P2_HTTP_GUEST);
    json!({
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {
            "nodeName": "node-a",
            "terminationGracePeriodSeconds": 5,
            "containers": [container],
        },
    })
}

async fn get(served: &Served, path: &str) -> (u16, String) {
    let request = http::Request::get(format!("http://127.0.0.1{path}"))
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = tokio::time::timeout(WAIT, served.handler.handle(request))
        .await
        .expect("answered in time");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn condition(status: &Value, kind: &str) -> Option<String> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str())
        .map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_http_container_serves_its_ports_with_its_environment_and_is_ready() {
    let node = Node::start().await;
    let running = node
        .run(http_pod(
            "web",
            json!({
                "ports": [{"name": "http", "containerPort": 9000}, {"containerPort": 9001}],
                "env": [{"name": "WHO", "value": "x"}, {"name": "GREETING", "value": "hello $(WHO)"}],
            }),
            json!({}),
        ))
        .await;
    let served = node.served("web", 9000).await;
    assert_eq!(served.container, "web");
    assert_eq!(served.handler.max_concurrency(), 100, "the default");
    assert!(
        node.ctx
            .dataplane
            .local
            .lookup("default", "web", 9001)
            .is_some()
    );
    assert!(
        node.ctx
            .dataplane
            .local
            .lookup("default", "web", 8080)
            .is_none(),
        "declared ports replace the default"
    );
    assert_eq!(get(&served, "/env/GREETING").await, (200, "hello x".into()));

    let status = node
        .status_until("web", |s| condition(s, "Ready").as_deref() == Some("True"))
        .await;
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["containerStatuses"][0]["ready"], true);
    assert_eq!(status["containerStatuses"][0]["started"], true);
    assert!(status["containerStatuses"][0]["state"]["running"].is_object());
    node.event("web", "Started", "Started container web").await;

    // The guest's output is the container's log.
    get(&served, "/logged").await;
    let body = node
        .ctx
        .logs
        .read("default", "web", "web", LogOptions::default())
        .expect("the container has a log");
    let text: Vec<Bytes> = tokio::time::timeout(WAIT, body.collect())
        .await
        .expect("log read");
    let text = String::from_utf8(text.concat()).expect("utf-8");
    assert!(text.contains("served /logged"), "{text}");
    drop(running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn annotations_tune_serving_and_bad_ones_are_config_errors() {
    let node = Node::start().await;
    let _tuned = node
        .run(http_pod(
            "tuned",
            json!({}),
            json!({"skiff.dev/max-concurrency": "3", "skiff.dev/request-timeout": "300ms"}),
        ))
        .await;
    let served = node.served("tuned", 8080).await;
    assert_eq!(served.handler.max_concurrency(), 3);
    let (status, body) = get(&served, "/sleep/60000").await;
    assert_eq!(status, 504, "{body}");

    let bad = node
        .run(http_pod(
            "bad",
            json!({}),
            json!({"skiff.dev/max-queue": "lots"}),
        ))
        .await;
    let c = bad
        .until("web", |c| {
            matches!(
                c.phase,
                ContainerPhase::Waiting {
                    reason: "CreateContainerConfigError",
                    ..
                }
            )
        })
        .await;
    let ContainerPhase::Waiting { message, .. } = c.phase else {
        unreachable!()
    };
    let message = message.unwrap_or_default();
    assert!(
        message.contains("skiff.dev/max-queue") && message.contains("lots"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_follows_the_probe_and_is_reported() {
    let node = Node::start().await;
    // Always 500: never ready.
    let _failing = node
        .run(http_pod(
            "unready",
            json!({"readinessProbe": {"httpGet": {"path": "/status/500", "port": 8080}, "periodSeconds": 1}}),
            json!({}),
        ))
        .await;
    node.event(
        "unready",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 500",
    )
    .await;
    let status = node
        .status_until("unready", |s| s["phase"] == "Running")
        .await;
    assert_eq!(condition(&status, "Ready").as_deref(), Some("False"));
    assert_eq!(
        condition(&status, "ContainersReady").as_deref(),
        Some("False")
    );
    assert_eq!(status["containerStatuses"][0]["ready"], false);
    assert_eq!(status["containerStatuses"][0]["started"], true);

    // A named port and a redirect (200-399 passes): ready.
    let _passing = node
        .run(http_pod(
            "ready",
            json!({
                "ports": [{"name": "http", "containerPort": 8081}],
                "readinessProbe": {"httpGet": {"path": "/status/302", "port": "http"}, "periodSeconds": 1},
            }),
            json!({}),
        ))
        .await;
    node.status_until("ready", |s| {
        condition(s, "Ready").as_deref() == Some("True")
    })
    .await;

    // tcpSocket passes while the pod serves the port; a port it does not serve fails.
    let _tcp = node
        .run(http_pod(
            "tcp",
            json!({
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                "livenessProbe": {"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 100},
            }),
            json!({}),
        ))
        .await;
    node.status_until("tcp", |s| condition(s, "Ready").as_deref() == Some("True"))
        .await;
    node.event(
        "tcp",
        "Unhealthy",
        "Liveness probe failed: dial tcp 127.0.0.1:9999: connect: connection refused",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_liveness_probe_restarts_the_container() {
    let node = Node::start().await;
    let running = node
        .run(http_pod(
            "sick",
            json!({"livenessProbe": {"httpGet": {"path": "/status/500", "port": 8080}, "periodSeconds": 1, "failureThreshold": 2}}),
            json!({}),
        ))
        .await;
    node.event(
        "sick",
        "Killing",
        "Container web failed liveness probe, will be restarted",
    )
    .await;
    node.event(
        "sick",
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
    )
    .await;
    let c = running
        .until("web", |c| c.restart_count >= 1 && c.is_running())
        .await;
    let last = c.last.expect("the killed run is the last state");
    assert_eq!(
        (last.exit_code, last.reason),
        (0, "Completed"),
        "it drained"
    );
    // The restarted run serves again.
    let served = node.served("sick", 8080).await;
    assert_eq!(get(&served, "/again").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_drains_in_flight_requests_within_the_grace_period() {
    let node = Node::start().await;
    let running = node.run(http_pod("drain", json!({}), json!({}))).await;
    let served = node.served("drain", 8080).await;
    running.until("web", ContainerRecord::is_running).await;
    let request = {
        let served = served.clone();
        tokio::spawn(async move { get(&served, "/sleep/500").await })
    };
    tokio::time::timeout(WAIT, async {
        while served.handler.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request starts");
    running.shared.stop(Duration::from_secs(20));
    // No new requests reach a draining pod.
    tokio::time::timeout(WAIT, async {
        while node
            .ctx
            .dataplane
            .local
            .lookup("default", "drain", 8080)
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the pod drains");
    assert_eq!(
        request.await.expect("join"),
        (200, "slept 500".into()),
        "the request in flight finished"
    );
    let c = running
        .until("web", |c| matches!(c.phase, ContainerPhase::Terminated(_)))
        .await;
    let ContainerPhase::Terminated(t) = c.phase else {
        unreachable!()
    };
    assert_eq!((t.exit_code, t.reason), (0, "Completed"));
    assert!(
        node.ctx.dataplane.local.all().is_empty(),
        "the registration is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_cut_short_stops_the_requests_left() {
    let node = Node::start().await;
    let running = node.run(http_pod("cut", json!({}), json!({}))).await;
    let served = node.served("cut", 8080).await;
    let request = {
        let served = served.clone();
        tokio::spawn(async move { get(&served, "/sleep/600000").await })
    };
    tokio::time::timeout(WAIT, async {
        while served.handler.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request starts");
    running.shared.stop(Duration::from_millis(100));
    let (status, _) = tokio::time::timeout(WAIT, request)
        .await
        .expect("the request is cut")
        .expect("join");
    assert_eq!(status, 503);
    let c = running
        .until("web", |c| matches!(c.phase, ContainerPhase::Terminated(_)))
        .await;
    let ContainerPhase::Terminated(t) = c.phase else {
        unreachable!()
    };
    assert_eq!((t.exit_code, t.reason), (137, "Error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_probes_of_a_command_container_fail_saying_why() {
    let node = Node::start().await;
    let pod = json!({
        "metadata": {"name": "cmd", "namespace": "default"},
        "spec": {
            "nodeName": "node-a",
            "containers": [{
                "name": "sleeper",
                "image": programs::P2_SLEEP,
                "args": ["600000"],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
            }],
        },
    });
    let _running = node.run(pod).await;
    node.event(
        "cmd",
        "Unhealthy",
        "container sleeper is a command and serves no port",
    )
    .await;
    let status = node
        .status_until("cmd", |s| {
            s["containerStatuses"][0]["state"]["running"].is_object()
        })
        .await;
    assert_eq!(status["containerStatuses"][0]["ready"], false);
    assert_eq!(condition(&status, "Ready").as_deref(), Some("False"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_outbound_request_is_an_event_on_the_pod() {
    let node = Node::start().await;
    let _running = node.run(http_pod("caller", json!({}), json!({}))).await;
    let served = node.served("caller", 8080).await;
    let (status, body) = get(&served, "/fetch/example.invalid/").await;
    assert_eq!(status, 502, "{body}");
    let event = node
        .event("caller", "OutboundDenied", "example.invalid")
        .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.involved_object.field_path.as_deref(),
        Some("spec.containers{web}")
    );
}
