//! HTTP serving through the data plane, against real `skiff server` and `skiff agent`
//! processes (release builds) and the `wasmtime` CLI, all loaded by the same in-bench
//! closed-loop generator (`support/load.rs`: keep-alive connections, warm-up, fixed
//! duration, HdrHistogram latencies), the targets taking turns round by round:
//!
//! 1. `nodeport`: requests/s, p50 and p99 of `http-hello` (4 replicas on one node) through
//!    a NodePort Service, against `wasmtime serve` on the same component; prints the
//!    ratios against the targets (≥ 0.9× throughput, ≤ 1.2× p99).
//! 2. `hop`: two agents (127.0.0.2 and 127.0.0.3), the replicas pinned to the second:
//!    p50 through the first agent's NodePort (forwarded to the second) against the
//!    second's own (local); prints the difference (target ≤ 200 µs). One connection by
//!    default, so the figure is the hop's latency rather than queueing.
//! 3. `wasmtime` (only when named): `wasmtime serve` alone, a check of the load generator.
//! 4. `run` (only when named): `skiff run --listen` against `wasmtime serve`.
//!
//! `cargo bench --bench http` runs `nodeport` and `hop`; name parts to choose
//! (`-- nodeport`, `-- hop`, `-- wasmtime run`). Options: `--connections N` (32),
//! `--duration 10s`, `--warmup 2s`, `--rounds N` (3), `--hop-connections N` (1),
//! `--max-pods N` (the agents'; 20000 measures the compact memory layout's bounds checks),
//! `--quick` (3 s runs, 1 s warm-up, one round). The `wasmtime` CLI is taken from `$WASMTIME` or
//! `PATH`; without it the comparisons print skiff's figures alone and say so.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::load::{self, Load, Report, micros};
use support::{Process, machine, skiff, verdict, wait_node};

mod support;

/// The component under load: `examples/http-hello`, as built for the tests.
const COMPONENT: &str = skiff_test_programs::HTTP_HELLO;
/// The Deployment and Service name.
const APP: &str = "http-hello";
/// Replicas behind the NodePort Service, as the benchmark asks.
const REPLICAS: i32 = 4;
/// The port the component is served on inside its pod.
const CONTAINER_PORT: u16 = 8080;
/// The Service's node port (that of `examples/http-hello.yaml`).
const NODE_PORT: u16 = 30080;
/// Agents listen on loopback addresses of their own: NodePorts bind the agent's listen
/// IP, so two agents on one machine do not collide, nor do they with a cluster on
/// 127.0.0.1.
const NODE_A: (&str, &str) = ("http-a", "127.0.0.2");
/// The second node of the hop comparison, where the replicas run.
const NODE_B: (&str, &str) = ("http-b", "127.0.0.3");
/// Alternating rounds per comparison.
const DEFAULT_ROUNDS: usize = 3;
/// Connections for the hop comparison: one request at a time measures the hop itself.
const DEFAULT_HOP_CONNECTIONS: usize = 1;
/// How long a served component or a Service may take to answer its first request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// The parts, in the order they run.
const PARTS: [&str; 4] = ["nodeport", "hop", "wasmtime", "run"];
/// Throughput through a NodePort relative to `wasmtime serve`: at least this.
const TARGET_THROUGHPUT_RATIO: f64 = 0.9;
/// p99 through a NodePort relative to `wasmtime serve`: at most this.
const TARGET_P99_RATIO: f64 = 1.2;
/// Latency a cross-node hop may add at the median.
const TARGET_HOP: Duration = Duration::from_micros(200);

/// What the command line asked for.
struct Options {
    parts: Vec<String>,
    load: Load,
    rounds: usize,
    hop_connections: usize,
    /// The agents' `--max-pods`, if not their default; beyond ~10,000 their pools use the
    /// compact memory layout (explicit bounds checks), which this measures.
    max_pods: Option<usize>,
}

impl Options {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Options {
            parts: Vec::new(),
            load: if quick {
                Load {
                    warmup: Duration::from_secs(1),
                    duration: Duration::from_secs(3),
                    ..Load::default()
                }
            } else {
                Load::default()
            },
            rounds: if quick { 1 } else { DEFAULT_ROUNDS },
            hop_connections: DEFAULT_HOP_CONNECTIONS,
            max_pods: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .unwrap_or_else(|| panic!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--connections" => options.load.connections = number(&flag, &value()),
                "--hop-connections" => options.hop_connections = number(&flag, &value()),
                "--rounds" => options.rounds = number(&flag, &value()),
                "--max-pods" => options.max_pods = Some(number(&flag, &value())),
                "--duration" => options.load.duration = duration(&flag, &value()),
                "--warmup" => options.load.warmup = duration(&flag, &value()),
                part if PARTS.contains(&part) => options.parts.push(part.to_string()),
                // `cargo bench` passes `--bench`; `--quick` was read above.
                _ => {}
            }
        }
        options
    }

    /// Whether to run `part`: named, or none named and `part` runs by default.
    fn runs(&self, part: &str) -> bool {
        if self.parts.is_empty() {
            matches!(part, "nodeport" | "hop")
        } else {
            self.parts.iter().any(|p| p == part)
        }
    }
}

fn number(flag: &str, value: &str) -> usize {
    value
        .parse()
        .unwrap_or_else(|_| panic!("{flag} takes a number, not {value:?}"))
}

fn duration(flag: &str, value: &str) -> Duration {
    humantime::parse_duration(value)
        .unwrap_or_else(|e| panic!("{flag} takes a duration like 10s: {e}"))
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let wasmtime = find_wasmtime();
    println!("{}", machine());
    println!(
        "load: closed loop over keep-alive HTTP/1.1 connections ({} unless said), {} warm-up, {} measured, {} round(s), targets alternating",
        options.load.connections,
        humantime::format_duration(options.load.warmup),
        humantime::format_duration(options.load.duration),
        options.rounds
    );
    match &wasmtime {
        Some(path) => println!("wasmtime: {} ({})", version(path), path.display()),
        None => println!(
            "wasmtime: not found: set WASMTIME=/path/to/wasmtime or put it on PATH \
             (`cargo install wasmtime-cli --version 48.0.8 --locked`); comparisons show \
             skiff's figures alone"
        ),
    }
    if options.runs("nodeport") {
        nodeport(&options, wasmtime.as_deref()).await;
    }
    if options.runs("hop") {
        hop(&options).await;
    }
    if options.runs("wasmtime") {
        wasmtime_alone(&options, wasmtime.as_deref()).await;
    }
    if options.runs("run") {
        run_listen(&options, wasmtime.as_deref()).await;
    }
}

/// Part 1: a NodePort Service over 4 replicas on one node, against `wasmtime serve`.
async fn nodeport(options: &Options, wasmtime: Option<&Path>) {
    println!(
        "\nnodeport: http-hello, {REPLICAS} replicas on one node, through NodePort {NODE_PORT}, against wasmtime serve"
    );
    let cluster = Cluster::start(&[NODE_A], options.max_pods).await;
    cluster.deploy(None).await;
    let via_node_port = socket(NODE_A.1, NODE_PORT);
    wait_answer(via_node_port, None).await;
    let mut targets = vec![("skiff NodePort", via_node_port)];
    let served = match wasmtime {
        Some(wasmtime) => Some(wasmtime_serve(wasmtime).await),
        None => None,
    };
    if let Some((_, addr)) = &served {
        targets.push(("wasmtime serve", *addr));
    }
    let totals = compare(&targets, &options.load, options.rounds).await;
    if let [skiff, wasmtime] = totals.as_slice() {
        ratios("NodePort", skiff, wasmtime);
    }
    drop(served);
    drop(cluster);
}

/// Part 2: the latency a cross-node hop adds.
async fn hop(options: &Options) {
    let (a, b) = (NODE_A, NODE_B);
    println!(
        "\nhop: http-hello, {REPLICAS} replicas pinned to node {} ({}); NodePort {NODE_PORT} of node {} ({}, forwarded) against that of node {} (local)",
        b.0, b.1, a.0, a.1, b.0
    );
    let cluster = Cluster::start(&[a, b], options.max_pods).await;
    cluster.deploy(Some(b.0)).await;
    let forwarded = socket(a.1, NODE_PORT);
    let local = socket(b.1, NODE_PORT);
    wait_answer(forwarded, None).await;
    wait_answer(local, None).await;
    let load = Load {
        connections: options.hop_connections,
        ..options.load.clone()
    };
    let totals = compare(
        &[
            ("via agent A (hop)", forwarded),
            ("via agent B (local)", local),
        ],
        &load,
        options.rounds,
    )
    .await;
    if let [forwarded, local] = totals.as_slice() {
        let added = forwarded.quantile(0.5).as_secs_f64() - local.quantile(0.5).as_secs_f64();
        println!(
            "  added by the hop at p50: {:.0} µs (target ≤ {}: {})",
            added * 1e6,
            micros(TARGET_HOP),
            verdict(added <= TARGET_HOP.as_secs_f64())
        );
        let added99 = forwarded.quantile(0.99).as_secs_f64() - local.quantile(0.99).as_secs_f64();
        println!("  added by the hop at p99: {:.0} µs", added99 * 1e6);
    }
    drop(cluster);
}

/// Part 3: `wasmtime serve` alone.
async fn wasmtime_alone(options: &Options, wasmtime: Option<&Path>) {
    println!("\nwasmtime: wasmtime serve alone, http-hello");
    let Some(wasmtime) = wasmtime else {
        println!("  skipped: the wasmtime CLI was not found");
        return;
    };
    let (_process, addr) = wasmtime_serve(wasmtime).await;
    compare(&[("wasmtime serve", addr)], &options.load, options.rounds).await;
}

/// Part 4: `skiff run --listen` (one process, no cluster) against `wasmtime serve`.
async fn run_listen(options: &Options, wasmtime: Option<&Path>) {
    println!("\nrun: skiff run --listen against wasmtime serve, http-hello");
    let addr = socket("127.0.0.1", free_port());
    let mut process = Process(
        skiff("run")
            .args(["run", "--listen", &addr.to_string(), COMPONENT])
            .spawn()
            .expect("spawn skiff run"),
    );
    wait_answer(addr, Some(&mut process)).await;
    let mut targets = vec![("skiff run --listen", addr)];
    let served = match wasmtime {
        Some(wasmtime) => Some(wasmtime_serve(wasmtime).await),
        None => None,
    };
    if let Some((_, addr)) = &served {
        targets.push(("wasmtime serve", *addr));
    }
    let totals = compare(&targets, &options.load, options.rounds).await;
    if let [skiff, wasmtime] = totals.as_slice() {
        ratios("skiff run", skiff, wasmtime);
    }
}

/// Loads each target in turn, `rounds` times; prints every run and each target's total.
async fn compare(targets: &[(&str, SocketAddr)], load: &Load, rounds: usize) -> Vec<Report> {
    println!("  {} connection(s)", load.connections);
    let mut totals = vec![Report::default(); targets.len()];
    for round in 1..=rounds.max(1) {
        for ((name, addr), total) in targets.iter().zip(&mut totals) {
            let report = load::run(*addr, "/", load).await;
            println!("  {name:<20} round {round}: {}", report.summary());
            total.merge(&report);
        }
    }
    for ((name, _), total) in targets.iter().zip(&totals) {
        println!("  {name:<20} overall: {}", total.summary());
    }
    totals
}

/// Prints `ours` against `wasmtime serve`'s figures, with the targets.
fn ratios(what: &str, ours: &Report, wasmtime: &Report) {
    let throughput = ours.throughput() / wasmtime.throughput().max(f64::MIN_POSITIVE);
    let p99 = ours.quantile(0.99).as_secs_f64()
        / wasmtime.quantile(0.99).as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "  {what} / wasmtime serve: throughput {throughput:.2}× (target ≥ {TARGET_THROUGHPUT_RATIO}×: {}), p99 {p99:.2}× (target ≤ {TARGET_P99_RATIO}×: {})",
        verdict(throughput >= TARGET_THROUGHPUT_RATIO),
        verdict(p99 <= TARGET_P99_RATIO)
    );
}

/// A `skiff server` and agents, each agent listening on a loopback address of its own.
struct Cluster {
    _agents: Vec<Process>,
    server: support::Server,
    // Last: removed once the processes using it are gone.
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the server and one agent per `(node name, listen IP)`, and waits until
    /// every node is registered.
    async fn start(nodes: &[(&str, &str)], max_pods: Option<usize>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = support::server(dir.path(), &[]).await;
        let agents = nodes
            .iter()
            .map(|(name, ip)| {
                Process(
                    skiff(name)
                        .args(["agent", "--name", name, "--listen", &format!("{ip}:0")])
                        .args(max_pods.map(|n| format!("--max-pods={n}")))
                        .arg("--kubeconfig")
                        .arg(&server.kubeconfig)
                        .arg("--data-dir")
                        .arg(dir.path().join(name))
                        .spawn()
                        .expect("spawn skiff agent"),
                )
            })
            .collect();
        for (name, _) in nodes {
            wait_node(&server.client, name).await;
        }
        Self {
            _agents: agents,
            server,
            _dir: dir,
        }
    }

    /// Creates the `http-hello` Deployment ([`REPLICAS`] replicas, on node `node` when
    /// given) and its NodePort Service, and waits until every replica is ready.
    async fn deploy(&self, node: Option<&str>) {
        let client = self.server.client.clone();
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let services: Api<Service> = Api::namespaced(client, "default");
        deployments
            .create(&PostParams::default(), &deployment(node))
            .await
            .expect("create the http-hello Deployment");
        services
            .create(&PostParams::default(), &service())
            .await
            .expect("create the http-hello Service");
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let status = deployments
                .get_status(APP)
                .await
                .expect("get the Deployment")
                .status
                .unwrap_or_default();
            if status.ready_replicas.unwrap_or(0) == REPLICAS {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{APP} did not get {REPLICAS} ready replicas within {ANSWER_TIMEOUT:?}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn deployment(node: Option<&str>) -> Deployment {
    let node_selector = node.map(|node| json!({"kubernetes.io/hostname": node}));
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": node_selector,
                    "containers": [{
                        "name": APP,
                        "image": format!("file://{COMPONENT}"),
                        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
                        "readinessProbe": {
                            "httpGet": {"path": "/", "port": CONTAINER_PORT},
                            "periodSeconds": 1,
                        },
                    }],
                },
            },
        },
    }))
    .expect("a valid Deployment")
}

fn service() -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {
            "type": "NodePort",
            "selector": {"app": APP},
            "ports": [{
                "name": "http",
                "port": 80,
                "targetPort": CONTAINER_PORT,
                "nodePort": NODE_PORT,
            }],
        },
    }))
    .expect("a valid Service")
}

/// `wasmtime serve` on the component, on a free port, once it answers.
async fn wasmtime_serve(wasmtime: &Path) -> (Process, SocketAddr) {
    let addr = socket("127.0.0.1", free_port());
    let mut process = Process(
        Command::new(wasmtime)
            .args(["serve", "-S", "cli", "--addr", &addr.to_string(), COMPONENT])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn wasmtime serve"),
    );
    wait_answer(addr, Some(&mut process)).await;
    (process, addr)
}

/// Waits until `GET /` at `addr` answers 200 (the Service has a ready endpoint, the
/// server has compiled the component); panics after [`ANSWER_TIMEOUT`], or when
/// `process` exits first.
async fn wait_answer(addr: SocketAddr, mut process: Option<&mut Process>) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut last = None;
    loop {
        match load::get(addr, "/").await {
            Some((200, _)) => return,
            answer => last = answer.or(last),
        }
        if let Some(process) = process.as_deref_mut()
            && let Ok(Some(status)) = process.0.try_wait()
        {
            panic!("the server for {addr} exited ({status}) before answering");
        }
        assert!(
            Instant::now() < deadline,
            "{addr} did not answer 200 within {ANSWER_TIMEOUT:?}; last answer: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn socket(ip: &str, port: u16) -> SocketAddr {
    let ip: IpAddr = ip.parse().expect("the bench's addresses are valid IPs");
    SocketAddr::new(ip, port)
}

/// A port free on 127.0.0.1 now (the OS picks; it is released for the server to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// The `wasmtime` CLI: `$WASMTIME` (a path, or a name looked up on `PATH`), else
/// `wasmtime` on `PATH`.
fn find_wasmtime() -> Option<PathBuf> {
    let wanted = std::env::var_os("WASMTIME").unwrap_or_else(|| "wasmtime".into());
    let wanted = PathBuf::from(wanted);
    if wanted.components().count() > 1 {
        return wanted.is_file().then_some(wanted);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&wanted))
        .find(|candidate| candidate.is_file())
}

/// `wasmtime --version`, or why it could not be read.
fn version(wasmtime: &Path) -> String {
    match Command::new(wasmtime).arg("--version").output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => format!("version unknown: {e}"),
    }
}
