//! `GET /metrics` and `GET /metrics/resource`: the node's Prometheus series. `/metrics`
//! has the data plane's request series and the resource series; `/metrics/resource`
//! only the resource series, as the kubelet's does
//! ([`stats::prometheus`](crate::stats::prometheus)).

use crate::dataplane::{DataPlane, METRICS_CONTENT_TYPE};
use crate::stats::{NodeStats, prometheus};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http::{Method, header};

/// The path of the resource series alone.
pub const RESOURCE_PATH: &str = "/metrics/resource";

/// `/metrics`: whatever of the data plane's and the resource series this node has.
pub fn all(dataplane: Option<&DataPlane>, stats: Option<&NodeStats>, method: &Method) -> Response {
    if let Some(refused) = refuse(method) {
        return refused;
    }
    let mut text = dataplane.map(DataPlane::metrics).unwrap_or_default();
    if let Some(stats) = stats {
        text.push_str(&prometheus::render(&stats.usage.snapshot()));
    }
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

/// `/metrics/resource`: the resource series alone.
pub fn resource(stats: &NodeStats, method: &Method) -> Response {
    if let Some(refused) = refuse(method) {
        return refused;
    }
    let text = prometheus::render(&stats.usage.snapshot());
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

fn refuse(method: &Method) -> Option<Response> {
    (method != Method::GET && method != Method::HEAD)
        .then(|| StatusCode::METHOD_NOT_ALLOWED.into_response())
}
