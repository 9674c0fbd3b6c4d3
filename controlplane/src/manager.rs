//! The controller manager: builds and starts everything that runs beside the API server
//! and keeps the declared state true — the scheduler and the controllers. They read from
//! shared [`Informers`](crate::machinery::informers::Informers) over the watch cache and
//! write through the API's own write path ([`Client`](crate::machinery::client::Client):
//! admission, validation, field ownership), as an out-of-process kube-controller-manager
//! would over HTTP. Nothing imports this module back: it is the top of the control
//! plane's components.
//!
//! Start-up is two-phase so that nobody acts on a half-loaded cache: every component is
//! built first (subscribing its watches to the informers), then the informers load their
//! listings, and only then do the components' workers run. Besides the controllers, it
//! runs the expiry of graceful pod deletions
//! ([`PodGrace`](crate::controllers::podgrace::PodGrace)).

use crate::apiserver::ApiState;
use crate::controllers::clusterrole_aggregation::ClusterRoleAggregation;
use crate::controllers::deployment::DeploymentController;
use crate::controllers::endpoints::EndpointsController;
use crate::controllers::endpointslice::EndpointSliceController;
use crate::controllers::gc::GarbageCollector;
use crate::controllers::hpa::HpaController;
use crate::controllers::job::JobController;
use crate::controllers::kpa::KpaController;
use crate::controllers::namespace::NamespaceController;
use crate::controllers::nodelifecycle::{NodeLifecycle, TaintEviction};
use crate::controllers::nodestats::NodeStats;
use crate::controllers::podgc::PodGc;
use crate::controllers::podgrace::PodGrace;
use crate::controllers::replicaset::ReplicaSetController;
use crate::controllers::serviceaccount::ServiceAccountController;
use crate::controllers::servicelb::ServiceLb;
use crate::machinery::config::Config;
use crate::machinery::context::Context;
use crate::scheduler::Scheduler;
use tokio_util::sync::CancellationToken;

/// Starts the scheduler and every controller as tasks that run until `shutdown`. Returns
/// once the informers are loaded and the components running.
pub async fn start(
    state: ApiState,
    config: Config,
    shutdown: CancellationToken,
) -> crate::store::Result<()> {
    let ctx = Context::new(state, config, &shutdown);
    // Phase 1: build (watches subscribe).
    let scheduler = Scheduler::new(&ctx);
    let controllers = Controllers::new(&ctx);
    // Phase 2: load the caches.
    ctx.informers.start(&ctx.state, &shutdown).await?;
    // Phase 3: run.
    tokio::spawn(scheduler.run(shutdown.clone()));
    controllers.spawn(&shutdown);
    Ok(())
}

/// Every controller, built and not yet running.
struct Controllers {
    node_lifecycle: NodeLifecycle,
    taint_eviction: TaintEviction,
    pod_gc: PodGc,
    pod_grace: PodGrace,
    replicaset: ReplicaSetController,
    deployment: DeploymentController,
    job: JobController,
    kpa: KpaController,
    gc: GarbageCollector,
    namespace: NamespaceController,
    endpoints: EndpointsController,
    endpointslice: EndpointSliceController,
    servicelb: ServiceLb,
    node_stats: NodeStats,
    hpa: HpaController,
    clusterrole_aggregation: ClusterRoleAggregation,
    serviceaccount: ServiceAccountController,
}

impl Controllers {
    /// Builds every controller.
    fn new(ctx: &Context) -> Self {
        Self {
            node_lifecycle: NodeLifecycle::new(ctx),
            taint_eviction: TaintEviction::new(ctx),
            pod_gc: PodGc::new(ctx),
            pod_grace: PodGrace::new(ctx),
            replicaset: ReplicaSetController::new(ctx),
            deployment: DeploymentController::new(ctx),
            job: JobController::new(ctx),
            kpa: KpaController::new(ctx),
            gc: GarbageCollector::new(ctx),
            namespace: NamespaceController::new(ctx),
            endpoints: EndpointsController::new(ctx),
            endpointslice: EndpointSliceController::new(ctx),
            servicelb: ServiceLb::new(ctx),
            node_stats: NodeStats::new(ctx),
            hpa: HpaController::new(ctx),
            clusterrole_aggregation: ClusterRoleAggregation::new(ctx),
            serviceaccount: ServiceAccountController::new(ctx),
        }
    }

    /// Runs every controller until `shutdown`.
    fn spawn(self, shutdown: &CancellationToken) {
        tokio::spawn(self.node_lifecycle.run(shutdown.clone()));
        tokio::spawn(self.taint_eviction.run(shutdown.clone()));
        tokio::spawn(self.pod_gc.run(shutdown.clone()));
        tokio::spawn(self.pod_grace.run(shutdown.clone()));
        tokio::spawn(self.replicaset.run(shutdown.clone()));
        tokio::spawn(self.deployment.run(shutdown.clone()));
        tokio::spawn(self.job.run(shutdown.clone()));
        tokio::spawn(self.kpa.run(shutdown.clone()));
        tokio::spawn(self.gc.run(shutdown.clone()));
        tokio::spawn(self.namespace.run(shutdown.clone()));
        tokio::spawn(self.endpoints.run(shutdown.clone()));
        tokio::spawn(self.endpointslice.run(shutdown.clone()));
        tokio::spawn(self.servicelb.run(shutdown.clone()));
        tokio::spawn(self.node_stats.run(shutdown.clone()));
        tokio::spawn(self.hpa.run(shutdown.clone()));
        tokio::spawn(self.clusterrole_aggregation.run(shutdown.clone()));
        tokio::spawn(self.serviceaccount.run(shutdown.clone()));
    }
}
