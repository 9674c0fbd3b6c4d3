//! Deployment burst scaling and node failure, against real `skiff server` and `skiff agent`
//! processes (release builds):
//!
//! 1. burst: a Deployment of a sleeping guest scaled from 0 to each size in turn (100,
//!    1,000 and 10,000 by default), on one node and then on four: the time from the scale
//!    request until the Deployment reports every replica ready (what `kubectl rollout
//!    status` waits for), split by stage — when half, 99 % and all pods were seen created,
//!    bound, Running and Ready by a watcher, and each stage's rate — with the server's and
//!    the agents' CPU time per pod;
//! 2. node failure: a Deployment of 30 replicas over three nodes; one agent is killed
//!    with SIGKILL; time until the Deployment again has all its replicas ready, on the
//!    two live nodes, with the server's default node-lifecycle timings.
//!
//! `cargo bench --bench deploy` runs both; `-- burst` or `-- failure` runs one. Options:
//! `--sizes 100,1000,10000`, `--agents 1,4`, `--quick` (sizes 100 and 1,000 on one node, 9
//! replicas for the failure). 30,000 pods on one node needs `vm.max_map_count` raised
//! (each pod holds a few memory mappings; the default is 65,530).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use std::time::{Duration, Instant};
use support::observe::cpu_seconds;
use support::timeline::Timeline;
use support::{Process, agent, machine, wait_node};

mod support;

const IMAGE: &str = skiff_test_programs::P1_SLEEP;

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "main", "image": format!("file://{IMAGE}")}],
                },
            },
        },
    }))
    .expect("deployment")
}

async fn scale(deployments: &Api<Deployment>, name: &str, replicas: i32) {
    deployments
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .expect("scale");
}

/// Waits until the Deployment reports `replicas` ready (and no more pods), up to `limit`.
async fn until_ready(deployments: &Api<Deployment>, name: &str, replicas: i32, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let status = deployments
            .get_status(name)
            .await
            .expect("get deployment")
            .status
            .unwrap_or_default();
        if status.ready_replicas.unwrap_or(0) == replicas
            && status.replicas.unwrap_or(0) == replicas
            && status.updated_replicas.unwrap_or(0) == replicas
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not reach {replicas} ready replicas within {limit:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until no pod of the Deployment is left.
async fn until_gone(pods: &Api<Pod>, name: &str) {
    let selector = ListParams::default()
        .labels(&format!("app={name}"))
        .limit(1);
    for _ in 0..3000 {
        if pods.list(&selector).await.expect("list").items.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the pods of {name} were not deleted");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = |part: &str| {
        let parts = ["burst", "failure"];
        !args.iter().any(|a| parts.contains(&a.as_str())) || args.iter().any(|a| a == part)
    };
    let list = |flag: &str, default: &[usize]| -> Vec<usize> {
        match args.iter().position(|a| a == flag) {
            Some(i) => args
                .get(i + 1)
                .unwrap_or_else(|| panic!("{flag} needs a value"))
                .split(',')
                .map(|n| {
                    n.parse()
                        .unwrap_or_else(|_| panic!("{flag}: not a number: {n}"))
                })
                .collect(),
            None => default.to_vec(),
        }
    };
    println!("{}", machine());
    if only("burst") {
        let sizes = list(
            "--sizes",
            if quick {
                &[100, 1000]
            } else {
                &[100, 1000, 10_000]
            },
        );
        for agents in list("--agents", if quick { &[1] } else { &[1, 4] }) {
            burst(&sizes, agents).await;
        }
    }
    if only("failure") {
        failure(if quick { 9 } else { 30 }).await;
    }
}

async fn burst(sizes: &[usize], agents: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = support::server(dir.path(), &[]).await;
    let most = sizes.iter().copied().max().unwrap_or(0);
    let per_node = (most.div_ceil(agents) + 16) as u32;
    let names: Vec<String> = (0..agents).map(|i| format!("burst-{i}")).collect();
    let nodes: Vec<Process> = names
        .iter()
        .map(|name| agent(&server.kubeconfig, dir.path(), name, per_node, &[]))
        .collect();
    for name in &names {
        wait_node(&server.client, name).await;
    }
    let deployments: Api<Deployment> = Api::namespaced(server.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    // Warm the nodes: a replica per node pulls and compiles the module.
    deployments
        .create(&PostParams::default(), &deployment("burst", agents as i32))
        .await
        .expect("create deployment");
    until_ready(
        &deployments,
        "burst",
        agents as i32,
        Duration::from_secs(120),
    )
    .await;
    let on = if agents == 1 {
        "one node".to_owned()
    } else {
        format!("{agents} nodes")
    };
    let cpu = || {
        let server = cpu_seconds(server.process.0.id());
        let agents: f64 = nodes.iter().map(|n| cpu_seconds(n.0.id())).sum();
        (server, agents)
    };
    for &replicas in sizes {
        scale(&deployments, "burst", 0).await;
        until_ready(&deployments, "burst", 0, Duration::from_secs(300)).await;
        until_gone(&pods, "burst").await;
        let timeline = Timeline::watch(pods.clone(), "app=burst");
        // Let the watcher list (nothing) and start watching before the burst.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (server_before, agents_before) = cpu();
        let start = Instant::now();
        scale(&deployments, "burst", replicas as i32).await;
        until_ready(
            &deployments,
            "burst",
            replicas as i32,
            Duration::from_secs(900),
        )
        .await;
        let elapsed = start.elapsed();
        let (server_after, agents_after) = cpu();
        let per_pod = |seconds: f64| seconds / replicas as f64 * 1e6;
        let mappings: usize = nodes.iter().map(|n| mappings(n.0.id())).sum();
        println!(
            "burst: 0 -> {replicas} on {on}: Deployment ready after {:.0} ms; CPU per pod: server {:.0} µs, agents {:.0} µs; agents' memory mappings {mappings} ({:.1} per pod)",
            elapsed.as_secs_f64() * 1e3,
            per_pod(server_after - server_before),
            per_pod(agents_after - agents_before),
            mappings as f64 / replicas as f64,
        );
        timeline
            .until_ready(replicas, Duration::from_secs(60))
            .await;
        for line in timeline.report(start, replicas) {
            println!("  {line}");
        }
    }
    drop(nodes);
}

async fn failure(replicas: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = support::server(dir.path(), &[]).await;
    let nodes: Vec<_> = ["one", "two", "three"]
        .iter()
        .map(|name| {
            (
                *name,
                agent(&server.kubeconfig, dir.path(), name, 1024, &[]),
            )
        })
        .collect();
    for (name, _) in &nodes {
        wait_node(&server.client, name).await;
    }
    let deployments: Api<Deployment> = Api::namespaced(server.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("spread", replicas))
        .await
        .expect("create deployment");
    until_ready(&deployments, "spread", replicas, Duration::from_secs(120)).await;
    let mut nodes = nodes;
    let (victim, mut process) = nodes.remove(0);
    let on_victim = count_on(&pods, victim).await;
    let start = Instant::now();
    let _ = process.0.kill();
    let _ = process.0.wait();
    // Ready again means: every replica counted ready runs on a live node.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let all = pods
            .list(&ListParams::default().labels("app=spread"))
            .await
            .expect("list");
        let running_elsewhere = all
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(victim))
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        if running_elsewhere >= replicas as usize {
            break;
        }
        assert!(Instant::now() < deadline, "replicas were not replaced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "node failure: SIGKILL of an agent with {on_victim} of {replicas} replicas: all {replicas} Running on the other nodes after {:.1} s (default timings)",
        start.elapsed().as_secs_f64()
    );
    drop(nodes);
}

async fn count_on(pods: &Api<Pod>, node: &str) -> usize {
    pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .expect("list")
        .items
        .len()
}

/// How many memory mappings a process holds (what `vm.max_map_count` bounds).
fn mappings(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|maps| maps.lines().count())
        .unwrap_or(0)
}
