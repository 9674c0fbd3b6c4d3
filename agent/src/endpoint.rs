//! The node's endpoint: the agent's HTTP server for the subset of the kubelet API the
//! control plane calls, and the data plane's end of the hop between agents. It sits on
//! top of both the agent's HTTP serving ([`http_server`](crate::http_server)) and the
//! [`DataPlane`].
//!
//! Routes: `GET /containerLogs/{namespace}/{pod}/{container}` ([`logs`]) and
//! `GET /healthz`. Errors are Kubernetes `Status` bodies ([`status`]). With a data plane
//! ([`serve_with_dataplane`]), requests a peer forwarded (they carry
//! [`FORWARD_TO`](crate::dataplane::FORWARD_TO)) go to its pods before any route, and
//! `GET /metrics` answers its metrics. [`serve`] runs it all on a listener until shutdown;
//! [`router`] lets tests use the routes alone.

pub mod logs;
pub mod status;

use crate::dataplane::{DataPlane, METRICS_CONTENT_TYPE, ProxyBody};
use crate::http_server::{self, DRAIN_TIMEOUT};
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
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
    http_server::serve(listener, service, shutdown, DRAIN_TIMEOUT).await;
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
