//! The controllers: each keeps one kind of declared state true, level-triggered and
//! idempotent, in its own module.
//!
//! Every controller is built from the manager's [`Context`] (subscribing its informer
//! handlers, which put keys on its [`WorkQueue`](crate::workqueue::WorkQueue)) and then
//! runs its workers with [`workqueue::run`](crate::workqueue::run).

pub(crate) mod backends;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod gc;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod podgc;
pub(crate) mod pods;
pub mod replicaset;
pub mod servicelb;

use crate::manager::Context;
use tokio_util::sync::CancellationToken;

/// Every controller, built and not yet running.
pub struct Controllers {
    node_lifecycle: nodelifecycle::NodeLifecycle,
    taint_eviction: nodelifecycle::TaintEviction,
    pod_gc: podgc::PodGc,
    replicaset: replicaset::ReplicaSetController,
    deployment: deployment::DeploymentController,
    job: job::JobController,
    gc: gc::GarbageCollector,
    namespace: namespace::NamespaceController,
    endpoints: endpoints::EndpointsController,
    endpointslice: endpointslice::EndpointSliceController,
    servicelb: servicelb::ServiceLb,
}

impl Controllers {
    /// Builds every controller.
    pub fn new(ctx: &Context) -> Self {
        Self {
            node_lifecycle: nodelifecycle::NodeLifecycle::new(ctx),
            taint_eviction: nodelifecycle::TaintEviction::new(ctx),
            pod_gc: podgc::PodGc::new(ctx),
            replicaset: replicaset::ReplicaSetController::new(ctx),
            deployment: deployment::DeploymentController::new(ctx),
            job: job::JobController::new(ctx),
            gc: gc::GarbageCollector::new(ctx),
            namespace: namespace::NamespaceController::new(ctx),
            endpoints: endpoints::EndpointsController::new(ctx),
            endpointslice: endpointslice::EndpointSliceController::new(ctx),
            servicelb: servicelb::ServiceLb::new(ctx),
        }
    }

    /// Runs every controller until `shutdown`.
    pub fn spawn(self, shutdown: &CancellationToken) {
        tokio::spawn(self.node_lifecycle.run(shutdown.clone()));
        tokio::spawn(self.taint_eviction.run(shutdown.clone()));
        tokio::spawn(self.pod_gc.run(shutdown.clone()));
        tokio::spawn(self.replicaset.run(shutdown.clone()));
        tokio::spawn(self.deployment.run(shutdown.clone()));
        tokio::spawn(self.job.run(shutdown.clone()));
        tokio::spawn(self.gc.run(shutdown.clone()));
        tokio::spawn(self.namespace.run(shutdown.clone()));
        tokio::spawn(self.endpoints.run(shutdown.clone()));
        tokio::spawn(self.endpointslice.run(shutdown.clone()));
        tokio::spawn(self.servicelb.run(shutdown.clone()));
    }
}
