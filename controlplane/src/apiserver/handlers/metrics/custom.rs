//! `custom.metrics.k8s.io/v1beta2` for pods: [`REQUESTS_PER_SECOND`] and
//! [`REQUESTS_IN_FLIGHT`], from the data plane's counters as the
//! [`Collector`](crate::metrics::Collector) derives them over its
//! [`RESOURCE_WINDOW`](crate::metrics::collector::RESOURCE_WINDOW), answered as a
//! `MetricValueList` the way custom metrics adapters answer the HPA.
//!
//! `requests_in_flight` is the time-weighted average of the requests outstanding over the
//! window (the rate of the busy-time integral), not the gauge at its end: a burst that
//! came and went between two reports still counts, and the HPA averages it per pod as it
//! would a Prometheus `avg_over_time`.
//!
//! Paths (after `/apis/custom.metrics.k8s.io/v1beta2`):
//! `namespaces/{ns}/pods/*/{metric}?labelSelector=…` (every selected pod with figures)
//! and `namespaces/{ns}/pods/{name}/{metric}`. Any other metric, or any other resource,
//! is a 404 in the adapters' words ("the server could not find the metric …"); so is a
//! pod without figures for the metric (one that serves no HTTP, or not reported yet).

use super::format::milli;
use super::groups::{
    CUSTOM_GROUP, CUSTOM_METRICS, CUSTOM_VERSION, REQUESTS_IN_FLIGHT, REQUESTS_PER_SECOND,
};
use super::objects::{self, Selectors};
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use crate::metrics::collector::RESOURCE_WINDOW;
use crate::metrics::usage::PodUsage;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use skiff_model::selector::LabelSelector;
use std::collections::{BTreeMap, HashMap};

/// Answers a request for `rest`, the path segments after the group-version.
pub async fn handle(
    state: &ApiState,
    rest: &[&str],
    params: &HashMap<String, String>,
    path: &str,
) -> ApiResult<Response> {
    let (namespace, resource, name, metric) = match rest {
        ["namespaces", ns, resource, name, metric] => (Some(*ns), *resource, *name, *metric),
        ["namespaces", _, "metrics", metric] => {
            return Err(metric_not_found("namespaces", metric, None));
        }
        [resource, name, metric] => (None, *resource, *name, *metric),
        _ => return Err(ApiError::no_route(path)),
    };
    let named = (name != "*").then_some(name);
    let (Some(namespace), "pods", true) = (namespace, resource, CUSTOM_METRICS.contains(&metric))
    else {
        return Err(metric_not_found(resource, metric, named));
    };
    let metric_labels = LabelSelector::parse(
        params
            .get("metricLabelSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // The metrics carry no labels of their own.
    let labels_match = metric_labels.matches(&BTreeMap::new());
    let pods_kind = objects::kind("pods")?;
    let mut items = Vec::new();
    match named {
        Some(name) => {
            let value = labels_match
                .then(|| state.metrics.pod(namespace, name, RESOURCE_WINDOW))
                .flatten()
                .and_then(|usage| value(&usage, metric, name));
            match value {
                Some(value) => items.push(value),
                None => return Err(metric_not_found("pods", metric, Some(name))),
            }
        }
        None => {
            let selectors = Selectors::parse(params)?;
            let pods = objects::list(state, pods_kind, Some(namespace), &selectors).await?;
            if labels_match {
                items.extend(pods.iter().filter_map(|pod| {
                    let usage = state.metrics.pod(namespace, &pod.name, RESOURCE_WINDOW)?;
                    value(&usage, metric, &pod.name)
                }));
            }
        }
    }
    let list = MetricValueList {
        kind: "MetricValueList",
        api_version: API_VERSION,
        metadata: Empty {},
        items,
    };
    let body = serde_json::to_vec(&list).map_err(ApiError::internal)?;
    Ok((StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response())
}

const API_VERSION: &str = "custom.metrics.k8s.io/v1beta2";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricValueList {
    kind: &'static str,
    api_version: &'static str,
    metadata: Empty,
    items: Vec<MetricValue>,
}

/// Serializes as `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricValue {
    described_object: DescribedObject,
    metric: MetricIdentifier,
    timestamp: String,
    window_seconds: u64,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribedObject {
    kind: &'static str,
    namespace: String,
    name: String,
    api_version: &'static str,
}

#[derive(Serialize)]
struct MetricIdentifier {
    name: &'static str,
}

/// `usage`'s value of `metric`; `None` when the pod has no request figures.
fn value(usage: &PodUsage, metric: &str, name: &str) -> Option<MetricValue> {
    let requests = usage.requests?;
    let (metric, figure) = match metric {
        REQUESTS_PER_SECOND => (REQUESTS_PER_SECOND, requests.per_second),
        REQUESTS_IN_FLIGHT => (REQUESTS_IN_FLIGHT, requests.concurrency),
        _ => return None,
    };
    Some(MetricValue {
        described_object: DescribedObject {
            kind: "Pod",
            namespace: usage.namespace.clone(),
            name: name.to_string(),
            api_version: "v1",
        },
        metric: MetricIdentifier { name: metric },
        timestamp: skiff_model::time::rfc3339(usage.timestamp),
        window_seconds: usage.window.as_secs_f64().round().max(1.0) as u64,
        value: milli(figure),
    })
}

/// The adapters' 404 for a metric they do not have (for one object when `name`).
fn metric_not_found(resource: &str, metric: &str, name: Option<&str>) -> ApiError {
    debug_assert_eq!(
        (CUSTOM_GROUP, CUSTOM_VERSION),
        ("custom.metrics.k8s.io", "v1beta2")
    );
    let mut message = format!("the server could not find the metric {metric} for {resource}");
    if let Some(name) = name {
        message.push(' ');
        message.push_str(name);
    }
    ApiError {
        code: StatusCode::NOT_FOUND,
        reason: "NotFound",
        message,
        details: None,
    }
}
