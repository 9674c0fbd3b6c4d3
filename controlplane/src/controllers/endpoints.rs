//! The Endpoints controller: keeps a `v1` Endpoints object, named as its Service, listing
//! the pods that back each Service with a selector, as Kubernetes'
//! `pkg/controller/endpoint` does. Older kubectl (`describe service`) and older clients
//! read these; the data plane reads EndpointSlices ([`super::endpointslice`]).
//!
//! Ready pods are in a subset's `addresses`, pods not ready (and not being deleted) in its
//! `notReadyAddresses`; pods being deleted are left out, unless the Service publishes
//! not-ready addresses, which lists every pod as ready. Pods whose target ports resolve to
//! different numbers land in different subsets.
//!
//! Level-triggered on the Service's key, queued when the Service, one of its pods (before
//! or after the change) or its Endpoints change. The Endpoints carry a controller
//! reference to the Service, so they go with it (the garbage collector); they are deleted
//! here too when the Service loses its selector. Unchanged Endpoints are not written.

use super::backends::{self, Backend, controlled_by, controller_ref};
use crate::apiserver::error::ApiError;
use crate::machinery::client::{Client, Propagation};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, split_key};
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Services reconciled at once (Kubernetes' `--concurrent-endpoint-syncs`).
pub const WORKERS: usize = 5;

/// Label on the Endpoints of a headless Service (`clusterIP: None`).
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// What a reconcile can fail at; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} Endpoints {key}: {message}")]
pub struct Error {
    action: &'static str,
    key: String,
    message: String,
}

impl Error {
    fn api(action: &'static str, key: &str, error: &ApiError) -> Self {
        Self {
            action,
            key: key.to_string(),
            message: error.message.clone(),
        }
    }
}

/// The Endpoints controller, built and not yet running.
pub struct EndpointsController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    services: Informer<Service>,
    pods: Informer<Pod>,
    endpoints: Informer<Endpoints>,
    client: Client,
}

impl EndpointsController {
    /// Builds the controller, watching Services, pods and Endpoints.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let services = informers.services.clone();
        let controller = Controller::new("endpoints", WORKERS)
            .watches(&informers.services, |change| Some(change.key.to_string()))
            .watches(&informers.pods, move |change| {
                backends::service_keys(&services, change)
            })
            .watches(&informers.endpoints, |change| Some(change.key.to_string()));
        let shared = Arc::new(Shared {
            services: informers.services.clone(),
            pods: informers.pods.clone(),
            endpoints: informers.endpoints.clone(),
            client: ctx.client("endpoint-controller"),
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
        let (namespace, name) = split_key(key);
        let namespace = namespace.unwrap_or_default();
        let service = self.services.get(key);
        let existing = self.endpoints.get(key);
        let Some(service) = service.filter(|s| backends::selector(s).is_some()) else {
            if let Some(endpoints) = existing.filter(|e| managed(e)) {
                let uid = endpoints.metadata.uid.as_deref();
                let deleted = self
                    .client
                    .delete::<Endpoints>(Some(namespace), name, uid, Propagation::Background)
                    .await;
                match deleted {
                    Ok(()) => {}
                    Err(e) if e.reason == "NotFound" || e.reason == "Conflict" => {}
                    Err(e) => return Err(Error::api("delete", key, &e)),
                }
            }
            return Ok(Action::await_change());
        };
        let pods = self.pods.list_namespace(namespace);
        let publish = service
            .spec
            .as_ref()
            .and_then(|s| s.publish_not_ready_addresses)
            .unwrap_or(false);
        let desired = Desired {
            subsets: subsets(&backends::backends(&service, &pods), publish),
            labels: labels(&service),
        };
        if let Some(current) = &existing
            && desired.matches(current, &service)
        {
            return Ok(Action::await_change());
        }
        if existing.is_none() {
            let endpoints = Endpoints {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    namespace: Some(namespace.to_string()),
                    labels: Some(desired.labels.clone()),
                    owner_references: Some(vec![controller_ref(&service)]),
                    ..ObjectMeta::default()
                },
                subsets: non_empty(desired.subsets.clone()),
            };
            match self.client.create(&endpoints).await {
                Ok(_) => return Ok(Action::await_change()),
                // Written since the informer last heard: update the stored one.
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => return Err(Error::api("create", key, &e)),
            }
        }
        self.client
            .update::<Endpoints>(Some(namespace), name, |current| {
                if desired.matches(current, &service) {
                    return false;
                }
                desired.apply(current, &service);
                true
            })
            .await
            .map_err(|e| Error::api("update", key, &e))?;
        Ok(Action::await_change())
    }
}

/// Whether the Endpoints were written by this controller (they name a Service as their
/// controller).
fn managed(endpoints: &Endpoints) -> bool {
    endpoints
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.kind == "Service")
}

/// What a Service's Endpoints should be.
struct Desired {
    subsets: Vec<EndpointSubset>,
    labels: BTreeMap<String, String>,
}

impl Desired {
    fn matches(&self, current: &Endpoints, service: &Service) -> bool {
        current.subsets.clone().unwrap_or_default() == self.subsets
            && current.metadata.labels.clone().unwrap_or_default() == self.labels
            && controlled_by(current.metadata.owner_references.as_ref(), Some(service))
    }

    fn apply(&self, current: &mut Endpoints, service: &Service) {
        current.subsets = non_empty(self.subsets.clone());
        current.metadata.labels = Some(self.labels.clone());
        let owners = current.metadata.owner_references.get_or_insert_default();
        owners.retain(|o| o.controller != Some(true));
        owners.push(controller_ref(service));
    }
}

fn non_empty(subsets: Vec<EndpointSubset>) -> Option<Vec<EndpointSubset>> {
    (!subsets.is_empty()).then_some(subsets)
}

/// The Service's labels, and [`HEADLESS_LABEL`] when it is headless.
fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    let headless = service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None");
    if headless {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

/// The subsets of `backends`: one per distinct set of resolved ports, addresses sorted by
/// IP and pod UID.
fn subsets(backends: &[Backend], publish_not_ready: bool) -> Vec<EndpointSubset> {
    type Addresses = (Vec<EndpointAddress>, Vec<EndpointAddress>);
    let mut groups: BTreeMap<Vec<backends::BackendPort>, Addresses> = BTreeMap::new();
    for backend in backends {
        if backend.terminating && !publish_not_ready {
            continue;
        }
        let (ready, not_ready) = groups.entry(backend.ports.clone()).or_default();
        let address = address(backend);
        if backend.ready || publish_not_ready {
            ready.push(address);
        } else {
            not_ready.push(address);
        }
    }
    groups
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            let order = |a: &EndpointAddress, b: &EndpointAddress| {
                let uid = |x: &EndpointAddress| x.target_ref.as_ref().and_then(|r| r.uid.clone());
                (a.ip.as_str(), uid(a)).cmp(&(b.ip.as_str(), uid(b)))
            };
            ready.sort_by(order);
            not_ready.sort_by(order);
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|p| EndpointPort {
                            name: (!p.name.is_empty()).then_some(p.name),
                            port: p.port,
                            protocol: Some(p.protocol),
                            app_protocol: None,
                        })
                        .collect()
                }),
            }
        })
        .collect()
}

fn address(backend: &Backend) -> EndpointAddress {
    let meta = &backend.pod.metadata;
    EndpointAddress {
        ip: backend.ip.clone(),
        node_name: Some(backend.node.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            ..ObjectReference::default()
        }),
        hostname: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backend(name: &str, ready: bool, terminating: bool, port: i32) -> Backend {
        let pod: Pod = serde_json::from_value(json!({"metadata": {
            "name": name, "namespace": "default", "uid": format!("uid-{name}")}}))
        .expect("pod");
        Backend {
            pod: Arc::new(pod),
            ip: "192.0.2.1".into(),
            node: "n1".into(),
            ready,
            terminating,
            ports: vec![backends::BackendPort {
                name: String::new(),
                port,
                protocol: "TCP".into(),
            }],
        }
    }

    #[test]
    fn ready_pods_are_addresses_and_terminating_pods_leave() {
        let all = [
            backend("a", true, false, 8080),
            backend("b", false, false, 8080),
            backend("c", true, true, 8080),
            backend("d", true, false, 9090),
        ];
        let out = subsets(&all, false);
        assert_eq!(out.len(), 2);
        let names = |list: &Option<Vec<EndpointAddress>>| -> Vec<String> {
            list.iter()
                .flatten()
                .filter_map(|a| a.target_ref.as_ref()?.name.clone())
                .collect()
        };
        assert_eq!(names(&out[0].addresses), ["a"]);
        assert_eq!(names(&out[0].not_ready_addresses), ["b"]);
        assert_eq!(out[0].ports.as_ref().expect("ports")[0].port, 8080);
        assert!(out[0].ports.as_ref().expect("ports")[0].name.is_none());
        assert_eq!(names(&out[1].addresses), ["d"]);
        let published = subsets(&all, true);
        assert_eq!(names(&published[0].addresses), ["a", "b", "c"]);
    }
}
