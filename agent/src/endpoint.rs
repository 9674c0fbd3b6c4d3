//! The agent's HTTP endpoint: the subset of the kubelet API the control plane calls, and
//! the data plane's end of the hop between agents.
//!
//! Routes: `GET /containerLogs/{namespace}/{pod}/{container}` ([`logs`]) and
//! `GET /healthz`. Errors are Kubernetes `Status` bodies ([`Status`]). With a data plane
//! ([`serve_with_dataplane`]), requests a peer forwarded (they carry
//! [`FORWARD_TO`](crate::dataplane::FORWARD_TO)) go to its pods before any route, and
//! `GET /metrics` answers its metrics. [`serve`] runs it all on a listener until shutdown
//! ([`http1`]); [`router`] lets tests use the routes alone.

pub mod http1;
pub mod logs;

use crate::dataplane::{DataPlane, METRICS_CONTENT_TYPE, ProxyBody};
use crate::logs::LogRegistry;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, Request, header};
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open requests may take to finish once shutdown begins. Follow streams end at
/// once; this bounds a reader too slow to take its last bytes.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The agent's routes over `logs`.
pub fn router(logs: LogRegistry) -> Router {
    Router::new()
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(logs::container_logs),
        )
        .route("/healthz", get(healthz))
        .with_state(logs)
}

/// Serves the agent's endpoints on `listener` until `shutdown` is cancelled; then stops
/// accepting, ends follow streams, and gives open requests [`DRAIN_TIMEOUT`] to finish.
pub async fn serve(
    listener: TcpListener,
    logs: LogRegistry,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_endpoint(listener, logs, None, shutdown).await
}

/// [`serve`], and the data plane's requests: those forwarded by peers, and `/metrics`.
pub async fn serve_with_dataplane(
    listener: TcpListener,
    logs: LogRegistry,
    dataplane: Arc<DataPlane>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_endpoint(listener, logs, Some(dataplane), shutdown).await
}

/// The body of the endpoint's answers: a route's, or the data plane's.
type EndpointBody = Either<axum::body::Body, ProxyBody>;

async fn serve_endpoint(
    listener: TcpListener,
    logs: LogRegistry,
    dataplane: Option<Arc<DataPlane>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let routes = TowerToHyperService::new(router(logs.clone()));
    let service = service_fn(move |request: Request<Incoming>| {
        let routes = routes.clone();
        let dataplane = dataplane.clone();
        async move { Ok::<_, Infallible>(dispatch(&routes, dataplane.as_deref(), request).await) }
    });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        logs.stop_following();
    });
    http1::serve(listener, service, shutdown, DRAIN_TIMEOUT).await;
    Ok(())
}

async fn dispatch(
    routes: &TowerToHyperService<Router>,
    dataplane: Option<&DataPlane>,
    request: Request<Incoming>,
) -> http::Response<EndpointBody> {
    if let Some(dataplane) = dataplane {
        if DataPlane::is_forwarded(&request) {
            return dataplane.serve_forwarded(request).await.map(Either::Right);
        }
        if request.uri().path() == "/metrics" {
            return metrics(dataplane, request.method()).map(Either::Left);
        }
    }
    match routes.call(request).await {
        Ok(response) => response.map(Either::Left),
        Err(never) => match never {},
    }
}

fn metrics(dataplane: &DataPlane, method: &Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let text = dataplane.metrics();
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

/// An error answer: a Kubernetes `Status` body with its HTTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The HTTP code.
    pub code: StatusCode,
    /// The `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// What went wrong, for the user.
    pub message: String,
}

impl Status {
    /// 400: a request parameter is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message: message.into(),
        }
    }

    /// 404: what the request names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::NOT_FOUND,
            reason: "NotFound",
            message: message.into(),
        }
    }

    /// 500: the agent failed; the cause is logged here.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut detail = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            detail = format!("{detail}: {inner}");
            source = inner.source();
        }
        tracing::error!(error = %detail, "agent request failed");
        Self {
            code: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "InternalError",
            message: format!("Internal error occurred: {detail}"),
        }
    }
}

impl IntoResponse for Status {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        (self.code, axum::Json(body)).into_response()
    }
}
