//! The node's Service listeners ([`run`]): one per node port of a NodePort or
//! LoadBalancer Service, and one per port of a LoadBalancer Service (its ingress is the
//! node's address), all on the agent's own listen IP — so several agents on one machine
//! (127.0.0.2, 127.0.0.3, ...) each have their own. They open and close as the routing
//! table changes; a port that cannot be bound (taken, privileged) is retried every
//! [`BIND_RETRY`]. Each request looks its port up in the current table, so endpoint
//! changes need no listener change.

use super::body::{ProxyBody, text};
use super::shared::Core;
use super::table::RouteTable;
use crate::http_server::{self, DRAIN_TIMEOUT};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often a port that could not be bound is tried again.
pub const BIND_RETRY: Duration = Duration::from_secs(5);

/// What a listener exposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exposed {
    /// A node port.
    NodePort(u16),
    /// A LoadBalancer Service's port.
    Balancer(u16),
}

impl Exposed {
    fn port(self) -> u16 {
        match self {
            Exposed::NodePort(port) | Exposed::Balancer(port) => port,
        }
    }
}

/// The ports `table` wants listened on; a node port wins over a LoadBalancer port that
/// is the same number (one socket per address).
fn wanted(table: &RouteTable) -> BTreeMap<u16, Exposed> {
    let (node_ports, balancer_ports) = table.listen_ports();
    let mut wanted: BTreeMap<u16, Exposed> = balancer_ports
        .into_iter()
        .map(|p| (p, Exposed::Balancer(p)))
        .collect();
    wanted.extend(node_ports.into_iter().map(|p| (p, Exposed::NodePort(p))));
    wanted
}

/// Keeps a listener on `ip` open for every port the routing table exposes, until
/// `shutdown`; then stops them all (each drains its open requests).
pub(crate) async fn run(core: Arc<Core>, ip: IpAddr, shutdown: CancellationToken) {
    let mut routes = core.routes.subscribe();
    let mut open: BTreeMap<u16, (Exposed, CancellationToken)> = BTreeMap::new();
    let mut failed: BTreeSet<u16> = BTreeSet::new();
    loop {
        let wanted = wanted(&routes.borrow_and_update().clone());
        open.retain(|port, (exposed, stop)| {
            let keep = wanted.get(port) == Some(exposed);
            if !keep {
                tracing::info!(port, "closing the Service listener");
                stop.cancel();
            }
            keep
        });
        failed.retain(|port| wanted.contains_key(port));
        for (&port, &exposed) in &wanted {
            if open.contains_key(&port) {
                continue;
            }
            let addr = SocketAddr::new(ip, port);
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!(%addr, ?exposed, "listening for a Service");
                    failed.remove(&port);
                    let stop = shutdown.child_token();
                    tokio::spawn(listen(core.clone(), listener, exposed, stop.clone()));
                    open.insert(port, (exposed, stop));
                }
                Err(error) => {
                    if failed.insert(port) {
                        tracing::warn!(%addr, %error, "cannot listen for a Service; retrying");
                    }
                }
            }
        }
        publish(&core.listening, ip, &open);
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = routes.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(BIND_RETRY), if !failed.is_empty() => {}
        }
    }
    for (_, stop) in open.values() {
        stop.cancel();
    }
    publish(&core.listening, ip, &BTreeMap::new());
}

fn publish(
    listening: &watch::Sender<BTreeSet<SocketAddr>>,
    ip: IpAddr,
    open: &BTreeMap<u16, (Exposed, CancellationToken)>,
) {
    let addrs: BTreeSet<SocketAddr> = open.keys().map(|&p| SocketAddr::new(ip, p)).collect();
    listening.send_if_modified(|current| {
        let changed = *current != addrs;
        *current = addrs;
        changed
    });
}

/// Serves one listener until `stop`.
async fn listen(core: Arc<Core>, listener: TcpListener, exposed: Exposed, stop: CancellationToken) {
    let service = service_fn(move |request: Request<Incoming>| {
        let core = core.clone();
        async move { Ok::<_, Infallible>(serve(&core, exposed, request).await) }
    });
    http_server::serve(listener, service, stop, DRAIN_TIMEOUT).await;
}

/// Routes one request that came in on `exposed`.
async fn serve(core: &Core, exposed: Exposed, request: Request<Incoming>) -> Response<ProxyBody> {
    let table = core.table();
    let target = match exposed {
        Exposed::NodePort(port) => table.node_port(port),
        Exposed::Balancer(port) => table.balancer_port(port),
    };
    match target {
        Some(target) => {
            core.proxy
                .route(target, request.map(ProxyBody::incoming))
                .await
        }
        None => text(
            StatusCode::NOT_FOUND,
            format!("no Service on port {} of this node\n", exposed.port()),
        ),
    }
}
