//! Authorization: the filter that will decide whether the authenticated requester may
//! perform the request's verb on its resource (RBAC), after authentication and before
//! admission.
//!
//! No authorizer is configured: [`authorize`] allows every request. A request that is not
//! allowed is to be answered here with a `403 Forbidden` `Status`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Authorizes a request, then runs the rest of the chain. Today it allows every request.
pub async fn authorize(request: Request, next: Next) -> Response {
    next.run(request).await
}
