//! The node's endpoint: the agent's HTTP server for the subset of the kubelet API the
//! control plane calls, and the data plane's end of the hop between agents. It sits on
//! top of both the agent's HTTP serving ([`http_server`](crate::http_server)) and the
//! [`DataPlane`].
//!
//! Routes: `GET /containerLogs/{namespace}/{pod}/{container}` ([`logs`]) and
//! `GET /healthz`. Errors are Kubernetes `Status` bodies ([`status`]). With a data plane
//! ([`serve_with_dataplane`]), requests a peer forwarded (they carry
//! [`FORWARD_TO`](crate::dataplane::FORWARD_TO)) go to its pods before any route, and
//! `GET /metrics` answers its metrics ([`metrics`]). With the node's stats as well
//! ([`serve_node`], what the agent runs), `/metrics` adds the resource series,
//! `GET /metrics/resource` serves them alone, and `GET /stats/stream` streams the node's
//! reports ([`stats_stream`]). [`serve`] runs the routes alone on a listener until
//! shutdown; [`router`] lets tests use them without one.

pub mod logs;
pub mod metrics;
pub mod stats_stream;
pub mod status;

use crate::dataplane::{DataPlane, ProxyBody};
use crate::http_server::{self, DRAIN_TIMEOUT};
use crate::logs::LogRegistry;
use crate::stats::NodeStats;
use axum::Router;
use axum::routing::get;
use http::Request;
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
    serve_endpoint(listener, logs, None, None, shutdown).await
}

/// [`serve`], and the data plane's requests: those forwarded by peers, and `/metrics`.
pub async fn serve_with_dataplane(
    listener: TcpListener,
    logs: LogRegistry,
    dataplane: Arc<DataPlane>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_endpoint(listener, logs, Some(dataplane), None, shutdown).await
}

/// [`serve_with_dataplane`] over the data plane of `stats` (if it has one), and the
/// node's resource figures: `/metrics/resource` and the stats stream.
pub async fn serve_node(
    listener: TcpListener,
    logs: LogRegistry,
    stats: NodeStats,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let dataplane = stats.dataplane.clone();
    serve_endpoint(listener, logs, dataplane, Some(stats), shutdown).await
}

/// The body of the endpoint's answers: a route's, or the data plane's.
type EndpointBody = Either<axum::body::Body, ProxyBody>;

async fn serve_endpoint(
    listener: TcpListener,
    logs: LogRegistry,
    dataplane: Option<Arc<DataPlane>>,
    stats: Option<NodeStats>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let routes = TowerToHyperService::new(router(logs.clone()));
    let node = Arc::new(Node {
        dataplane,
        stats,
        shutdown: shutdown.clone(),
    });
    let service = service_fn(move |request: Request<Incoming>| {
        let routes = routes.clone();
        let node = node.clone();
        async move { Ok::<_, Infallible>(dispatch(&routes, &node, request).await) }
    });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        logs.stop_following();
    });
    http_server::serve(listener, service, shutdown, DRAIN_TIMEOUT).await;
    Ok(())
}

/// What the endpoint serves besides its routes.
struct Node {
    dataplane: Option<Arc<DataPlane>>,
    stats: Option<NodeStats>,
    /// Ends the stats streams when the agent shuts down.
    shutdown: CancellationToken,
}

async fn dispatch(
    routes: &TowerToHyperService<Router>,
    node: &Node,
    request: Request<Incoming>,
) -> http::Response<EndpointBody> {
    let dataplane = node.dataplane.as_deref();
    if let Some(dataplane) = dataplane
        && DataPlane::is_forwarded(&request)
    {
        return dataplane.serve_forwarded(request).await.map(Either::Right);
    }
    let (method, path) = (request.method(), request.uri().path());
    if path == "/metrics" && (dataplane.is_some() || node.stats.is_some()) {
        return metrics::all(dataplane, node.stats.as_ref(), method).map(Either::Left);
    }
    if let Some(stats) = &node.stats {
        if path == metrics::RESOURCE_PATH {
            return metrics::resource(stats, method).map(Either::Left);
        }
        if path == skiff_model::stats::STREAM_PATH {
            let response = stats_stream::serve(stats, method, request.uri(), &node.shutdown);
            return response.map(Either::Left);
        }
    }
    match routes.call(request).await {
        Ok(response) => response.map(Either::Left),
        Err(never) => match never {},
    }
}

async fn healthz() -> &'static str {
    "ok"
}
