//! The EndpointSlice controller: keeps `discovery.k8s.io/v1` EndpointSlices listing the pods
//! that back each Service with a selector, as Kubernetes'
//! `pkg/controller/endpointslice` does. The agents' data plane routes by them, and kubectl
//! (1.29+) shows them in `describe service`.
//!
//! A Service's slices are named `<service>-<suffix>` (`generateName`), labelled
//! [`SERVICE_NAME_LABEL`] and [`MANAGED_BY_LABEL`] (plus the Service's own labels), carry a
//! controller reference to the Service (so they go with it) and have address type `IPv4`.
//! Their contents are computed in `desired`; a reconcile reuses the existing slices with
//! the same ports, rewrites only those whose contents changed, creates what is missing and
//! deletes the rest — and the slices of a Service that lost its selector, or of an earlier
//! Service of the same name.
//!
//! Level-triggered on the Service's key, queued when the Service, one of its pods (before
//! or after the change) or one of its slices change. After writing, a reconcile waits for
//! its informer to show the writes, so the next one never works from slices it has
//! already replaced (which would duplicate them).

mod desired;

pub use desired::MAX_ENDPOINTS_PER_SLICE;

use super::backends::{self, controlled_by, controller_ref};
use crate::apiserver::error::ApiError;
use crate::machinery::client::{Client, Propagation};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, split_key};
use crate::machinery::informers::BY_SERVICE;
use desired::Slice;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::labels::SERVICE_NAME_LABEL;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Services reconciled at once (Kubernetes' `--concurrent-service-endpoint-syncs`).
pub const WORKERS: usize = 5;
/// Label naming the controller that manages an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`] (Kubernetes' own, so that tools that
/// look for it find Skiff's slices).
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// How long a reconcile waits for its informer to show its own writes before it gives up
/// and retries; the informer normally lags by milliseconds.
const SEEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a reconcile can fail at; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A write to the API failed.
    #[error("cannot {action} EndpointSlices of Service {service}: {message}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The Service's key.
        service: String,
        /// The API's answer.
        message: String,
    },
    /// The informer did not show the reconcile's writes in time.
    #[error("the EndpointSlice informer did not catch up with the writes for Service {0}")]
    Unseen(String),
}

impl Error {
    fn api(action: &'static str, service: &str, error: &ApiError) -> Self {
        Self::Api {
            action,
            service: service.to_string(),
            message: error.message.clone(),
        }
    }
}

/// The EndpointSlice controller, built and not yet running.
pub struct EndpointSliceController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    services: Informer<Service>,
    pods: Informer<Pod>,
    slices: Informer<EndpointSlice>,
    client: Client,
}

impl EndpointSliceController {
    /// Builds the controller, watching Services, pods and EndpointSlices.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let services = informers.services.clone();
        let controller = Controller::new("endpointslice", WORKERS)
            .watches(&informers.services, |change| Some(change.key.to_string()))
            .watches(&informers.pods, move |change| {
                backends::service_keys(&services, change)
            })
            .watches(&informers.endpointslices, |change| {
                let slice = change.object();
                let service = service_name(slice).filter(|_| managed(slice))?;
                let namespace = slice.metadata.namespace.as_deref().unwrap_or_default();
                Some(format!("{namespace}/{service}"))
            });
        let shared = Arc::new(Shared {
            services: informers.services.clone(),
            pods: informers.pods.clone(),
            slices: informers.endpointslices.clone(),
            client: ctx.client("endpointslice-controller"),
        });
        Self { controller, shared }
    }

    /// Reconciles Services until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

fn managed(slice: &EndpointSlice) -> bool {
    label(slice, MANAGED_BY_LABEL) == Some(MANAGED_BY)
}

fn service_name(slice: &EndpointSlice) -> Option<&str> {
    label(slice, SERVICE_NAME_LABEL)
}

fn label<'a>(slice: &'a EndpointSlice, key: &str) -> Option<&'a str> {
    slice.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let (namespace, name) = split_key(key);
        let namespace = namespace.unwrap_or_default();
        let existing: Vec<Arc<EndpointSlice>> = self
            .slices
            .indexed(BY_SERVICE, key)
            .into_iter()
            .filter(|s| managed(s))
            .collect();
        let service = self
            .services
            .get(key)
            .filter(|s| backends::selector(s).is_some());
        let (mut mine, stale): (Vec<_>, Vec<_>) = existing
            .into_iter()
            .partition(|s| controlled_by(s.metadata.owner_references.as_ref(), service.as_deref()));
        for slice in &stale {
            self.delete(key, slice).await?;
        }
        let Some(service) = service else {
            return Ok(Action::await_change());
        };
        let pods = self.pods.list_namespace(namespace);
        let publish = service
            .spec
            .as_ref()
            .and_then(|s| s.publish_not_ready_addresses)
            .unwrap_or(false);
        let backends = backends::backends(&service, &pods);
        let wanted = desired::slices(&backends, publish, MAX_ENDPOINTS_PER_SLICE);
        let labels = labels(&service, name);
        mine.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut written = 0u64;
        for slice in wanted {
            let reuse = mine.iter().position(|s| ports(s) == slice.ports);
            let revision = match reuse.map(|i| mine.remove(i)) {
                Some(current) if same(&current, &slice, &labels) => continue,
                Some(current) => self.update(key, &current, &slice, &labels).await?,
                None => self.create(key, &service, slice, &labels).await?,
            };
            written = written.max(revision);
        }
        for slice in &mine {
            self.delete(key, slice).await?;
        }
        if written > 0 && !self.slices.wait_for_revision(written, SEEN_TIMEOUT).await {
            return Err(Error::Unseen(key.to_string()));
        }
        Ok(Action::await_change())
    }
}

impl Shared {
    async fn create(
        &self,
        key: &str,
        service: &Service,
        slice: Slice,
        labels: &BTreeMap<String, String>,
    ) -> Result<u64, Error> {
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let object = EndpointSlice {
            metadata: ObjectMeta {
                generate_name: Some(format!("{name}-")),
                namespace: service.metadata.namespace.clone(),
                labels: Some(labels.clone()),
                owner_references: Some(vec![controller_ref(service)]),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".into(),
            endpoints: slice.endpoints,
            ports: Some(slice.ports),
        };
        let created = self
            .client
            .create(&object)
            .await
            .map_err(|e| Error::api("create", key, &e))?;
        Ok(revision(&created))
    }

    async fn update(
        &self,
        key: &str,
        current: &EndpointSlice,
        slice: &Slice,
        labels: &BTreeMap<String, String>,
    ) -> Result<u64, Error> {
        let name = current.metadata.name.as_deref().unwrap_or_default();
        let uid = current.metadata.uid.clone();
        let updated = self
            .client
            .update::<EndpointSlice>(current.metadata.namespace.as_deref(), name, |latest| {
                if latest.metadata.uid != uid || same(latest, slice, labels) {
                    return false;
                }
                latest.endpoints = slice.endpoints.clone();
                latest.ports = Some(slice.ports.clone());
                latest.address_type = "IPv4".into();
                latest.metadata.labels = Some(labels.clone());
                true
            })
            .await;
        match updated {
            Ok(slice) => Ok(revision(&slice)),
            // Deleted meanwhile (its deletion queues the Service again).
            Err(e) if e.reason == "NotFound" => Ok(0),
            Err(e) => Err(Error::api("update", key, &e)),
        }
    }

    async fn delete(&self, key: &str, slice: &EndpointSlice) -> Result<(), Error> {
        let name = slice.metadata.name.as_deref().unwrap_or_default();
        let deleted = self
            .client
            .delete::<EndpointSlice>(
                slice.metadata.namespace.as_deref(),
                name,
                slice.metadata.uid.as_deref(),
                Propagation::Background,
            )
            .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) if e.reason == "NotFound" || e.reason == "Conflict" => Ok(()),
            Err(e) => Err(Error::api("delete", key, &e)),
        }
    }
}

/// The labels of a Service's slices: its own, the Service's name and the manager.
fn labels(service: &Service, name: &str) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), name.to_string());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    labels
}

fn ports(slice: &EndpointSlice) -> Vec<k8s_openapi::api::discovery::v1::EndpointPort> {
    slice.ports.clone().unwrap_or_default()
}

/// Whether a stored slice already says what `slice` says.
fn same(current: &EndpointSlice, slice: &Slice, labels: &BTreeMap<String, String>) -> bool {
    current.address_type == "IPv4"
        && current.endpoints == slice.endpoints
        && ports(current) == slice.ports
        && current.metadata.labels.as_ref() == Some(labels)
}

fn revision(slice: &EndpointSlice) -> u64 {
    slice
        .metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}
