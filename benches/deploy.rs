//! Deployment burst scaling and node failure, against real `skiff server` and `skiff agent`
//! processes (release builds):
//!
//! 1. burst: a Deployment scaled from 0 to 1,000 replicas on one node, then from 0 to
//!    10,000 — time from the scale request until the Deployment reports every replica
//!    ready (what `kubectl get deploy` and `kubectl rollout status` show);
//! 2. node failure: a Deployment of 30 replicas over three nodes; one agent is killed
//!    with SIGKILL; time until the Deployment again has all its replicas ready, on the
//!    two live nodes, with the server's default node-lifecycle timings.
//!
//! `cargo bench --bench deploy` (`-- --quick` for 100 / 1,000 replicas; `-- burst` or
//! `-- failure` for one part only).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use std::time::{Duration, Instant};
use support::{agent, machine, wait_node};

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
    println!("{}", machine());
    if only("burst") {
        let sizes: &[i32] = if quick { &[100, 1000] } else { &[1000, 10_000] };
        burst(sizes).await;
    }
    if only("failure") {
        failure(if quick { 9 } else { 30 }).await;
    }
}

async fn burst(sizes: &[i32]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = support::server(dir.path(), &[]).await;
    let most = sizes.iter().copied().max().unwrap_or(0) as u32;
    let _node = agent(&server.kubeconfig, dir.path(), "burst", most + 16, &[]);
    wait_node(&server.client, "burst").await;
    let deployments: Api<Deployment> = Api::namespaced(server.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(server.client.clone(), "default");
    // Warm the node: one replica pulls and compiles the module.
    deployments
        .create(&PostParams::default(), &deployment("burst", 1))
        .await
        .expect("create deployment");
    until_ready(&deployments, "burst", 1, Duration::from_secs(120)).await;
    for &replicas in sizes {
        scale(&deployments, "burst", 0).await;
        until_ready(&deployments, "burst", 0, Duration::from_secs(300)).await;
        until_gone(&pods, "burst").await;
        // The pods' milestones, from a watch (for bursts a watcher can keep up with).
        let timeline = (replicas <= 2000).then(|| Timeline::watch(pods.clone()));
        let start = Instant::now();
        scale(&deployments, "burst", replicas).await;
        until_ready(&deployments, "burst", replicas, Duration::from_secs(600)).await;
        println!(
            "burst: Deployment scaled 0 -> {replicas} on one node: all ready after {:.0} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        if let Some(timeline) = timeline {
            timeline.report(start).await;
        }
    }
}

/// A pod reaching a stage ("created", "bound", "running"), and when.
type Milestone = (String, &'static str, Instant);

/// When each pod of a burst was first seen created, bound and Running.
struct Timeline {
    seen: std::sync::Arc<std::sync::Mutex<Vec<Milestone>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Timeline {
    fn watch(pods: Api<Pod>) -> Self {
        use futures::StreamExt;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            let mut stream = pods
                .watch(&kube::api::WatchParams::default().labels("app=burst"), "0")
                .await
                .expect("watch")
                .boxed();
            while let Some(Ok(event)) = stream.next().await {
                let (kube::api::WatchEvent::Added(p) | kube::api::WatchEvent::Modified(p)) = event
                else {
                    continue;
                };
                let now = Instant::now();
                let name = p.metadata.name.clone().unwrap_or_default();
                let mut log = log.lock().expect("lock");
                log.push((name.clone(), "created", now));
                if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                    log.push((name.clone(), "bound", now));
                }
                if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                    log.push((name, "running", now));
                }
            }
        });
        Self { seen, task }
    }

    async fn report(self, start: Instant) {
        self.task.abort();
        let seen = self.seen.lock().expect("lock");
        for stage in ["created", "bound", "running"] {
            let mut first: std::collections::HashMap<&str, Instant> = Default::default();
            for (name, s, at) in seen.iter().filter(|(_, s, _)| *s == stage) {
                let _ = s;
                first.entry(name.as_str()).or_insert(*at);
            }
            let mut times: Vec<f64> = first
                .values()
                .map(|t| t.saturating_duration_since(start).as_secs_f64() * 1e3)
                .collect();
            times.sort_by(f64::total_cmp);
            if times.is_empty() {
                continue;
            }
            let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
            println!(
                "  {stage:>8}: {} pods, first {:.0} ms, half {:.0} ms, last {:.0} ms",
                times.len(),
                at(0.0),
                at(0.5),
                at(1.0)
            );
        }
    }
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
