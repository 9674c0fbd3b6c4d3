//! [`ProxyBody`]: the one body type of the data plane, for requests and responses alike —
//! a socket's incoming body, a guest's body, buffered bytes — without boxing what is not
//! boxed already. A response body can carry the endpoint's [`Load`] and the pod's
//! [`Delivery`], so the request counts as outstanding until its body has been passed on in
//! full (or dropped).

use super::stats::{Delivery, Load};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use skiff_runtime::http::outbound::{HttpError, WasiBody};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request or response body on its way through the data plane.
pub struct ProxyBody {
    kind: Kind,
    _load: Option<Load>,
    _delivery: Option<Delivery>,
}

enum Kind {
    /// Bytes in memory (empty when taken).
    Full(Option<Bytes>),
    /// From a socket.
    Incoming(Incoming),
    /// From a guest (or anything else already boxed).
    Boxed(WasiBody),
}

impl ProxyBody {
    /// No bytes.
    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// These bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self::of(Kind::Full((!bytes.is_empty()).then_some(bytes)))
    }

    /// A body read from a socket.
    pub fn incoming(body: Incoming) -> Self {
        Self::of(Kind::Incoming(body))
    }

    /// A boxed body (a guest's).
    pub fn boxed(body: WasiBody) -> Self {
        Self::of(Kind::Boxed(body))
    }

    fn of(kind: Kind) -> Self {
        Self {
            kind,
            _load: None,
            _delivery: None,
        }
    }

    /// The same body, counting `load` outstanding until it ends or is dropped.
    pub(crate) fn with_load(mut self, load: Load) -> Self {
        self._load = Some(load);
        self
    }

    /// The same body, counting `delivery` outstanding at its pod until it ends or is
    /// dropped.
    pub(crate) fn with_delivery(mut self, delivery: Delivery) -> Self {
        self._delivery = Some(delivery);
        self
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        let polled = match &mut this.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Incoming(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|f| f.map_err(HttpError::from))),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        };
        if let Poll::Ready(None) = polled {
            // Ended: the request is no longer outstanding, even if the body is kept.
            this._load = None;
            this._delivery = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Incoming(body) => body.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Incoming(body) => body.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

/// A plain-text answer.
pub(crate) fn text(status: StatusCode, body: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl std::fmt::Debug for ProxyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Full(_) => "full",
            Kind::Incoming(_) => "incoming",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_struct("ProxyBody").field("kind", &kind).finish()
    }
}
