//! The Kubernetes-compatible HTTP API: discovery, OpenAPI, health, and every resource verb
//! kubectl uses, with every error a `Status`.
//!
//! Parts: [`router`] builds the axum router; [`resource`] dispatches resource requests by
//! verb to [`read`], [`write`], [`patch`], [`watch`], [`scale`] and [`log`] (pod logs,
//! relayed from the node's agent); [`path`], [`query`] and
//! [`body`] parse requests ([`protobuf`] decodes kubectl's protobuf bodies); [`admit`] defaults and validates written objects; [`allocate`] gives Services their cluster IPs and nodePorts; [`table`]
//! renders kubectl's tables; [`discovery`] and [`openapi`] describe the API; [`error`] is
//! the `Status` error type; [`state`] holds the store and object access; [`modules`]
//! serves the wasm module store (`/skiff/v1/modules/`).

pub mod admit;
pub mod allocate;
pub mod apply;
pub mod body;
pub mod discovery;
pub mod error;
pub mod log;
pub mod modules;
pub mod openapi;
pub mod patch;
pub mod path;
pub mod protobuf;
pub mod query;
pub mod read;
pub mod resource;
pub mod scale;
pub mod state;
pub mod table;
pub mod watch;
pub mod write;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
pub use state::ApiState;
use std::time::Duration;
use tokio::net::TcpListener;

/// Builds the router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api", get(discovery::api_versions))
        .route("/apis", get(discovery::api_groups))
        .route("/version", get(discovery::version))
        .route("/healthz", get(discovery::healthy))
        .route("/livez", get(discovery::healthy))
        .route("/readyz", get(discovery::healthy))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::v3_index))
        .route(
            modules::ROUTE,
            get(modules::get)
                .head(modules::head)
                .put(modules::put)
                .fallback(modules::method_not_allowed),
        )
        .fallback(resource::handle)
        // Bodies are limited (with a `Status` answer) in `body::read`.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// How long open requests (watches included) may take to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the API on `listener` until `shutdown` resolves, then stops accepting and gives
/// open requests [`DRAIN_TIMEOUT`] to finish.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopped_tx, stopped_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopped_tx.send(true);
    });
    let mut stopped = stopped_rx;
    tokio::select! {
        result = server => result,
        () = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {
            tracing::warn!("requests still open after the drain timeout; closing them");
            Ok(())
        }
    }
}
