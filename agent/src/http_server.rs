//! The agent's HTTP/1.1 serving, below both the node's endpoint and the data plane's
//! Service listeners, which run on it: [`serve`] (keep-alive, `TCP_NODELAY` on every
//! connection, until shutdown; then it stops accepting and gives open connections a drain
//! period to finish the requests they have) and [`DRAIN_TIMEOUT`], the drain period both
//! use.

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open requests may take to finish once shutdown begins. The endpoint's follow
/// streams end at once; this bounds a reader too slow to take its last bytes.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (out of file descriptors and the like: transient).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Serves `service` on `listener` until `shutdown`, then drains for up to `drain`.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: CancellationToken,
    drain: Duration,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Small responses must not wait for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}
