//! [`Informers`]: the informers the scheduler and the controllers share, one list and one
//! watch per kind, and the indexes declared on them ([`BY_NODE`], [`BY_OWNER`],
//! [`BY_SERVICE`], [`ORPHANS`]); the [`BY_SERVICE`] index reads the model's
//! `SERVICE_NAME_LABEL`.

use crate::apiserver::ApiState;
use crate::machinery::informer::{Informer, MetaOnly};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::labels::SERVICE_NAME_LABEL;
use tokio_util::sync::CancellationToken;

/// Index of pods by `spec.nodeName` (unbound pods are under "").
pub const BY_NODE: &str = "node";
/// Index of objects by the UID of each of their owners (`metadata.ownerReferences`).
pub const BY_OWNER: &str = "owner";
/// Index of EndpointSlices by the `namespace/name` of their Service (their
/// `kubernetes.io/service-name` label).
pub const BY_SERVICE: &str = "service";
/// Index of pods without a controller (`ownerReferences` with `controller: true`) by
/// namespace: what a ReplicaSet or Job may adopt, without scanning every pod.
pub const ORPHANS: &str = "orphans";

/// The informers the components share: one list and one watch per kind.
#[derive(Clone)]
pub struct Informers {
    /// Pods, indexed [`BY_NODE`] and [`BY_OWNER`].
    pub pods: Informer<Pod>,
    /// Nodes.
    pub nodes: Informer<Node>,
    /// Leases (the nodes' heartbeats are in `kube-node-lease`), indexed [`BY_OWNER`].
    pub leases: Informer<Lease>,
    /// Namespaces.
    pub namespaces: Informer<Namespace>,
    /// ReplicaSets, indexed [`BY_OWNER`].
    pub replicasets: Informer<ReplicaSet>,
    /// Deployments, indexed [`BY_OWNER`].
    pub deployments: Informer<Deployment>,
    /// Jobs, indexed [`BY_OWNER`].
    pub jobs: Informer<Job>,
    /// Services, indexed [`BY_OWNER`].
    pub services: Informer<Service>,
    /// Endpoints, indexed [`BY_OWNER`].
    pub endpoints: Informer<Endpoints>,
    /// EndpointSlices, indexed [`BY_OWNER`] and [`BY_SERVICE`].
    pub endpointslices: Informer<EndpointSlice>,
    /// HorizontalPodAutoscalers (as stored, `autoscaling/v2`), indexed [`BY_OWNER`].
    pub hpas: Informer<HorizontalPodAutoscaler>,
    /// ClusterRoles (for their aggregation).
    pub cluster_roles: Informer<ClusterRole>,
    /// ServiceAccounts, indexed [`BY_OWNER`].
    pub service_accounts: Informer<ServiceAccount>,
    /// Every other namespaced kind, metadata only, indexed [`BY_OWNER`]: what the garbage
    /// collector needs to find dependents of any kind.
    pub others: Vec<Informer<MetaOnly>>,
}

fn owners(meta: &ObjectMeta) -> Vec<String> {
    meta.owner_references
        .iter()
        .flatten()
        .map(|o| o.uid.clone())
        .collect()
}

impl Informers {
    /// Informers of every kind, not started.
    pub fn new() -> Self {
        let typed = [
            "Pod",
            "Node",
            "Lease",
            "Namespace",
            "ReplicaSet",
            "Deployment",
            "Job",
            "Service",
            "Endpoints",
            "EndpointSlice",
            "HorizontalPodAutoscaler",
            "ServiceAccount",
        ];
        let others = skiff_model::kinds::stored_kinds()
            .filter(|k| k.namespaced && !typed.contains(&k.kind) && k.kind != "Event")
            .map(|k| {
                Informer::builder_for(k)
                    .index(BY_OWNER, |o: &MetaOnly| owners(&o.metadata))
                    .build()
            })
            .collect();
        Self {
            pods: Informer::builder()
                .index(BY_NODE, |p: &Pod| {
                    vec![
                        p.spec
                            .as_ref()
                            .and_then(|s| s.node_name.clone())
                            .unwrap_or_default(),
                    ]
                })
                .index(BY_OWNER, |p: &Pod| owners(&p.metadata))
                .index(ORPHANS, |p: &Pod| {
                    let controlled = p
                        .metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.controller == Some(true));
                    if controlled {
                        Vec::new()
                    } else {
                        vec![p.metadata.namespace.clone().unwrap_or_default()]
                    }
                })
                .build(),
            nodes: Informer::new(),
            leases: Informer::builder()
                .index(BY_OWNER, |l: &Lease| owners(&l.metadata))
                .build(),
            namespaces: Informer::new(),
            replicasets: Informer::builder()
                .index(BY_OWNER, |r: &ReplicaSet| owners(&r.metadata))
                .build(),
            deployments: Informer::builder()
                .index(BY_OWNER, |d: &Deployment| owners(&d.metadata))
                .build(),
            jobs: Informer::builder()
                .index(BY_OWNER, |j: &Job| owners(&j.metadata))
                .build(),
            services: Informer::builder()
                .index(BY_OWNER, |s: &Service| owners(&s.metadata))
                .build(),
            endpoints: Informer::builder()
                .index(BY_OWNER, |e: &Endpoints| owners(&e.metadata))
                .build(),
            endpointslices: Informer::builder()
                .index(BY_OWNER, |e: &EndpointSlice| owners(&e.metadata))
                .index(BY_SERVICE, |e: &EndpointSlice| {
                    let meta = &e.metadata;
                    meta.labels
                        .as_ref()
                        .and_then(|l| l.get(SERVICE_NAME_LABEL))
                        .map(|name| {
                            vec![format!(
                                "{}/{name}",
                                meta.namespace.as_deref().unwrap_or_default()
                            )]
                        })
                        .unwrap_or_default()
                })
                .build(),
            hpas: Informer::builder()
                .index(BY_OWNER, |h: &HorizontalPodAutoscaler| owners(&h.metadata))
                .build(),
            cluster_roles: Informer::new(),
            service_accounts: Informer::builder()
                .index(BY_OWNER, |a: &ServiceAccount| owners(&a.metadata))
                .build(),
            others,
        }
    }

    /// Loads every informer's listing and starts following the store.
    pub async fn start(
        &self,
        state: &ApiState,
        shutdown: &CancellationToken,
    ) -> crate::store::Result<()> {
        let store = state.store.clone();
        self.pods.start(store.clone(), shutdown.clone()).await?;
        self.nodes.start(store.clone(), shutdown.clone()).await?;
        self.leases.start(store.clone(), shutdown.clone()).await?;
        self.namespaces
            .start(store.clone(), shutdown.clone())
            .await?;
        self.replicasets
            .start(store.clone(), shutdown.clone())
            .await?;
        self.deployments
            .start(store.clone(), shutdown.clone())
            .await?;
        self.jobs.start(store.clone(), shutdown.clone()).await?;
        self.services.start(store.clone(), shutdown.clone()).await?;
        self.endpoints
            .start(store.clone(), shutdown.clone())
            .await?;
        self.endpointslices
            .start(store.clone(), shutdown.clone())
            .await?;
        self.hpas.start(store.clone(), shutdown.clone()).await?;
        self.cluster_roles
            .start(store.clone(), shutdown.clone())
            .await?;
        self.service_accounts
            .start(store.clone(), shutdown.clone())
            .await?;
        for other in &self.others {
            other.start(store.clone(), shutdown.clone()).await?;
        }
        Ok(())
    }
}

impl Default for Informers {
    fn default() -> Self {
        Self::new()
    }
}
