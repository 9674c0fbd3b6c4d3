//! The metrics APIs, served beside the stored resources as an aggregated API server would
//! serve them: `metrics.k8s.io/v1beta1` (what metrics-server serves: `kubectl top`, the
//! HPA's resource metrics) and `custom.metrics.k8s.io/v1beta2` (what a custom metrics
//! adapter serves: the HPA's pods metrics), both read from the live
//! [`Collector`](crate::metrics::Collector), never from the store's history.
//!
//! Answers are JSON whatever the `Accept` header prefers (`kubectl top` asks for protobuf
//! first, and takes JSON), or a `Table` for `kubectl get` of the resource metrics. Only
//! `GET` is served.
//!
//! Parts: [`dispatch`] (this file: which paths are the metrics APIs', their discovery),
//! [`groups`] (the groups and their discovery documents), [`resource`] (`NodeMetrics`,
//! `PodMetrics`), [`table`] (them as a `Table`), [`custom`] (`MetricValueList`s), [`objects`] (the pods and nodes the
//! figures are for, and the selectors), [`format`] (quantities and durations as
//! Kubernetes prints them).

pub mod custom;
pub mod format;
pub mod groups;
pub mod objects;
pub mod resource;
pub mod table;

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// Answers `path` when it is under one of the metrics groups; `None` when it is not.
pub async fn dispatch(
    state: &ApiState,
    method: &Method,
    path: &str,
    params: &HashMap<String, String>,
    accept: Option<&str>,
) -> Option<ApiResult<Response>> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["apis", group, rest @ ..] = segments.as_slice() else {
        return None;
    };
    let version = groups::version_of(group)?;
    if method != Method::GET {
        return Some(Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )));
    }
    Some(match rest {
        [] => groups::api_group(group)
            .map(|g| Json(g).into_response())
            .ok_or_else(|| ApiError::no_route(path)),
        [v] if *v == version => groups::resource_list(group, version)
            .map(|l| Json(l).into_response())
            .ok_or_else(|| ApiError::no_route(path)),
        [v, rest @ ..] if *v == version && *group == groups::RESOURCE_GROUP => {
            resource::handle(state, rest, params, path, accept).await
        }
        [v, rest @ ..] if *v == version => custom::handle(state, rest, params, path).await,
        _ => Err(ApiError::no_route(path)),
    })
}
