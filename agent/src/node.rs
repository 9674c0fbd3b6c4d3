//! The Node object: registration (created if missing, re-adopted if present) and status
//! — capacity and allocatable (CPU from the machine's cores, memory from
//! `/proc/meminfo`, pods from the instance pool), addresses, node info and the Ready
//! condition with its heartbeat.

use crate::pods::admit::Allocatable;
use crate::{AgentConfig, Result};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The kubelet version the node reports: the Kubernetes API level plus Skiff's version.
pub const KUBELET_VERSION: &str = concat!("v1.33.0-skiff.", env!("CARGO_PKG_VERSION"));

/// Creates the Node if it does not exist, then reports its status.
pub async fn register(client: &kube::Client, config: &AgentConfig) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    if nodes.get_opt(&config.name).await?.is_none() {
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": config.name,
                "labels": {
                    "kubernetes.io/hostname": config.name,
                    "kubernetes.io/os": "wasi",
                    "kubernetes.io/arch": "wasm32",
                    "type": "skiff",
                },
            },
        }))
        .expect("a static Node shape");
        match nodes.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    report_status(client, config).await
}

/// Writes the node's status: capacity, addresses, info, and a fresh Ready heartbeat.
pub async fn report_status(client: &kube::Client, config: &AgentConfig) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .patch_status(
            &config.name,
            &PatchParams::default(),
            &Patch::Merge(status(config)),
        )
        .await?;
    Ok(())
}

/// What pods may request on this node: its cores, its memory, its instance pool.
pub fn allocatable(config: &AgentConfig) -> Allocatable {
    Allocatable {
        cpu_millis: cpus() as u64 * 1000,
        memory: memory_kib().unwrap_or(0) * 1024,
        pods: config.max_pods,
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// When this agent first reported the node Ready: the condition's transition time, which
/// heartbeats must not move.
static READY_SINCE: OnceLock<String> = OnceLock::new();

fn status(config: &AgentConfig) -> Value {
    let now = skiff_model::time::now_rfc3339();
    let since = READY_SINCE.get_or_init(|| now.clone());
    let cpus = cpus();
    let memory = memory_kib().map_or_else(|| "0".to_string(), |kib| format!("{kib}Ki"));
    let capacity =
        json!({"cpu": cpus.to_string(), "memory": memory, "pods": config.max_pods.to_string()});
    json!({"status": {
        "capacity": capacity,
        "allocatable": capacity,
        "addresses": [
            {"type": "InternalIP", "address": config.node_ip().to_string()},
            {"type": "Hostname", "address": config.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.listen.port()}},
        "nodeInfo": {
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "wasi",
            "architecture": "wasm32",
            "containerRuntimeVersion": "wasmtime://48",
            "kernelVersion": "",
            "osImage": "Skiff",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
        },
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "skiff agent is posting ready status",
            "lastHeartbeatTime": now,
            "lastTransitionTime": since,
        }],
    }})
}

/// Total memory of the machine, from `/proc/meminfo`.
fn memory_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
