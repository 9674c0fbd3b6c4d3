//! [`Core`]: what the data plane's tasks share — this node's name, the current routing
//! table (rebuilt from the cluster's objects and the ready local pods), the counters kept across tables, the proxy
//! that carries requests, the count of requests peers forwarded here and the Service
//! listeners open now. The data plane's handle, the cluster follower, the listeners and
//! the pods' outbound routes each hold it.

use super::proxy::Proxy;
use super::ready::ReadyPods;
use super::stats::{self, Registry};
use super::table::{self, ClusterObjects, RouteTable};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What the data plane's tasks share.
pub(crate) struct Core {
    /// This node's name.
    pub(crate) node: String,
    /// The current routing table.
    pub(crate) routes: watch::Sender<Arc<RouteTable>>,
    /// Counters, kept across tables.
    pub(crate) registry: Mutex<Registry>,
    /// Carries requests.
    pub(crate) proxy: Proxy,
    /// Requests peers forwarded here.
    pub(crate) received: AtomicU64,
    /// The Service listeners open now.
    pub(crate) listening: watch::Sender<BTreeSet<SocketAddr>>,
    /// The pods this node sees ready, routed to ahead of their EndpointSlices.
    pub(crate) ready: ReadyPods,
}

impl Core {
    /// The current routing table.
    pub(crate) fn table(&self) -> Arc<RouteTable> {
        self.routes.borrow().clone()
    }

    /// Builds and publishes the table of `objects` and the ready local pods.
    pub(crate) fn rebuild(&self, objects: &ClusterObjects) {
        let table = {
            let mut registry = stats::lock(&self.registry);
            table::build(objects, &self.ready.snapshot(), &self.node, &mut registry)
        };
        if let Some(activator) = self.proxy.activator() {
            activator.retain(&table);
        }
        self.routes.send_replace(Arc::new(table));
    }
}
