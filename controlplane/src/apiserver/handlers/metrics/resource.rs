//! `metrics.k8s.io/v1beta1`: `NodeMetrics` and `PodMetrics`, get and list, as
//! metrics-server serves them — the objects come from the store (so selectors, labels and
//! not-found are the objects'), the figures from the
//! [`Collector`](crate::metrics::Collector) over its
//! [`RESOURCE_WINDOW`](crate::metrics::collector::RESOURCE_WINDOW). An object with no
//! figures yet is left out of a list and not found by a get
//! (`podmetrics.metrics.k8s.io "ns/name" not found`).
//!
//! A client asking for a `Table` (`kubectl get podmetrics`) gets one ([`metrics_table`]).
//!
//! Paths (after `/apis/metrics.k8s.io/v1beta1`): `nodes`, `nodes/{name}`, `pods`,
//! `namespaces/{ns}/pods`, `namespaces/{ns}/pods/{name}`.

use super::format::{cpu, duration, memory};
use super::groups::{RESOURCE_GROUP, RESOURCE_VERSION};
use super::objects::{self, Meta, Selectors};
use super::table::{self as metrics_table, Row};
use crate::apiserver::codec::table::{table_version, wants_table};
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use crate::metrics::collector::RESOURCE_WINDOW;
use crate::metrics::usage::{NodeUsage, PodUsage};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const API_VERSION: &str = "metrics.k8s.io/v1beta1";

/// Answers a request for `rest`, the path segments after the group-version.
pub async fn handle(
    state: &ApiState,
    rest: &[&str],
    params: &HashMap<String, String>,
    path: &str,
    accept: Option<&str>,
) -> ApiResult<Response> {
    let table = wants_table(accept).then(|| table_version(accept.unwrap_or_default()));
    debug_assert_eq!(
        (RESOURCE_GROUP, RESOURCE_VERSION),
        ("metrics.k8s.io", "v1beta1")
    );
    let watch = matches!(params.get("watch").map(String::as_str), Some("true" | "1"));
    let listing = matches!(rest, ["nodes"] | ["pods"] | ["namespaces", _, "pods"]);
    if watch && listing {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    match rest {
        ["nodes"] => list_nodes(state, &Selectors::parse(params)?, table).await,
        ["nodes", name] => get_node(state, name, table).await,
        ["pods"] => list_pods(state, None, &Selectors::parse(params)?, table).await,
        ["namespaces", ns, "pods"] => {
            list_pods(state, Some(ns), &Selectors::parse(params)?, table).await
        }
        ["namespaces", ns, "pods", name] => get_pod(state, ns, name, table).await,
        _ => Err(ApiError::no_route(path)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    creation_timestamp: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Usage {
    cpu: String,
    memory: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeMetrics<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: Metadata<'a>,
    timestamp: String,
    window: String,
    usage: Usage,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodMetrics<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: Metadata<'a>,
    timestamp: String,
    window: String,
    containers: Vec<ContainerMetrics>,
}

#[derive(Serialize)]
struct ContainerMetrics {
    name: String,
    usage: Usage,
}

/// Serializes as `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<T> {
    kind: &'static str,
    api_version: &'static str,
    metadata: Empty,
    items: Vec<T>,
}

fn node_metrics<'a>(
    meta: &'a Meta,
    usage: &NodeUsage,
    now: &'a str,
    item: bool,
) -> NodeMetrics<'a> {
    NodeMetrics {
        kind: (!item).then_some("NodeMetrics"),
        api_version: (!item).then_some(API_VERSION),
        metadata: Metadata {
            name: &meta.name,
            namespace: "",
            creation_timestamp: now,
            labels: &meta.labels,
        },
        timestamp: skiff_model::time::rfc3339(usage.timestamp),
        window: duration(usage.window),
        usage: Usage {
            cpu: cpu(usage.cpu_cores),
            memory: memory(usage.memory_bytes),
        },
    }
}

fn pod_metrics<'a>(meta: &'a Meta, usage: &PodUsage, now: &'a str, item: bool) -> PodMetrics<'a> {
    PodMetrics {
        kind: (!item).then_some("PodMetrics"),
        api_version: (!item).then_some(API_VERSION),
        metadata: Metadata {
            name: &meta.name,
            namespace: &meta.namespace,
            creation_timestamp: now,
            labels: &meta.labels,
        },
        timestamp: skiff_model::time::rfc3339(usage.timestamp),
        window: duration(usage.window),
        containers: usage
            .containers
            .iter()
            .map(|c| ContainerMetrics {
                name: c.name.clone(),
                usage: Usage {
                    cpu: cpu(c.cpu_cores),
                    memory: memory(c.memory_bytes),
                },
            })
            .collect(),
    }
}

fn json<T: Serialize>(value: &T) -> ApiResult<Response> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

async fn list_nodes(
    state: &ApiState,
    selectors: &Selectors,
    table: Option<&str>,
) -> ApiResult<Response> {
    let nodes = objects::list(state, objects::kind("nodes")?, None, selectors).await?;
    let now = skiff_model::time::now_rfc3339();
    let usages: Vec<(&Meta, NodeUsage)> = nodes
        .iter()
        .filter_map(|meta| Some((meta, state.metrics.node(&meta.name, RESOURCE_WINDOW)?)))
        .collect();
    if let Some(version) = table {
        let rows = usages
            .iter()
            .map(|(meta, usage)| node_row(&node_metrics(meta, usage, &now, true)))
            .collect::<ApiResult<_>>()?;
        return json(&metrics_table::table(rows, version));
    }
    json(&List {
        kind: "NodeMetricsList",
        api_version: API_VERSION,
        metadata: Empty {},
        items: usages
            .iter()
            .map(|(meta, usage)| node_metrics(meta, usage, &now, true))
            .collect(),
    })
}

async fn get_node(state: &ApiState, name: &str, table: Option<&str>) -> ApiResult<Response> {
    let meta = objects::get(state, objects::kind("nodes")?, None, name)
        .await?
        .ok_or_else(|| ApiError::not_found("node", name).with_details("", "node", name))?;
    let usage = state
        .metrics
        .node(name, RESOURCE_WINDOW)
        .ok_or_else(|| not_found("nodemetrics", name))?;
    let now = skiff_model::time::now_rfc3339();
    let metrics = node_metrics(&meta, &usage, &now, false);
    if let Some(version) = table {
        return json(&metrics_table::table(vec![node_row(&metrics)?], version));
    }
    json(&metrics)
}

async fn list_pods(
    state: &ApiState,
    namespace: Option<&str>,
    selectors: &Selectors,
    table: Option<&str>,
) -> ApiResult<Response> {
    let pods = objects::list(state, objects::kind("pods")?, namespace, selectors).await?;
    let now = skiff_model::time::now_rfc3339();
    let usages: Vec<(&Meta, PodUsage)> = pods
        .iter()
        .filter_map(|meta| {
            let usage = state
                .metrics
                .pod(&meta.namespace, &meta.name, RESOURCE_WINDOW)?;
            Some((meta, usage))
        })
        .collect();
    if let Some(version) = table {
        let rows = usages
            .iter()
            .map(|(meta, usage)| pod_row(&pod_metrics(meta, usage, &now, true), usage))
            .collect::<ApiResult<_>>()?;
        return json(&metrics_table::table(rows, version));
    }
    json(&List {
        kind: "PodMetricsList",
        api_version: API_VERSION,
        metadata: Empty {},
        items: usages
            .iter()
            .map(|(meta, usage)| pod_metrics(meta, usage, &now, true))
            .collect(),
    })
}

async fn get_pod(
    state: &ApiState,
    namespace: &str,
    name: &str,
    table: Option<&str>,
) -> ApiResult<Response> {
    let meta = objects::get(state, objects::kind("pods")?, Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::not_found("pods", name).with_details("", "pods", name))?;
    let usage = state
        .metrics
        .pod(namespace, name, RESOURCE_WINDOW)
        .ok_or_else(|| not_found("podmetrics", &format!("{namespace}/{name}")))?;
    let now = skiff_model::time::now_rfc3339();
    let metrics = pod_metrics(&meta, &usage, &now, false);
    if let Some(version) = table {
        return json(&metrics_table::table(
            vec![pod_row(&metrics, &usage)?],
            version,
        ));
    }
    json(&metrics)
}

fn node_row(metrics: &NodeMetrics<'_>) -> ApiResult<Row> {
    Ok(Row {
        metadata: serde_json::to_value(&metrics.metadata).map_err(ApiError::internal)?,
        cpu: metrics.usage.cpu.clone(),
        memory: metrics.usage.memory.clone(),
        window: metrics.window.clone(),
    })
}

/// A pod's row: its containers' use summed.
fn pod_row(metrics: &PodMetrics<'_>, usage: &PodUsage) -> ApiResult<Row> {
    Ok(Row {
        metadata: serde_json::to_value(&metrics.metadata).map_err(ApiError::internal)?,
        cpu: cpu(usage.cpu_cores()),
        memory: memory(usage.memory_bytes()),
        window: metrics.window.clone(),
    })
}

/// metrics-server's not-found of an object without figures.
fn not_found(resource: &str, name: &str) -> ApiError {
    ApiError::not_found(&format!("{resource}.{RESOURCE_GROUP}"), name).with_details(
        RESOURCE_GROUP,
        resource,
        name,
    )
}
