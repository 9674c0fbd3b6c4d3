//! Authentication: the filter that establishes who sent a request, with the server's
//! [`Authenticator`] — the connection's client certificate ([`Peer`]), then the
//! `Authorization: Bearer` token — before anything else looks at it.
//!
//! The identity goes on as a request extension ([`UserInfo`]) for authorization and the
//! handlers that answer about the caller (`kubectl auth whoami`, `can-i`); the
//! `Authorization` header does not go on (no handler needs the credential itself).
//! Credentials that fail are a `401 Unauthorized` `Status` saying nothing more; the reason
//! is logged with the caller's address.

use crate::apiserver::error::ApiError;
use crate::apiserver::listener::{ClientCert, Peer};
use crate::authn::{Authenticator, UserInfo};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Authenticates a request, then runs the rest of the chain with its [`UserInfo`].
pub async fn authenticate(
    State(authenticator): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.clone());
    let cert = peer.as_ref().map_or(ClientCert::None, |p| p.cert.clone());
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("(not text)").to_string());
    match authenticator
        .authenticate(&cert, authorization.as_deref())
        .await
    {
        Ok(user) => {
            request.headers_mut().remove(AUTHORIZATION);
            request.extensions_mut().insert(Arc::new(user));
            next.run(request).await
        }
        Err(reason) => {
            let remote = peer.map(|p| p.remote.to_string()).unwrap_or_default();
            tracing::info!(%remote, path = %request.uri().path(), %reason, "unauthorized request");
            ApiError::unauthorized().into_response()
        }
    }
}

/// The user a request was authenticated as (anonymous if no authentication ran).
pub fn user_of(request: &Request) -> Arc<UserInfo> {
    request
        .extensions()
        .get::<Arc<UserInfo>>()
        .cloned()
        .unwrap_or_else(|| Arc::new(UserInfo::anonymous()))
}
