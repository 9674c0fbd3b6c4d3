//! One request's way to a Service's pod ([`Proxy::route`]): choose an endpoint
//! ([`balancer`](super::balancer)); a pod on this node gets the request through its
//! [`HttpHandler`](skiff_runtime::HttpHandler), a pod elsewhere through its agent
//! ([`forward`](super::forward)). When a choice cannot take the request it goes to
//! another, within bounds:
//!
//! - a local pod that is not (or no longer) serving, and a peer's "not served" answer,
//!   are retried for any method: the request was not processed;
//! - a peer that cannot be connected to is retried for any method: nothing was sent;
//! - a connection that fails after sending is retried only for idempotent methods
//!   (GET, HEAD, OPTIONS, PUT, DELETE, TRACE).
//!
//! A retry resends the request, so only a request whose body is in memory can be
//! retried: bodies of a known length up to [`REPLAY_LIMIT`] are read before the first
//! attempt; longer or unsized bodies stream, with a single attempt at a peer.
//!
//! A local pod whose slots and queue are all taken refuses a request before taking it
//! ([`HttpHandler::admit`](skiff_runtime::HttpHandler::admit)), and a peer's pod answers
//! "not served" for the same reason: the request goes to another endpoint. A request no
//! endpoint took — there were none that serve, or all were busy — comes back untouched
//! ([`Attempt::Untaken`]) and goes to the [`activator`](super::activator), when there is
//! one, which holds it until an endpoint can take it (and the request is tried again) or
//! answers it; without one it gets 503. So the request path does no more work than
//! routing until a request finds no room.

use super::activator::{Activator, Outcome, Shortage};
use super::balancer;
use super::body::{ProxyBody, text};
use super::forward::{BUSY, ForwardError, Forwarder, NOT_SERVED};
use super::local::LocalPods;
use super::stats::{CodeCounts, Delivery, Load};
use super::table::{Endpoint, Place, PortRef, PortRoute};
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body;
use skiff_runtime::Refusal;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Sends to peers per request, first try included: enough to get past a peer or two
/// that just went away, without multiplying the load of a failing Service.
pub const MAX_ATTEMPTS: usize = 3;

/// Endpoints considered per request (local pods that are not serving included), which
/// bounds the work a request can cause while endpoints churn.
pub const MAX_PICKS: usize = 8;

/// Largest request body (of known length) kept in memory so the request can be retried:
/// covers typical API payloads while bounding memory per request.
pub const REPLAY_LIMIT: u64 = 64 * 1024;

/// Carries requests to the endpoints of Services.
pub(crate) struct Proxy {
    local: LocalPods,
    forwarder: Forwarder,
    activator: Option<Activator>,
}

/// Why no endpoint answered.
enum Failure {
    /// There was no ready endpoint, or none could take the request.
    NoEndpoint,
    /// A peer failed; the message says which and why.
    Peer(String),
}

/// What became of a request's attempt at a Service port's endpoints.
enum Attempt<'t> {
    /// It has its answer: an endpoint's response (with the endpoint's answer counts), or
    /// this agent's for a failure.
    Answered(Response<ProxyBody>, Option<&'t CodeCounts>),
    /// No endpoint took it, for this reason; here it is back, not processed anywhere.
    Untaken(Request<ProxyBody>, Shortage),
}

impl Proxy {
    /// A proxy to `local` pods and, through `forwarder`, to peers'; `activator` holds
    /// requests for Service ports without a ready endpoint (without one they get 503).
    pub(crate) fn new(
        local: LocalPods,
        forwarder: Forwarder,
        activator: Option<Activator>,
    ) -> Self {
        Self {
            local,
            forwarder,
            activator,
        }
    }

    /// The activator, if requests are held.
    pub(crate) fn activator(&self) -> Option<&Activator> {
        self.activator.as_ref()
    }

    /// Delivers `request` to an endpoint of `target` and answers with its response, or
    /// with 503 (no endpoint could take it) or 502 (the peer failed) naming the Service —
    /// or what the activator answers. Records the answer in the Service's metrics.
    pub(crate) async fn route(
        &self,
        target: &PortRef,
        request: Request<ProxyBody>,
    ) -> Response<ProxyBody> {
        let started = Instant::now();
        let (mut request, mut shortage) = match self.attempt(target, request).await {
            Attempt::Answered(response, answers) => {
                return record(target, started, response, answers);
            }
            Attempt::Untaken(request, shortage) => (request, shortage),
        };
        let Some(activator) = &self.activator else {
            let response = shortage.response(&target.service.key);
            return record(target, started, response, None);
        };
        let deadline = activator.deadline();
        let can_take = |port: &PortRoute| self.can_take(port);
        loop {
            match activator
                .hold(target, request, shortage, deadline, can_take)
                .await
            {
                Outcome::Answered(response) => return record(target, started, response, None),
                Outcome::Released(to, released) => match self.attempt(&to, released).await {
                    Attempt::Answered(response, answers) => {
                        return record(&to, started, response, answers);
                    }
                    Attempt::Untaken(back, why) => (request, shortage) = (back, why),
                },
            }
        }
    }

    /// Whether some endpoint of `port` may take a request now: a peer's (its agent
    /// answers for it), or a local pod that serves and has room. Endpoints of local pods
    /// that stopped serving stay listed until the EndpointSlice catches up — the moment a
    /// Service goes to zero — and cannot.
    fn can_take(&self, port: &PortRoute) -> bool {
        port.endpoints.iter().any(|endpoint| match &endpoint.place {
            Place::Peer { .. } => true,
            Place::Local => self.local.has_room(&endpoint.pod, endpoint.target_port),
        })
    }

    /// Tries the endpoints of `target` in the balancer's order, within the bounds in the
    /// module docs.
    async fn attempt<'t>(&self, target: &'t PortRef, request: Request<ProxyBody>) -> Attempt<'t> {
        let port = target.port();
        let stats = &target.service.stats;
        let (parts, body) = request.into_parts();
        let idempotent = is_idempotent(&parts.method);
        let Some(mut pending) = Pending::new(parts, body).await else {
            let message = "cannot read the request body\n".to_string();
            return Attempt::Answered(text(StatusCode::BAD_REQUEST, message), None);
        };
        // A request that was not served by its last try can still be held, when there is
        // an activator: keep it whole until then.
        let holdable = self.activator.is_some();
        let mut busy = false;
        let most = port.endpoints.len().min(MAX_PICKS);
        let mut tried = [usize::MAX; MAX_PICKS];
        let mut picks = 0;
        let mut sends = 0;
        let mut failure = Failure::NoEndpoint;
        while picks < most {
            let Some(index) = balancer::pick(port, &tried[..picks]) else {
                break;
            };
            tried[picks] = index;
            picks += 1;
            let endpoint = &port.endpoints[index];
            match &endpoint.place {
                Place::Local => {
                    let Some(handler) = self.local.handler(&endpoint.pod, endpoint.target_port)
                    else {
                        continue; // Not serving (yet, or any more): not processed.
                    };
                    let admission = match handler.admit() {
                        Ok(admission) => admission,
                        Err(refusal) => {
                            busy |= refusal == Refusal::Full;
                            continue; // Not taken: not processed.
                        }
                    };
                    let Some(request) = pending.next(true) else {
                        break;
                    };
                    let load = Load::start(&endpoint.load, stats);
                    let delivery = endpoint.requests.as_ref().map(Delivery::start);
                    let response = admission.handle(request).await;
                    let response = response.map(|b| {
                        let body = ProxyBody::boxed(b).with_load(load);
                        match delivery {
                            Some(delivery) => body.with_delivery(delivery),
                            None => body,
                        }
                    });
                    return Attempt::Answered(response, Some(&endpoint.answers));
                }
                Place::Peer { authority, .. } => {
                    if sends == MAX_ATTEMPTS {
                        break;
                    }
                    let last = !holdable && (sends + 1 == MAX_ATTEMPTS || picks == most);
                    let Some(request) = pending.next(last) else {
                        break;
                    };
                    sends += 1;
                    let load = Load::start(&endpoint.load, stats);
                    if let Some(forwarded) = &endpoint.forwarded {
                        forwarded.fetch_add(1, Ordering::Relaxed);
                    }
                    let sent = self
                        .forwarder
                        .send(authority, &endpoint.forward_to, request)
                        .await;
                    match sent {
                        Ok(response)
                            if response.headers().contains_key(NOT_SERVED)
                                && pending.can_replay() =>
                        {
                            busy |= response.headers().get(NOT_SERVED) == Some(&BUSY);
                            tracing::debug!(pod = ?endpoint.pod, "the peer did not serve the request; trying another endpoint");
                            failure = Failure::NoEndpoint;
                        }
                        Ok(mut response) => {
                            response.headers_mut().remove(NOT_SERVED);
                            let response = response.map(|b| ProxyBody::incoming(b).with_load(load));
                            return Attempt::Answered(response, Some(&endpoint.answers));
                        }
                        Err(error) => {
                            let retry = pending.can_replay()
                                && (idempotent || matches!(error, ForwardError::Unreachable(_)));
                            failure = Failure::Peer(peer_failure(endpoint, &error));
                            if !retry {
                                break;
                            }
                            tracing::debug!(pod = ?endpoint.pod, error = %error, "peer failed; trying another endpoint");
                        }
                    }
                }
            }
        }
        match failure {
            Failure::NoEndpoint => {
                let shortage = if busy {
                    Shortage::Busy
                } else {
                    Shortage::NoEndpoint
                };
                match pending.into_request() {
                    Some(request) => Attempt::Untaken(request, shortage),
                    None => Attempt::Answered(shortage.response(&target.service.key), None),
                }
            }
            Failure::Peer(why) => {
                let service = target.service.display();
                tracing::warn!(service = %service, error = %why, "request to a peer failed");
                let message = format!("service {service}: {why}\n");
                Attempt::Answered(text(StatusCode::BAD_GATEWAY, message), None)
            }
        }
    }
}

/// Records `response`, answered for `target`'s Service after starting at `started`, in
/// the Service's metrics (and in the endpoint's `answers` when one answered).
fn record(
    target: &PortRef,
    started: Instant,
    response: Response<ProxyBody>,
    answers: Option<&CodeCounts>,
) -> Response<ProxyBody> {
    let stats = &target.service.stats;
    stats.durations.observe(started.elapsed());
    let code = response.status().as_u16();
    match answers {
        Some(answers) => answers.add(code),
        None => stats.unrouted.add(code),
    }
    response
}

/// What went wrong with `endpoint`'s peer, for a message.
fn peer_failure(endpoint: &Endpoint, error: &ForwardError) -> String {
    let node = match &endpoint.place {
        Place::Peer { node, .. } => node.as_str(),
        Place::Local => "this node",
    };
    let mut why = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        why = format!("{why}: {inner}");
        source = inner.source();
    }
    format!(
        "pod {}/{} on node {node}: {why}",
        endpoint.pod.namespace, endpoint.pod.name
    )
}

/// Methods a request may be repeated with (RFC 9110 §9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// A request on its way, sent again as long as it can be rebuilt.
struct Pending {
    parts: Option<Parts>,
    body: PendingBody,
}

enum PendingBody {
    /// In memory: every attempt gets a copy.
    Bytes(Bytes),
    /// Streaming: one attempt only.
    Stream(Option<ProxyBody>),
}

impl Pending {
    /// Reads a body of known length up to [`REPLAY_LIMIT`] into memory; `None` when that
    /// fails.
    async fn new(parts: Parts, body: ProxyBody) -> Option<Self> {
        let body = if body.is_end_stream() {
            PendingBody::Bytes(Bytes::new())
        } else if body.size_hint().exact().is_some_and(|n| n <= REPLAY_LIMIT) {
            PendingBody::Bytes(body.collect().await.ok()?.to_bytes())
        } else {
            PendingBody::Stream(Some(body))
        };
        Some(Self {
            parts: Some(parts),
            body,
        })
    }

    /// The request as it came, when no attempt took it (`None` once one did).
    fn into_request(self) -> Option<Request<ProxyBody>> {
        let body = match self.body {
            PendingBody::Bytes(bytes) => ProxyBody::full(bytes),
            PendingBody::Stream(body) => body?,
        };
        Some(Request::from_parts(self.parts?, body))
    }

    /// Whether another attempt can be made after the next.
    fn can_replay(&self) -> bool {
        self.parts.is_some() && matches!(self.body, PendingBody::Bytes(_))
    }

    /// The request for the next attempt (`last`: no further attempt will be made, so the
    /// original is used rather than copied); `None` when it cannot be rebuilt.
    fn next(&mut self, last: bool) -> Option<Request<ProxyBody>> {
        let body = match &mut self.body {
            PendingBody::Bytes(bytes) => ProxyBody::full(bytes.clone()),
            PendingBody::Stream(body) => body.take()?,
        };
        if last || !matches!(self.body, PendingBody::Bytes(_)) {
            return Some(Request::from_parts(self.parts.take()?, body));
        }
        let parts = self.parts.as_ref()?;
        let mut request = Request::new(body);
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        Some(request)
    }
}
