//! Where connections come from, and who is at the other end: [`TlsListener`] accepts TCP
//! connections and finishes their TLS handshakes off the accept path (a slow or silent
//! client holds up only itself, for at most [`HANDSHAKE_TIMEOUT`]); every connection,
//! TLS or plain, carries a [`Peer`] — its address and what its client certificate, if it
//! sent one, proved — which the authentication filter reads from the request's extensions.
//!
//! The certificate chain is judged once per connection, right after the handshake, by the
//! cluster CA's [`ClientVerifier`]: a chain that fails stays on the connection as
//! [`ClientCert::Rejected`], so each of its requests is answered 401 (and the reason
//! logged) instead of the handshake breaking with nothing said.

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use skiff_pki::Subject;
use skiff_pki::tls::ClientVerifier;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections whose handshake finished, waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 1024;

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The remote address.
    pub remote: SocketAddr,
    /// What the client certificate proved.
    pub cert: ClientCert,
}

/// The client certificate of a connection.
#[derive(Debug, Clone)]
pub enum ClientCert {
    /// None was sent (or the connection is not TLS).
    None,
    /// One the cluster CA vouches for, naming this subject.
    Verified(Arc<Subject>),
    /// One the cluster CA does not vouch for, and why (for the log, never the caller).
    Rejected(Arc<str>),
}

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self {
            remote: *stream.remote_addr(),
            cert: ClientCert::None,
        }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections are TLS, handshakes done in their own tasks.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
}

impl TlsListener {
    /// Serves TLS with `config` on `tcp`; client certificates are judged by `verifier`.
    /// Accepting stops when the listener is dropped.
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        verifier: Option<ClientVerifier>,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (sender, accepted) = mpsc::channel(ACCEPTED_BACKLOG);
        tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(config),
            verifier.map(Arc::new),
            sender,
        ));
        Ok(Self { local, accepted })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            // The accept loop only ends with this listener; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            remote: self.local,
            cert: ClientCert::None,
        })
    }
}

/// Accepts connections until the listener is dropped, each handshake in its own task.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    verifier: Option<Arc<ClientVerifier>>,
    sender: mpsc::Sender<(TlsStream<TcpStream>, Peer)>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            () = sender.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin, as axum does.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, verifier, sender) = (acceptor.clone(), verifier.clone(), sender.clone());
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                };
            let cert = judge(&stream, verifier.as_deref());
            let _ = sender.send((stream, Peer { remote, cert })).await;
        });
    }
}

/// What the connection's client certificate proves.
fn judge(stream: &TlsStream<TcpStream>, verifier: Option<&ClientVerifier>) -> ClientCert {
    let (_, connection) = stream.get_ref();
    let (Some(chain), Some(verifier)) = (connection.peer_certificates(), verifier) else {
        return ClientCert::None;
    };
    match verifier.verify(chain) {
        Ok(subject) => ClientCert::Verified(Arc::new(subject)),
        Err(reason) => ClientCert::Rejected(reason.into()),
    }
}
