//! The node stats follower: keeps the metrics [`Collector`](crate::metrics::Collector)
//! following the stats stream of every Node's agent, at the address the Node's status
//! gives ([`agents::address`](crate::agents::address)). A Node that appears, or whose
//! agent moves, is followed there; a Node deleted, or without an address for its agent,
//! is let go and its figures forgotten.
//!
//! Level-triggered on the Node's name: queued when the Node is added or deleted, or its
//! agent's address changes. Nothing is written: the collector is in-process state.

use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::Informer;
use crate::metrics::Collector;
use k8s_openapi::api::core::v1::Node;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Nodes reconciled at once (a reconcile only looks at memory).
pub const WORKERS: usize = 1;

/// The node stats follower, built and not yet running.
pub struct NodeStats {
    controller: Controller<String>,
    nodes: Informer<Node>,
    collector: Arc<Collector>,
}

struct Shared {
    nodes: Informer<Node>,
    collector: Arc<Collector>,
    /// What the streams run until.
    shutdown: CancellationToken,
}

impl NodeStats {
    /// Builds the follower, watching Nodes.
    pub fn new(ctx: &Context) -> Self {
        let controller =
            Controller::new("node-stats", WORKERS).watches(&ctx.informers.nodes, |change| {
                let moved = match (change.old, change.new) {
                    (Some(old), Some(new)) => address(old) != address(new),
                    _ => true,
                };
                moved.then(|| change.key.to_string())
            });
        Self {
            controller,
            nodes: ctx.informers.nodes.clone(),
            collector: ctx.state.metrics.clone(),
        }
    }

    /// Keeps the collector following the nodes until `shutdown`, which also stops every
    /// stream.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = Arc::new(Shared {
            nodes: self.nodes,
            collector: self.collector,
            shutdown: shutdown.clone(),
        });
        self.controller.run(shared, shutdown).await;
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Infallible;

    async fn reconcile(&self, key: &String) -> Result<Action, Infallible> {
        match self.nodes.get(key).as_deref().and_then(address) {
            Some(address) => self.collector.follow(key, &address, &self.shutdown),
            None => self.collector.unfollow(key),
        }
        Ok(Action::await_change())
    }
}

/// Where the node's agent listens, if its status says.
fn address(node: &Node) -> Option<String> {
    let status = serde_json::to_value(node.status.as_ref()?).ok()?;
    crate::agents::address(&serde_json::json!({ "status": status }))
}
