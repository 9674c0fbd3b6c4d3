//! Authentication: the filter that will establish who sent a request (client certificates,
//! bearer tokens) before it is authorized.
//!
//! No authenticator is configured: [`authenticate`] attaches no identity and passes every
//! request on unchanged. A request that fails authentication is to be answered here with a
//! `401 Unauthorized` `Status`, before authorization.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Authenticates a request, then runs the rest of the chain. Today it lets every request
/// through as it is.
pub async fn authenticate(request: Request, next: Next) -> Response {
    next.run(request).await
}
