//! [`Outbound`]: the policy for HTTP requests a guest sends through
//! `wasi:http/outgoing-handler`. Deny by default: a guest reaches no host unless its
//! owner grants it.

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// Which outgoing requests a guest may make.
#[derive(Clone, Debug, Default)]
pub struct Outbound {
    /// Hosts (authority without port, lowercase) the guest may call; empty denies all.
    allowed_hosts: Vec<String>,
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

type ErrorFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: ErrorFuture,
    ) -> Box<
        dyn Future<
                Output = Result<(http::Response<WasiBody>, ErrorFuture), wasmtime_wasi_http::Error>,
            > + Send,
    > {
        if !self.allows(&request) {
            tracing::debug!(uri = %request.uri(), "outgoing request denied");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as ErrorFuture,
            ))
        })
    }
}
