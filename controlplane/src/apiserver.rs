//! The Kubernetes-compatible HTTP API: discovery, OpenAPI, health, and every resource verb
//! kubectl uses, with every error a `Status`.
//!
//! A request goes through these parts in order, as through kube-apiserver's handler chain:
//! 1. [`router`] matches the path (discovery, OpenAPI, health, the module store; every
//!    other path falls back to the resource dispatcher);
//! 2. [`filters`] authenticate ([`filters::authentication`]: client certificate, bearer
//!    token, or anonymous) and authorize ([`filters::authorization`]: `system:masters`,
//!    then RBAC) it, and bound the requests in flight ([`filters::inflight`]);
//! 3. [`request`] decodes it: the resource path, the query parameters and the body
//!    ([`codec::protobuf`] decodes kubectl's protobuf bodies);
//! 4. [`handlers`] serve it, one file per verb or subresource, dispatched by
//!    [`handlers::resource`]; writes go through [`admission`] (defaults, unknown fields,
//!    validation, Service IP and port allocation) and [`apply`] (server-side apply);
//! 5. the answer is encoded as JSON, or as one of kubectl's tables ([`codec::table`]).
//!
//! A resource served in several versions is stored in one; [`conversion`] turns objects
//! into and out of the storage version at the edges of that path.
//!
//! Beside the pipeline: [`state`] holds the store and the object access every handler
//! shares, [`lifecycle`] sets the server-owned metadata of written objects (uid, names
//! from `generateName`, timestamps, `generation`, `resourceVersion`), and [`error`] is the
//! error type every part returns, rendered as a `Status`.
//! [`serve`] runs the router on a [`listener`] (TLS, or plain TCP) until shutdown, then
//! drains for [`DRAIN_TIMEOUT`]; each connection carries its [`listener::Peer`].

pub mod admission;
pub mod apply;
pub mod codec;
pub mod conversion;
pub mod error;
pub mod filters;
pub mod handlers;
pub mod lifecycle;
pub mod listener;
pub mod request;
pub mod router;
pub mod state;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use listener::Peer;
pub use state::ApiState;
use std::time::Duration;

/// How long open requests (watches included) may take to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the API on `listener` (a [`tokio::net::TcpListener`] or a
/// [`listener::TlsListener`]) until `shutdown` resolves, then stops accepting and gives
/// open requests [`DRAIN_TIMEOUT`] to finish.
pub async fn serve<L>(
    listener: L,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
    for<'a> Peer: Connected<IncomingStream<'a, L>>,
{
    let (stopped_tx, stopped_rx) = tokio::sync::watch::channel(false);
    let app = router::router(state).into_make_service_with_connect_info::<Peer>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
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
