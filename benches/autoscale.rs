//! Autoscaling against real `skiff server` and `skiff agent` processes (release builds),
//! loaded by the in-bench HTTP load generator (`support/load.rs`):
//!
//! 1. `zero`: first response after zero — request-autoscaled (KPA) Deployments of the HTTP
//!    test guest, idle at zero on a node that has the module compiled; each cycle waits
//!    for its Deployment to be back at zero, sends one request through its NodePort and
//!    times the response. p50 and p99 over `--cycles` (50) cycles, several Deployments
//!    cycling side by side (`--services`, 5) so the cycles do not each wait out a whole
//!    stable window in turn. Their idle waits overlap but their first requests take turns,
//!    so each figure is one request from zero (`--together` sends each as soon as its
//!    Deployment is at zero: they then mostly start at once, five scale-ups on two cores).
//!    Goal p50 ≤ 10 ms, p99 ≤ 50 ms.
//! 2. `burst`: 200 concurrent clients against a Service at zero whose Deployment targets a
//!    concurrency of 10: the time until 20 replicas are ready, requests failed (goal 0),
//!    p99 latency during the ramp.
//! 3. `hpa`: a HorizontalPodAutoscaler on CPU (50 % of 100m): the time from CPU load
//!    starting to the first scale-up, and from the load stopping to the scale back down
//!    (scale-down stabilization window 5 s in `behavior`).
//! 4. `cost`: the metrics path at 10,000 idle pods on one agent — the agent's CPU per
//!    second while its stats stream is followed by the server, and what one more follower
//!    adds; the API server's CPU and latency serving `GET
//!    /apis/metrics.k8s.io/v1beta1/pods` (what `kubectl top pods -A` asks).
//!
//! `cargo bench --bench autoscale` runs them all; name parts to choose (`-- zero burst`).
//! Options: `--cycles N`, `--services N`, `--together` (for `zero`), `--pods N` (for
//! `cost`, 10,000), `--quick` (10 cycles, 1,000 pods).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::load::{self, Load, micros};
use support::observe::{agent_endpoint, cpu_rate, cpu_seconds, follow};
use support::{Process, Server, machine, quantile, skiff, verdict, wait_node};

mod support;

/// The HTTP test guest: `/sleep/<ms>` answers after sleeping, `/burn/<ms>` after spinning.
const GUEST: &str = skiff_test_programs::P2_HTTP_GUEST;
/// An idle long-running command, for the pods of `cost`.
const IDLE: &str = skiff_test_programs::P1_SLEEP;
/// The port the guest serves on inside its pod.
const CONTAINER_PORT: u16 = 8080;
/// The first node port; each Deployment of `zero` takes the next one.
const FIRST_NODE_PORT: u16 = 30200;
/// The agent's listen IP: node ports bind it.
const NODE_IP: &str = "127.0.0.4";
/// The parts, in the order they run.
const PARTS: [&str; 4] = ["zero", "burst", "hpa", "cost"];
/// Any one wait of the bench is bounded by this.
const WAIT: Duration = Duration::from_secs(180);
/// How often the bench looks at the cluster while it waits.
const POLL: Duration = Duration::from_millis(5);
/// Goals for the first response after zero.
const TARGET_ZERO_P50: Duration = Duration::from_millis(10);
const TARGET_ZERO_P99: Duration = Duration::from_millis(50);

/// What the command line asked for.
struct Options {
    parts: Vec<String>,
    cycles: usize,
    services: usize,
    together: bool,
    pods: usize,
}

impl Options {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Options {
            parts: Vec::new(),
            cycles: if quick { 10 } else { 50 },
            services: 5,
            together: false,
            pods: if quick { 1_000 } else { 10_000 },
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| -> usize {
                let v = args
                    .next()
                    .unwrap_or_else(|| panic!("{flag} needs a value"));
                v.parse()
                    .unwrap_or_else(|_| panic!("{flag}: not a number: {v}"))
            };
            match arg.as_str() {
                "--cycles" => options.cycles = value("--cycles"),
                "--services" => options.services = value("--services").max(1),
                "--pods" => options.pods = value("--pods"),
                "--together" => options.together = true,
                "--quick" | "--bench" => {}
                part if PARTS.contains(&part) => options.parts.push(part.to_string()),
                other => panic!("unknown argument {other}; parts are {PARTS:?}"),
            }
        }
        options
    }

    fn runs(&self, part: &str) -> bool {
        self.parts.is_empty() || self.parts.iter().any(|p| p == part)
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    println!("{}", machine());
    if options.runs("zero") {
        zero(&options).await;
    }
    if options.runs("burst") {
        burst().await;
    }
    if options.runs("hpa") {
        hpa().await;
    }
    if options.runs("cost") {
        cost(&options).await;
    }
}

/// A server with autoscaling windows short enough for a benchmark, and one agent.
struct Cluster {
    agent: Process,
    server: Server,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(max_pods: u32) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = support::server(
            dir.path(),
            &[
                "--scale-to-zero-grace-period",
                "6s",
                "--stable-window",
                "6s",
                "--allow-zero-initial-scale",
                "true",
            ],
        )
        .await;
        // Its own loopback address: node ports bind the agent's listen IP.
        let agent = Process(
            skiff("autoscale")
                .args([
                    "agent",
                    "--name",
                    "autoscale",
                    "--listen",
                    &format!("{NODE_IP}:0"),
                ])
                .args(["--max-pods", &max_pods.to_string()])
                .arg("--kubeconfig")
                .arg(&server.kubeconfig)
                .arg("--data-dir")
                .arg(dir.path().join("autoscale"))
                .spawn()
                .expect("spawn skiff agent"),
        );
        wait_node(&server.client, "autoscale").await;
        Self {
            agent,
            server,
            _dir: dir,
        }
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.server.client.clone(), "default")
    }

    /// Creates a Deployment of the guest and its NodePort Service.
    async fn deploy(&self, deployment: Value, node_port: u16) {
        let name = deployment["metadata"]["name"]
            .as_str()
            .expect("named")
            .to_string();
        self.deployments()
            .create(
                &PostParams::default(),
                &serde_json::from_value(deployment).expect("a Deployment"),
            )
            .await
            .expect("create the Deployment");
        let services: Api<Service> = Api::namespaced(self.server.client.clone(), "default");
        services
            .create(&PostParams::default(), &service(&name, node_port))
            .await
            .expect("create the Service");
    }

    /// The Deployment's (spec.replicas, status.readyReplicas, status.replicas).
    async fn replicas(&self, name: &str) -> (i32, i32, i32) {
        let d = self
            .deployments()
            .get(name)
            .await
            .expect("get the Deployment");
        let spec = d.spec.and_then(|s| s.replicas).unwrap_or(0);
        let status = d.status.unwrap_or_default();
        (
            spec,
            status.ready_replicas.unwrap_or(0),
            status.replicas.unwrap_or(0),
        )
    }

    /// Waits until `done(spec, ready, current)` holds, and returns when it first did.
    async fn until(&self, name: &str, done: impl Fn(i32, i32, i32) -> bool) -> Instant {
        let deadline = Instant::now() + WAIT;
        loop {
            let (spec, ready, current) = self.replicas(name).await;
            if done(spec, ready, current) {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no change within {WAIT:?} (spec {spec}, ready {ready}, current {current})"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until no pod of `name` is left (the Deployment is really at zero).
    async fn until_no_pods(&self, name: &str) {
        let pods: Api<Pod> = Api::namespaced(self.server.client.clone(), "default");
        let selector = ListParams::default().labels(&format!("app={name}"));
        let deadline = Instant::now() + WAIT;
        while !pods.list(&selector).await.expect("list").items.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{name}: pods left after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A Deployment of the guest scaled by the request autoscaler, from zero.
fn kpa_deployment(name: &str, annotations: Value) -> Value {
    let mut all = json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/min-scale": "0",
        "autoscaling.knative.dev/initial-scale": "0",
        "autoscaling.knative.dev/window": "6s",
    });
    if let (Some(all), Some(more)) = (all.as_object_mut(), annotations.as_object()) {
        all.extend(more.clone());
    }
    let mut deployment = deployment(name, 0, all, json!({}));
    // Scaling down must drain the requests in flight, as it does for users (an idle pod
    // stops at once all the same); a zero grace would cut them off.
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(10);
    deployment
}

fn deployment(name: &str, replicas: i32, annotations: Value, resources: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{
                        "name": "guest",
                        "image": format!("file://{GUEST}"),
                        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
                        "resources": resources,
                    }],
                },
            },
        },
    })
}

fn service(name: &str, node_port: u16) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": "NodePort",
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": CONTAINER_PORT, "nodePort": node_port}],
        },
    }))
    .expect("a valid Service")
}

fn node_port(port: u16) -> SocketAddr {
    format!("{NODE_IP}:{port}").parse().expect("an address")
}

/// Waits until `addr` answers 200 (its node port is bound once the agent has seen the
/// Service; the first answer compiles the module on the node).
async fn warm(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    loop {
        if load::get(addr, "/").await.map(|a| a.0) == Some(200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} did not answer within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Part 1: the first response after zero.
async fn zero(options: &Options) {
    let cluster = Arc::new(Cluster::start(64).await);
    let names: Vec<String> = (0..options.services).map(|i| format!("zero-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        cluster
            .deploy(kpa_deployment(name, json!({})), FIRST_NODE_PORT + i as u16)
            .await;
    }
    // Warm up: each answers once (which compiles the module on the node).
    for (i, _) in names.iter().enumerate() {
        warm(node_port(FIRST_NODE_PORT + i as u16)).await;
    }
    let per_service = options.cycles.div_ceil(names.len());
    // Held while a first request is timed, unless they are to go together.
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    let tasks: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let cluster = cluster.clone();
            let name = name.clone();
            let turn = turn.clone();
            let together = options.together;
            tokio::spawn(async move {
                let mut took = Vec::new();
                for _ in 0..per_service {
                    cluster
                        .until(&name, |spec, _, current| spec == 0 && current == 0)
                        .await;
                    cluster.until_no_pods(&name).await;
                    let _turn = if together {
                        None
                    } else {
                        Some(turn.lock().await)
                    };
                    let start = Instant::now();
                    let answer = load::get(node_port(FIRST_NODE_PORT + i as u16), "/").await;
                    let elapsed = start.elapsed();
                    assert_eq!(
                        answer.map(|a| a.0),
                        Some(200),
                        "{name}: the request from zero"
                    );
                    took.push(elapsed);
                }
                took
            })
        })
        .collect();
    let mut took = Vec::new();
    for task in tasks {
        took.extend(task.await.expect("a cycling task"));
    }
    took.sort_unstable();
    let (p50, p99) = (quantile(&took, 0.5), quantile(&took, 0.99));
    println!(
        "zero: first response after zero over {} cycles ({} Deployments, {}): p50 {}, p99 {}, max {} (goal p50 ≤ {}: {}, p99 ≤ {}: {})",
        took.len(),
        names.len(),
        if options.together {
            "sent together"
        } else {
            "one at a time"
        },
        micros(p50),
        micros(p99),
        micros(*took.last().expect("cycles")),
        micros(TARGET_ZERO_P50),
        verdict(p50 <= TARGET_ZERO_P50),
        micros(TARGET_ZERO_P99),
        verdict(p99 <= TARGET_ZERO_P99),
    );
}

/// Part 2: 200 clients against a Service at zero, target concurrency 10.
async fn burst() {
    const CLIENTS: usize = 200;
    const REPLICAS: i32 = 20;
    let cluster = Arc::new(Cluster::start(256).await);
    let annotations = json!({
        "autoscaling.knative.dev/target": "10",
        "autoscaling.knative.dev/target-utilization-percentage": "100",
        "autoscaling.knative.dev/max-scale": "50",
    });
    cluster
        .deploy(kpa_deployment("burst", annotations), FIRST_NODE_PORT)
        .await;
    // Compile the module on the node, then let it go back to zero.
    warm(node_port(FIRST_NODE_PORT)).await;
    cluster
        .until("burst", |spec, _, current| spec == 0 && current == 0)
        .await;
    cluster.until_no_pods("burst").await;
    let start = Instant::now();
    let watcher = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            cluster
                .until("burst", |_, ready, _| ready >= REPLICAS)
                .await
        })
    };
    let load = Load {
        connections: CLIENTS,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(10),
    };
    let report = load::run(node_port(FIRST_NODE_PORT), "/sleep/50", &load).await;
    let ready = watcher.await.expect("the watcher");
    let (spec, ready_now, _) = cluster.replicas("burst").await;
    println!(
        "burst: {CLIENTS} clients from zero (target concurrency 10): {REPLICAS} ready after {:.0} ms; {} requests, {} failed, {} non-2xx, p50 {}, p99 {}; at the end {ready_now} ready of {spec}",
        (ready - start).as_secs_f64() * 1e3,
        report.requests,
        report.errors,
        report.non_success,
        micros(report.quantile(0.5)),
        micros(report.quantile(0.99)),
    );
    if let Some(codes) = report.codes() {
        println!("burst: non-2xx answers: {codes}");
    }
}

/// Part 3: how fast a CPU HorizontalPodAutoscaler reacts.
async fn hpa() {
    let cluster = Arc::new(Cluster::start(64).await);
    let resources = json!({"requests": {"cpu": "100m"}});
    cluster
        .deploy(deployment("cpu", 1, json!({}), resources), FIRST_NODE_PORT)
        .await;
    cluster.until("cpu", |_, ready, _| ready == 1).await;
    let hpas: Api<HorizontalPodAutoscaler> =
        Api::namespaced(cluster.server.client.clone(), "default");
    let hpa = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "cpu"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cpu"},
            "minReplicas": 1,
            "maxReplicas": 8,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}},
        },
    });
    hpas.create(
        &PostParams::default(),
        &serde_json::from_value(hpa).expect("an HPA"),
    )
    .await
    .expect("create the HPA");
    // Idle long enough for the HPA to have seen the idle pod.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loading = Arc::new(AtomicBool::new(true));
    let start = Instant::now();
    let load_task = {
        let loading = loading.clone();
        tokio::spawn(async move {
            let mut total = 0;
            while loading.load(Ordering::Relaxed) {
                let load = Load {
                    connections: 4,
                    warmup: Duration::ZERO,
                    duration: Duration::from_millis(500),
                };
                total += load::run(node_port(FIRST_NODE_PORT), "/burn/10", &load)
                    .await
                    .requests;
            }
            total
        })
    };
    let up = cluster.until("cpu", |spec, _, _| spec > 1).await;
    let (scaled_to, _, _) = cluster.replicas("cpu").await;
    // Let it settle under load, then stop.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (peak, _, _) = cluster.replicas("cpu").await;
    loading.store(false, Ordering::Relaxed);
    let served = load_task.await.expect("the load");
    let stop = Instant::now();
    let down = cluster.until("cpu", |spec, _, _| spec == 1).await;
    println!(
        "hpa: CPU load to first scale-up {:.0} ms (1 -> {scaled_to}, {peak} after 5 s more); load stopped to back at 1 replica {:.0} ms (stabilization window 5 s); {served} requests served",
        (up - start).as_secs_f64() * 1e3,
        (down - stop).as_secs_f64() * 1e3,
    );
}

/// Part 4: what the metrics path costs at many pods.
async fn cost(options: &Options) {
    let pods = options.pods;
    let cluster = Cluster::start(pods as u32 + 16).await;
    let start = Instant::now();
    let idle = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "idle"},
        "spec": {
            "replicas": pods,
            "selector": {"matchLabels": {"app": "idle"}},
            "template": {
                "metadata": {"labels": {"app": "idle"}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "main", "image": format!("file://{IDLE}")}],
                },
            },
        },
    });
    cluster
        .deployments()
        .create(
            &PostParams::default(),
            &serde_json::from_value(idle).expect("a Deployment"),
        )
        .await
        .expect("create the idle Deployment");
    cluster
        .until("idle", |_, ready, _| ready as usize == pods)
        .await;
    println!(
        "cost: {pods} idle pods ready after {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // Let the start-up's own work settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let agent_pid = cluster.agent.0.id();
    let server_pid = cluster.server.process.0.id();
    let window = Duration::from_secs(10);
    let followed = cpu_rate(agent_pid, window).await;
    // One more follower of the agent's stats stream, as the server follows it.
    let endpoint = agent_endpoint(&cluster.server.client, "autoscale").await;
    let extra = tokio::spawn(follow(endpoint));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with_extra = cpu_rate(agent_pid, window).await;
    extra.abort();
    println!(
        "cost: agent CPU at {pods} idle pods, stats followed by the server: {:.1} ms/s; one more follower adds {:.1} ms/s",
        followed * 1e3,
        (with_extra - followed) * 1e3,
    );
    // The API server serving every pod's metrics, as `kubectl top pods -A` asks.
    let request = || {
        http::Request::get("/apis/metrics.k8s.io/v1beta1/pods")
            .body(Vec::new())
            .expect("a request")
    };
    let first: Value = cluster
        .server
        .client
        .request(request())
        .await
        .expect("pod metrics");
    let listed = first["items"].as_array().map_or(0, Vec::len);
    let rounds = 10;
    let cpu_before = cpu_seconds(server_pid);
    let started = Instant::now();
    for _ in 0..rounds {
        let _: Value = cluster
            .server
            .client
            .request(request())
            .await
            .expect("pod metrics");
    }
    let took = started.elapsed() / rounds;
    let cpu = (cpu_seconds(server_pid) - cpu_before) / f64::from(rounds);
    println!(
        "cost: API server serving all pod metrics ({listed} PodMetrics): {:.1} ms per request, {:.1} ms of server CPU per request",
        took.as_secs_f64() * 1e3,
        cpu * 1e3,
    );
}
