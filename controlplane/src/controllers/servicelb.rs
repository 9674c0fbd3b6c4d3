//! The ServiceLB controller, after k3s' built-in load balancer: a `LoadBalancer` Service is
//! served by every node's agent (on its nodePorts and on the Service's own ports), so its
//! `status.loadBalancer.ingress` lists the `InternalIP` of every Ready node, kept current as
//! nodes come, go and change readiness. A Service that is no longer a `LoadBalancer` has
//! its ingress cleared.
//!
//! Level-triggered on the Service's key: queued when the Service changes, and for every
//! `LoadBalancer` Service when a node's readiness or addresses change. Nodes labelled
//! [`EXCLUDE_LABEL`] are left out, as Kubernetes' service controller leaves them out.

use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, key_of, split_key};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Services reconciled at once.
pub const WORKERS: usize = 2;
/// Label that keeps a node out of load balancers.
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// A status write that failed; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the load balancer status of Service {service}: {message}")]
pub struct Error {
    service: String,
    message: String,
}

impl Error {
    fn api(service: &str, error: &ApiError) -> Self {
        Self {
            service: service.to_string(),
            message: error.message.clone(),
        }
    }
}

/// The ServiceLB controller, built and not yet running.
pub struct ServiceLb {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    services: Informer<Service>,
    nodes: Informer<Node>,
    client: Client,
}

impl ServiceLb {
    /// Builds the controller, watching Services and nodes.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let services = informers.services.clone();
        let controller = Controller::new("servicelb", WORKERS)
            .watches(&informers.services, |change| {
                let service = change.object();
                (is_load_balancer(service) || !ingress_of(service).is_empty())
                    .then(|| change.key.to_string())
            })
            .watches(&informers.nodes, move |change| {
                if change.old.map(address) == change.new.map(address) {
                    return Vec::new();
                }
                services
                    .list()
                    .iter()
                    .filter(|service| is_load_balancer(service))
                    .map(|service| key_of(&service.metadata))
                    .collect()
            });
        let shared = Arc::new(Shared {
            services: informers.services.clone(),
            nodes: informers.nodes.clone(),
            client: ctx.client("service-lb-controller"),
        });
        Self { controller, shared }
    }

    /// Reconciles Services until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(service) = self.services.get(key) else {
            return Ok(Action::await_change());
        };
        let wanted = if is_load_balancer(&service) {
            self.ingress()
        } else {
            Vec::new()
        };
        if ingress_of(&service) == wanted {
            return Ok(Action::await_change());
        }
        let (namespace, name) = split_key(key);
        let uid = service.metadata.uid.clone();
        let written = self
            .client
            .update_status::<Service>(namespace, name, |latest| {
                if latest.metadata.uid != uid || ingress_of(latest) == wanted {
                    return false;
                }
                let status = latest.status.get_or_insert_default();
                status.load_balancer = Some(LoadBalancerStatus {
                    ingress: (!wanted.is_empty()).then(|| wanted.clone()),
                });
                true
            })
            .await;
        match written {
            Ok(_) => Ok(Action::await_change()),
            Err(e) if e.reason == "NotFound" => Ok(Action::await_change()),
            Err(e) => Err(Error::api(key, &e)),
        }
    }
}

impl Shared {
    /// One ingress per distinct InternalIP of the Ready nodes, sorted.
    fn ingress(&self) -> Vec<LoadBalancerIngress> {
        let mut ips: Vec<String> = self
            .nodes
            .list()
            .iter()
            .filter_map(|n| address(n))
            .collect();
        ips.sort();
        ips.dedup();
        ips.into_iter()
            .map(|ip| LoadBalancerIngress {
                ip: Some(ip),
                ip_mode: Some("VIP".into()),
                ..LoadBalancerIngress::default()
            })
            .collect()
    }
}

fn is_load_balancer(service: &Service) -> bool {
    service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
}

fn ingress_of(service: &Service) -> Vec<LoadBalancerIngress> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.clone())
        .unwrap_or_default()
}

/// The InternalIP of a node that can take load-balanced traffic: Ready, not excluded.
fn address(node: &Node) -> Option<String> {
    let excluded = node
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(EXCLUDE_LABEL));
    let status = node.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if excluded || !ready || node.metadata.deletion_timestamp.is_some() {
        return None;
    }
    status
        .addresses
        .iter()
        .flatten()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_ready_included_nodes_have_an_address() {
        let node = |ready: &str, labels: serde_json::Value| -> Node {
            serde_json::from_value(json!({
                "metadata": {"name": "n", "labels": labels},
                "status": {"conditions": [{"type": "Ready", "status": ready}],
                           "addresses": [{"type": "Hostname", "address": "n"},
                                         {"type": "InternalIP", "address": "192.0.2.5"}]}}))
            .expect("node")
        };
        assert_eq!(
            address(&node("True", json!({}))).as_deref(),
            Some("192.0.2.5")
        );
        assert_eq!(address(&node("Unknown", json!({}))), None);
        assert_eq!(address(&node("True", json!({EXCLUDE_LABEL: ""}))), None);
    }
}
