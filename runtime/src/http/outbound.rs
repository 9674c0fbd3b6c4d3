//! [`Outbound`]: the policy for HTTP requests a guest sends through
//! `wasi:http/outgoing-handler`. Deny by default: a guest reaches no host unless its
//! owner grants it, by host name ([`Outbound::allow_hosts`]) or by handing every request
//! to an [`OutboundRoute`] that decides and carries it (the node agent routes in-cluster
//! Service names that way, and enforces the pod's allow-list).

use std::pin::Pin;
use std::sync::Arc;
use wasmtime_wasi_http::WasiHttpHooks;

pub use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// A response to an outgoing request, or why there is none. A denial is
/// `Err(HttpError::HttpRequestDenied)`, which the guest sees as `HTTP-request-denied`.
pub type SendFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, HttpError>> + Send + 'static>>;

/// Decides and carries a guest's outgoing requests.
pub trait OutboundRoute: Send + Sync + 'static {
    /// Sends `request` (or refuses it) and resolves to the response head; the body streams.
    fn send(&self, request: http::Request<WasiBody>, options: Option<RequestOptions>)
    -> SendFuture;
}

/// Sends a request straight to its host over the network (what an allowed external host
/// gets), with wasmtime's own client.
pub fn send_direct(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendFuture {
    Box::pin(async move {
        use http_body_util::BodyExt;
        let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
        // The connection task must run for the body to stream; it ends with the body.
        tokio::spawn(async move {
            if let Err(e) = io.await {
                tracing::debug!(error = %e, "outgoing connection ended with an error");
            }
        });
        Ok(response.map(BodyExt::boxed_unsync))
    })
}

/// Which outgoing requests a guest may make.
#[derive(Clone, Default)]
pub struct Outbound {
    /// Hosts (authority without port, lowercase) the guest may call directly.
    allowed_hosts: Vec<String>,
    /// When set, decides every request instead of `allowed_hosts`.
    route: Option<Arc<dyn OutboundRoute>>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("routed", &self.route.is_some())
            .finish()
    }
}

impl Outbound {
    /// Denies every outgoing request.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// Allows requests to exactly these hosts.
    pub fn allow_hosts(hosts: impl IntoIterator<Item = String>) -> Self {
        Self {
            allowed_hosts: hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            route: None,
        }
    }

    /// Hands every request to `route`.
    pub fn routed(route: Arc<dyn OutboundRoute>) -> Self {
        Self {
            allowed_hosts: Vec::new(),
            route: Some(route),
        }
    }

    fn allows(&self, request: &http::Request<WasiBody>) -> bool {
        request.uri().host().is_some_and(|host| {
            self.allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host))
        })
    }
}

type ErrorFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: ErrorFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, ErrorFuture), HttpError>> + Send>
    {
        let _ = fut;
        let sending = match &self.route {
            Some(route) => route.send(request, options),
            None if self.allows(&request) => send_direct(request, options),
            None => {
                tracing::debug!(uri = %request.uri(), "outgoing request denied");
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        Box::new(async move {
            let response = sending.await?;
            Ok((response, Box::new(async { Ok(()) }) as ErrorFuture))
        })
    }
}
