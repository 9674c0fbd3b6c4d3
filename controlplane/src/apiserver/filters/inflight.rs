//! Max-in-flight: how many requests the server works on at once, as kube-apiserver's
//! `--max-requests-inflight` (400) and `--max-mutating-requests-inflight` (200) bound it.
//!
//! Reads (GET, HEAD, OPTIONS) and writes (every other method) each have their own seats.
//! A request that finds every seat of its kind taken waits in a short queue — at most as
//! many waiters as seats, for at most [`QUEUE_WAIT`], as API Priority and Fairness queues
//! rather than refusing at once — and is otherwise answered `429 Too Many Requests` with
//! `Retry-After: 1` and a `TooManyRequests` `Status`, which clients (client-go, kube-rs
//! users, the agent) retry after that second. Memory stays bounded under overload: the
//! server never holds more than seats plus waiters.
//!
//! Not limited, as in Kubernetes: long-running requests (watches, and the `log`, `exec`,
//! `attach`, `portforward` and `proxy` subresources), which hold a connection rather than
//! work, and the health endpoints (APF's exempt `probes` flow). The control plane's own
//! controllers write in process and never pass here (Kubernetes' loopback client is
//! likewise exempt). A limit of 0 means no limit.

use crate::apiserver::error::ApiError;
use crate::apiserver::request::query::is_true;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Kubernetes' default `--max-requests-inflight`.
pub const DEFAULT_READS: usize = 400;

/// Kubernetes' default `--max-mutating-requests-inflight`.
pub const DEFAULT_WRITES: usize = 200;

/// Longest a request waits for a seat before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// What a refused request is told to wait, in seconds (Kubernetes says 1).
const RETRY_AFTER_SECONDS: u64 = 1;

/// The seats of one kind of request and the queue in front of them.
struct Seats {
    /// `None`: unlimited.
    seats: Option<Arc<Semaphore>>,
    /// How many seats there are; as many requests may wait for one.
    limit: usize,
    /// Requests waiting for a seat now.
    waiting: AtomicUsize,
}

impl Seats {
    fn new(limit: usize) -> Self {
        Self {
            seats: (limit > 0).then(|| Arc::new(Semaphore::new(limit))),
            limit,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Seats taken now (0 when unlimited: nothing is counted).
    fn taken(&self) -> usize {
        self.seats
            .as_ref()
            .map_or(0, |seats| self.limit - seats.available_permits())
    }

    /// A seat, after waiting in the queue if need be; `Err` when the queue is full or the
    /// wait ran out. `Ok(None)` when unlimited.
    async fn take(&self) -> Result<Option<OwnedSemaphorePermit>, ()> {
        let Some(seats) = &self.seats else {
            return Ok(None);
        };
        if let Ok(permit) = seats.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(());
        }
        let permit = tokio::time::timeout(QUEUE_WAIT, seats.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(()),
        }
    }
}

/// The server's read and write seats. Cheap to share.
pub struct InFlight {
    reads: Seats,
    writes: Seats,
}

impl InFlight {
    /// Limits of `reads` and `writes` at once (0: unlimited).
    pub fn new(reads: usize, writes: usize) -> Self {
        Self {
            reads: Seats::new(reads),
            writes: Seats::new(writes),
        }
    }

    /// Requests holding a seat now: (reads, writes), as Kubernetes'
    /// `apiserver_current_inflight_requests` counts them.
    pub fn current(&self) -> (usize, usize) {
        (self.reads.taken(), self.writes.taken())
    }
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new(DEFAULT_READS, DEFAULT_WRITES)
    }
}

/// Holds a seat of the request's kind for as long as the handler works on it.
pub async fn limit(
    State(inflight): State<Arc<InFlight>>,
    request: Request,
    next: Next,
) -> Response {
    if exempt(&request) {
        return next.run(request).await;
    }
    let seats = match *request.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => &inflight.reads,
        _ => &inflight.writes,
    };
    match seats.take().await {
        Ok(_seat) => next.run(request).await,
        Err(()) => {
            tracing::debug!(method = %request.method(), uri = %request.uri(), "too many requests in flight; refused");
            too_many_requests()
        }
    }
}

/// The answer to a request refused for want of a seat.
fn too_many_requests() -> Response {
    let mut response = ApiError::too_many_requests(RETRY_AFTER_SECONDS).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// Long-running requests and health checks, which take no seat.
fn exempt(request: &Request) -> bool {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/livez" | "/readyz") {
        return true;
    }
    let watch = request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.strip_prefix("watch=").is_some_and(is_true))
    });
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    // What follows `/api/v1` or `/apis/GROUP/VERSION`.
    let rest: Vec<&str> = match segments.next() {
        Some("api") => segments.skip(1).collect(),
        Some("apis") => segments.skip(2).collect(),
        _ => Vec::new(),
    };
    // The legacy verb form: `/api/v1/watch/...`, `/api/v1/proxy/...`.
    let long_verb = matches!(rest.first(), Some(&("watch" | "proxy")));
    // The subresource: `namespaces/NS/RESOURCE/NAME/SUB` or `RESOURCE/NAME/SUB` (by
    // position, so that an object or a namespace named `log` or `proxy` is not one).
    let subresource = if rest.first() == Some(&"namespaces") && rest.len() >= 4 {
        rest.get(4)
    } else {
        rest.get(2)
    };
    let long_subresource = matches!(
        subresource,
        Some(&("log" | "exec" | "attach" | "portforward" | "proxy"))
    );
    watch || long_verb || long_subresource
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    #[test]
    fn long_running_requests_and_probes_take_no_seat() {
        for uri in [
            "/api/v1/namespaces/default/pods?watch=true&resourceVersion=5",
            "/api/v1/watch/namespaces/default/pods",
            "/apis/apps/v1/watch/deployments",
            "/api/v1/namespaces/default/pods/web/log?follow=true",
            "/api/v1/namespaces/default/pods/web/exec",
            "/api/v1/namespaces/default/services/web/proxy/path",
            "/api/v1/nodes/node-a/proxy/metrics",
            "/healthz",
            "/readyz",
        ] {
            assert!(exempt(&request(Method::GET, uri)), "{uri}");
        }
        for uri in [
            "/api/v1/namespaces/default/pods",
            "/api/v1/namespaces/default/pods/watch",
            "/apis/apps/v1/namespaces/default/deployments/logs",
            "/api/v1/namespaces/default/pods/web/status",
            "/api/v1/namespaces/default/configmaps/log",
            "/api/v1/namespaces/proxy/configmaps/settings",
            "/api/v1/namespaces/log",
            "/version",
        ] {
            assert!(!exempt(&request(Method::GET, uri)), "{uri}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_freed_seat_is_taken() {
        let seats = Seats::new(1);
        let held = seats.take().await.expect("first seat");
        // One may wait; it gets the seat when it is freed.
        let waiter = async { seats.take().await.map(|seat| seat.is_some()) };
        let third = async {
            // The second request is queued by now: the queue (one) is full.
            tokio::task::yield_now().await;
            let refused = seats.take().await.is_err();
            drop(held);
            refused
        };
        let (waited, refused) = tokio::join!(waiter, third);
        assert!(refused, "a request beyond seats and queue is refused");
        assert_eq!(waited, Ok(true), "the queued request got the freed seat");
    }

    #[tokio::test]
    async fn a_queued_request_gives_up_after_the_wait() {
        let seats = Seats::new(1);
        let _held = seats.take().await.expect("first seat");
        assert!(seats.take().await.is_err());
        assert_eq!(seats.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn no_limit_means_no_seats() {
        let seats = Seats::new(0);
        assert!(matches!(seats.take().await, Ok(None)));
    }
}
