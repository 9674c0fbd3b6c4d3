//! In-process tests of the API router (`Router::oneshot`, a `MemoryStore` behind it): the
//! bad-input barrage — thousands of random and mutated bodies at every endpoint, never a
//! 5xx, never a panic, every error a `Status`, the store consistent afterwards — and the
//! log relay, the wasm module store, watches, paginated lists, the metrics APIs, the
//! max-in-flight limits, what the in-process components may do under their own
//! identities, and the API over TLS.

mod barrage;
mod identities;
mod log;
mod metrics;
mod modules;
mod overload;
mod pages;
mod tls;
mod watch;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use std::sync::Arc;
use tower::ServiceExt;

/// A router over a fresh in-memory store with the system namespaces.
pub async fn router() -> (Router, ApiState) {
    let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    (apiserver::router::router(state.clone()), state)
}

/// A state over a fresh in-memory store that authenticates (no tokens) and authorizes
/// with RBAC under the default policy, as `skiff server` does; RBAC follows the store
/// until `shutdown`.
pub async fn secure_state(shutdown: &tokio_util::sync::CancellationToken) -> ApiState {
    let mut state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
    let authenticator = skiff_controlplane::authn::Authenticator::new(None, None);
    skiff_controlplane::bootstrap::secure(&mut state, authenticator, shutdown.clone())
        .await
        .expect("a secured state");
    state
}

/// Sends one request; returns the status and the body (parsed as JSON when it is JSON).
pub async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Option<Value>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        response.into_body().collect(),
    )
    .await
    .expect("the body ends")
    .expect("body")
    .to_bytes();
    (status, serde_json::from_slice(&bytes).ok())
}
