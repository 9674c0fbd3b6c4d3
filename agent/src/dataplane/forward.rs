//! The hop between agents. The agent that took a request sends it to the agent of the
//! node its chosen pod runs on, over a pooled keep-alive HTTP/1.1 client with
//! `TCP_NODELAY` ([`Forwarder`]), naming the pod in the [`FORWARD_TO`] header
//! (`namespace/pod/port`). The peer's endpoint hands such requests, before its own routes,
//! to [`serve_forwarded`], which serves them from its local pods only (never forwarding
//! again, so there are no loops). When the pod is not there, or draining, or has no room
//! (every slot and queue place taken), it answers 503 with [`NOT_SERVED`] (valued
//! [`BUSY`] for the last): the request was not processed, and the sender may try another
//! endpoint whatever its method. A request served here is counted in its pod's delivered
//! requests here, once (the sender counts only its own load on the endpoint).

use super::body::{ProxyBody, text};
use super::local::{LocalPods, PodKey};
use super::stats::{self, Delivery, Registry};
use super::table::RouteTable;
use http::header::{CONNECTION, HOST, HeaderName, HeaderValue};
use http::uri::{Authority, Scheme, Uri};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use skiff_runtime::Refusal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The header naming the pod (`namespace/pod/port`) a forwarded request is for.
pub const FORWARD_TO: HeaderName = HeaderName::from_static("skiff-forward-to");

/// The header of a peer's answer meaning "not processed: try another endpoint".
pub const NOT_SERVED: HeaderName = HeaderName::from_static("skiff-not-served");

/// The value of [`NOT_SERVED`] when the pod was there but had no room.
pub const BUSY: HeaderValue = HeaderValue::from_static("busy");

/// How long connecting to a peer may take before another endpoint is tried. Peers are
/// on the cluster's network: a connection takes well under a millisecond, so a second
/// means the peer is gone (its node has not been marked unready yet).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long an idle pooled connection to a peer is kept: long enough to carry a steady
/// trickle of requests without reconnecting, short enough not to hoard sockets.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// TCP keep-alive on peer connections, so a vanished peer's idle connections are found.
pub const DEFAULT_TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Why forwarding failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// No connection: nothing was sent, so any request may go elsewhere.
    #[error("cannot connect to the peer agent")]
    Unreachable(#[source] hyper_util::client::legacy::Error),
    /// The exchange failed after the request may have been sent.
    #[error("the peer agent's connection failed")]
    Failed(#[source] hyper_util::client::legacy::Error),
}

/// Sends requests to peer agents.
#[derive(Clone)]
pub(crate) struct Forwarder {
    client: Client<HttpConnector, ProxyBody>,
}

impl Forwarder {
    /// A client with a connection pool per peer.
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(DEFAULT_CONNECT_TIMEOUT));
        connector.set_keepalive(Some(DEFAULT_TCP_KEEPALIVE));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(DEFAULT_POOL_IDLE_TIMEOUT)
            .build(connector);
        Self { client }
    }

    /// Sends `request` to pod `forward_to` on the peer agent at `peer`.
    pub(crate) async fn send(
        &self,
        peer: &Authority,
        forward_to: &HeaderValue,
        request: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, ForwardError> {
        let (mut parts, body) = request.into_parts();
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        // The pod sees the host it was asked for, not the peer's address.
        if let Some(authority) = &uri.authority
            && !parts.headers.contains_key(HOST)
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            parts.headers.insert(HOST, host);
        }
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(peer.clone());
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        parts.uri = Uri::from_parts(uri).unwrap_or_else(|_| Uri::from_static("/"));
        parts.headers.remove(CONNECTION);
        parts.headers.insert(FORWARD_TO, forward_to.clone());
        self.client
            .request(Request::from_parts(parts, body))
            .await
            .map_err(|e| {
                if e.is_connect() {
                    ForwardError::Unreachable(e)
                } else {
                    ForwardError::Failed(e)
                }
            })
    }
}

/// What serving forwarded requests needs of the data plane.
pub(crate) struct ServeForwarded<'a> {
    /// This node's pods.
    pub(crate) local: &'a LocalPods,
    /// This node's name.
    pub(crate) node: &'a str,
    /// Requests peers forwarded here.
    pub(crate) received: &'a AtomicU64,
    /// The current routing table, for the pods' delivered-request counters.
    pub(crate) table: &'a RouteTable,
    /// Where counters the table does not have yet (it lags the peer's) come from.
    pub(crate) registry: &'a Mutex<Registry>,
}

/// Serves a request a peer forwarded (it carries [`FORWARD_TO`]) from this node's pods.
/// Counts it in `received`, and in its pod's delivered requests when served.
pub(crate) async fn serve_forwarded(
    here: ServeForwarded<'_>,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    let ServeForwarded {
        local,
        node,
        received,
        table,
        registry,
    } = here;
    received.fetch_add(1, Ordering::Relaxed);
    let Some(target) = request.headers_mut().remove(FORWARD_TO) else {
        return text(StatusCode::BAD_REQUEST, format!("no {FORWARD_TO} header\n"));
    };
    let Some((namespace, pod, port)) = parse_target(&target) else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("{FORWARD_TO} must be namespace/pod/port\n"),
        );
    };
    let key = PodKey {
        namespace: namespace.to_string(),
        name: pod.to_string(),
    };
    let Some(handler) = local.handler(&key, port) else {
        let mut response = text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("pod {namespace}/{pod} is not serving port {port} on node {node}\n"),
        );
        response
            .headers_mut()
            .insert(NOT_SERVED, HeaderValue::from_static("1"));
        return response;
    };
    let requests = match table.local_requests(namespace, pod) {
        Some(requests) => requests.clone(),
        None => stats::lock(registry).requests(&(key.namespace, key.name)),
    };
    let admission = match handler.admit() {
        Ok(admission) => admission,
        Err(refusal) => {
            let mut response = refusal.response().map(ProxyBody::boxed);
            let value = match refusal {
                Refusal::Full => BUSY,
                Refusal::Closed => HeaderValue::from_static("1"),
            };
            response.headers_mut().insert(NOT_SERVED, value);
            return response;
        }
    };
    let delivery = Delivery::start(&requests);
    let response = admission.handle(request).await;
    response.map(|b| ProxyBody::boxed(b).with_delivery(delivery))
}

/// `namespace/pod/port`.
fn parse_target(value: &HeaderValue) -> Option<(&str, &str, u16)> {
    let mut parts = value.to_str().ok()?.splitn(3, '/');
    let namespace = parts.next().filter(|s| !s.is_empty())?;
    let pod = parts.next().filter(|s| !s.is_empty())?;
    let port = parts.next()?.parse().ok()?;
    Some((namespace, pod, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let parse = |s: &'static str| {
            parse_target(&HeaderValue::from_static(s))
                .map(|(ns, pod, port)| format!("{ns} {pod} {port}"))
        };
        assert_eq!(
            parse("default/web-1/8080").as_deref(),
            Some("default web-1 8080")
        );
        assert_eq!(parse("default/web-1"), None);
        assert_eq!(parse("/web-1/8080"), None);
        assert_eq!(parse("default/web-1/http"), None);
    }
}
