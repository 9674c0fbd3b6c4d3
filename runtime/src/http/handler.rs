//! [`HttpHandler`]: serves HTTP requests with a `wasi:http/proxy` component, a fresh
//! instance from the template per request (the `wasmtime serve` model), at most
//! `max_concurrency` at once with a bounded queue behind them; [`HttpConfig`] says how,
//! and which [`Usage`] the instances' CPU time and memory count towards.

use super::outbound::Outbound;
use crate::engine::SharedEngine;
use crate::error::{Error, Result};
use crate::guard::{Guard, guarded_store};
use crate::limits::Limits;
use crate::log::LogStream;
use crate::log::stream::LogOutput;
use crate::module::{Module, Template};
use crate::store_data::{HttpState, bounded_table};
use crate::usage::{Usage, metered};
use crate::wasi::{Output, Preopen, add_preopens};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Requests served at once by default — as many as `wasmtime serve` allows.
pub const DEFAULT_MAX_CONCURRENCY: usize = 1000;

/// Requests allowed to wait for a free slot by default before new ones get 503.
pub const DEFAULT_MAX_QUEUE: usize = 1000;

/// How a handler serves requests.
#[derive(Clone, Default)]
pub struct HttpConfig {
    /// Requests executing at once; `0` means [`DEFAULT_MAX_CONCURRENCY`].
    pub max_concurrency: usize,
    /// Requests waiting for a slot; `None` means [`DEFAULT_MAX_QUEUE`].
    pub max_queue: Option<usize>,
    /// Environment of every instance.
    pub env: Vec<(String, String)>,
    /// Directories every instance sees (each request opens them afresh, so a directory
    /// whose contents are swapped, like a refreshed configMap volume, serves the new ones).
    pub preopens: Vec<Preopen>,
    /// Where guests' stdout and stderr go.
    pub output: Output,
    /// Limits of each request's instance; `deadline` is the request timeout (504).
    pub limits: Limits,
    /// Which outgoing requests guests may make (none by default).
    pub outbound: Outbound,
    /// Where the CPU time and memory of every request's instance are counted (a fresh
    /// meter by default).
    pub usage: Arc<Usage>,
}

/// Serves requests with one HTTP component. Cheap to clone.
#[derive(Clone)]
pub struct HttpHandler {
    inner: Arc<Inner>,
}

struct Inner {
    engine: SharedEngine,
    pre: ProxyPre<HttpState>,
    config: HttpConfig,
    slots: Arc<Semaphore>,
    concurrency: usize,
    max_waiting: usize,
    waiting: AtomicUsize,
    outputs: Option<(LogOutput, LogOutput)>,
    /// Cancelled by [`HttpHandler::abort`].
    aborted: CancellationToken,
    /// Woken whenever a request leaves its slot or the queue (see [`HttpHandler::idle`]).
    left: Arc<Notify>,
}

/// A request's place in the queue, given up when dropped — also when the request is
/// abandoned while it waits.
struct QueuePlace {
    inner: Arc<Inner>,
}

impl Drop for QueuePlace {
    fn drop(&mut self) {
        self.inner.waiting.fetch_sub(1, Ordering::AcqRel);
        self.inner.left.notify_waiters();
    }
}

/// The body of responses from a handler.
pub type Body = HyperOutgoingBody;

impl HttpHandler {
    pub(crate) fn new(engine: &SharedEngine, module: &Module, config: HttpConfig) -> Result<Self> {
        let Template::Http(pre) = &module.inner.template else {
            return Err(Error::WrongKind {
                module: module.digest().to_string(),
                actual: module.kind(),
                expected: "wasi:http/proxy component",
            });
        };
        engine.check_limits(&config.limits)?;
        // Fail at build time, not on every request, when a directory cannot be opened.
        add_preopens(&mut WasiCtxBuilder::new(), &config.preopens)?;
        let concurrency = match config.max_concurrency {
            0 => DEFAULT_MAX_CONCURRENCY,
            n => n,
        };
        let outputs = match &config.output {
            Output::Log(log) => Some((
                LogOutput::new(log.clone(), LogStream::Stdout),
                LogOutput::new(log.clone(), LogStream::Stderr),
            )),
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                engine: engine.clone(),
                pre: pre.clone(),
                max_waiting: config.max_queue.unwrap_or(DEFAULT_MAX_QUEUE),
                config,
                slots: Arc::new(Semaphore::new(concurrency)),
                concurrency,
                waiting: AtomicUsize::new(0),
                outputs,
                aborted: CancellationToken::new(),
                left: Arc::new(Notify::new()),
            }),
        })
    }

    /// Requests currently executing.
    pub fn in_flight(&self) -> usize {
        self.inner.concurrency - self.inner.slots.available_permits()
    }

    /// Requests waiting for a free slot.
    pub fn queued(&self) -> usize {
        self.inner.waiting.load(Ordering::Acquire)
    }

    /// Resolves once no request is executing or waiting.
    pub async fn idle(&self) {
        loop {
            let left = self.inner.left.notified();
            tokio::pin!(left);
            // Registered before the check, so a request leaving in between still wakes us.
            left.as_mut().enable();
            if self.in_flight() + self.queued() == 0 {
                return;
            }
            left.await;
        }
    }

    /// The most requests executed at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Stops serving at once: requests waiting for a slot and new ones get 503, and the
    /// instances running stop now (their requests get 503 if no response was sent yet).
    /// For a server whose grace period ran out.
    pub fn abort(&self) {
        self.inner.aborted.cancel();
        self.inner.slots.close();
    }

    /// Writes out output lines the guests left without a newline; call once the handler
    /// serves no more requests.
    pub fn finish_output(&self) {
        if let Some((stdout, stderr)) = &self.inner.outputs {
            stdout.finish();
            stderr.finish();
        }
    }

    /// Whether a request would be admitted now: a slot is free or the queue has room.
    pub fn has_room(&self) -> bool {
        let inner = &self.inner;
        !inner.aborted.is_cancelled()
            && (inner.slots.available_permits() > 0
                || inner.waiting.load(Ordering::Acquire) < inner.max_waiting)
    }

    /// Takes a slot for a request, or a place in the queue for one, without taking the
    /// request yet: a caller that is refused still has its request and may take it
    /// elsewhere.
    pub fn admit(&self) -> std::result::Result<Admission, Refusal> {
        let inner = &self.inner;
        if inner.aborted.is_cancelled() {
            return Err(Refusal::Closed);
        }
        if let Ok(permit) = inner.slots.clone().try_acquire_owned() {
            return Ok(Admission {
                handler: self.clone(),
                claim: Claim::Slot(permit),
            });
        }
        let queued = inner.waiting.fetch_add(1, Ordering::AcqRel);
        let place = QueuePlace {
            inner: inner.clone(),
        };
        if queued >= inner.max_waiting {
            return Err(Refusal::Full);
        }
        Ok(Admission {
            handler: self.clone(),
            claim: Claim::Queued(place),
        })
    }

    /// Serves one request. Never fails: guest failures become 500, a full queue 503, an
    /// expired deadline 504, each with a plain-text body saying why.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        match self.admit() {
            Ok(admission) => admission.handle(request).await,
            Err(refusal) => refusal.response(),
        }
    }
}

/// Why a handler did not admit a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is busy and the queue is full.
    Full,
    /// The handler was aborted.
    Closed,
}

impl Refusal {
    /// The 503 a client gets for this refusal.
    pub fn response(self) -> Response<Body> {
        match self {
            Refusal::Full => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many requests in flight; try again\n",
            ),
            Refusal::Closed => plain(StatusCode::SERVICE_UNAVAILABLE, "handler closed\n"),
        }
    }
}

/// A request's claim on a handler ([`HttpHandler::admit`]): a slot, or a place in its
/// queue, given back when dropped unused.
pub struct Admission {
    handler: HttpHandler,
    claim: Claim,
}

enum Claim {
    Slot(OwnedSemaphorePermit),
    Queued(QueuePlace),
}

impl Admission {
    /// Serves `request` in the claimed slot (waiting for one from the queue place); see
    /// [`HttpHandler::handle`].
    pub async fn handle<B>(self, request: Request<B>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let inner = &self.handler.inner;
        let permit = match self.claim {
            Claim::Slot(permit) => permit,
            Claim::Queued(place) => {
                let permit = inner.slots.clone().acquire_owned().await;
                drop(place);
                match permit {
                    Ok(permit) => permit,
                    Err(_) => return Refusal::Closed.response(),
                }
            }
        };

        let mut builder = WasiCtxBuilder::new();
        builder.envs(&inner.config.env);
        if let Err(e) = add_preopens(&mut builder, &inner.config.preopens) {
            return plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n"));
        }
        match (&inner.config.output, &inner.outputs) {
            (Output::Inherit, _) => {
                builder.inherit_stdout().inherit_stderr();
            }
            (_, Some((stdout, stderr))) => {
                builder.stdout(stdout.clone()).stderr(stderr.clone());
            }
            _ => {}
        }
        let mut store = guarded_store(
            inner.engine.engine(),
            HttpState {
                wasi: builder.build(),
                http: WasiHttpCtx::new(),
                table: bounded_table(),
                guard: Guard::new(
                    &inner.config.limits,
                    inner.engine.epoch_tick(),
                    inner.config.usage.clone(),
                ),
                outbound: inner.config.outbound.clone(),
            },
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| {
            let data = store.data_mut();
            let req = wasmtime_wasi_http::WasiHttpView::http(data)
                .new_incoming_request(Scheme::Http, request)?;
            let out = wasmtime_wasi_http::WasiHttpView::http(data).new_response_outparam(sender)?;
            wasmtime::Result::Ok((req, out))
        })();
        let (req, out) = match prepared {
            Ok(pair) => pair,
            Err(e) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    &format!("{}\n", crate::error::one_line(&e)),
                );
            }
        };

        let pre = inner.pre.clone();
        let deadline = inner.config.limits.deadline;
        let aborted = inner.aborted.clone();
        let left = inner.left.clone();
        let usage = inner.config.usage.clone();
        let task = tokio::spawn(async move {
            let run = metered(&usage, async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            });
            let timed = async {
                match deadline {
                    Some(deadline) => match tokio::time::timeout(deadline, run).await {
                        Ok(result) => result.map_err(Failure::Guest),
                        Err(_) => Err(Failure::Deadline(deadline)),
                    },
                    None => run.await.map_err(Failure::Guest),
                }
            };
            let result = tokio::select! {
                biased;
                () = aborted.cancelled() => Err(Failure::Aborted),
                result = timed => result,
            };
            drop(permit);
            left.notify_waiters();
            result
        });

        match receiver.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("guest error: {code:?}\n"),
            ),
            Err(_) => {
                // The guest ended without setting a response; its result says why.
                let (status, why) = match task.await {
                    Ok(Ok(())) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the component returned without sending a response".to_string(),
                    ),
                    Ok(Err(Failure::Deadline(deadline))) => (
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "the request timed out after {}",
                            humantime::format_duration(deadline)
                        ),
                    ),
                    Ok(Err(Failure::Aborted)) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server stopped before the request finished".to_string(),
                    ),
                    Ok(Err(Failure::Guest(e))) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        crate::error::one_line(&e),
                    ),
                    Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                };
                tracing::debug!(%status, error = %why, "request failed in the guest");
                plain(status, &format!("{why}\n"))
            }
        }
    }
}

/// Why a request's instance ended without success.
enum Failure {
    /// The request deadline passed.
    Deadline(std::time::Duration),
    /// The guest trapped or a host call failed.
    Guest(wasmtime::Error),
    /// The handler was aborted.
    Aborted,
}

/// A plain-text response.
fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let body = Full::new(Bytes::copy_from_slice(text.as_bytes()))
        .map_err(|never| -> wasmtime_wasi_http::Error { match never {} })
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
