//! `GET /stats/stream?intervalMillis=N`: the node's reports as newline-separated JSON
//! ([`stats::stream`](crate::stats::stream)), for the control plane's metrics collector.
//! A bad interval is a 400 `Status`.

use super::status::Status;
use crate::stats::NodeStats;
use crate::stats::stream::{interval, reports};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http::{Method, Uri, header};
use skiff_model::stats::CONTENT_TYPE;
use tokio_util::sync::CancellationToken;

/// Answers a request for the stream.
pub fn serve(
    stats: &NodeStats,
    method: &Method,
    uri: &Uri,
    shutdown: &CancellationToken,
) -> Response {
    if method != Method::GET {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let every = match interval(uri.query()) {
        Ok(every) => every,
        Err(e) => return Status::bad_request(e.to_string()).into_response(),
    };
    let body = Body::from_stream(reports(stats.clone(), every, shutdown.clone()));
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
