//! The HorizontalPodAutoscaler controller: sets the replicas of each HPA's scale target
//! from its pods' figures, with Kubernetes' algorithm and wording
//! (`pkg/controller/podautoscaler`).
//!
//! Every HPA is evaluated once per sync period (`--horizontal-pod-autoscaler-sync-period`,
//! a sweep that queues them all) and at once when it is created or its spec changes (its
//! own status writes do not queue it). An evaluation reads the target's `scale`
//! subresource, the pods its selector matches from the informer, their figures from the
//! control plane's live metrics, computes a proposal per metric and takes the largest,
//! stabilizes and rate-limits it, writes the new scale through the client, and reports
//! status, conditions and events.
//!
//! Parts: [`replicas`] (one metric's proposal from samples, pure), [`behavior`]
//! (stabilization and scaling policies over the HPA's history, pure), [`metrics`] (a
//! metric spec read from the pods and their figures; [`PodMetrics`] is where figures come
//! from), [`target`] (the scale target and whether the request-driven autoscaler owns
//! it), [`conditions`] (setting conditions), `shared` (what the workers share, the
//! error and the settings), `sync` (one evaluation).

pub mod behavior;
pub mod conditions;
pub mod metrics;
pub mod replicas;
mod shared;
mod sync;
pub mod target;

pub use metrics::PodMetrics;
pub use shared::{Error, Settings};

use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use shared::Shared;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// HPAs evaluated at once (Kubernetes' `--concurrent-horizontal-pod-autoscaler-syncs`).
pub const WORKERS: usize = 5;

/// The HPA controller, built and not yet running.
pub struct HpaController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

impl HpaController {
    /// Builds the controller over the control plane's live metrics.
    pub fn new(ctx: &Context) -> Self {
        Self::with_metrics(ctx, ctx.state.metrics.clone())
    }

    /// Builds the controller reading pods' figures from `metrics`.
    pub fn with_metrics(ctx: &Context, metrics: Arc<dyn PodMetrics>) -> Self {
        let controller = Controller::new("horizontal-pod-autoscaler", WORKERS).watches(
            &ctx.informers.hpas,
            |change| {
                // Status writes (the controller's own) do not queue the HPA; the sweep does.
                let spec_changed = match (change.old, change.new) {
                    (Some(old), Some(new)) => {
                        old.metadata.generation != new.metadata.generation
                            || old.metadata.annotations != new.metadata.annotations
                    }
                    _ => true,
                };
                spec_changed.then(|| change.key.to_string())
            },
        );
        let config = &ctx.config;
        let shared = Arc::new(Shared {
            hpas: ctx.informers.hpas.clone(),
            pods: ctx.informers.pods.clone(),
            client: ctx.client("horizontal-pod-autoscaler"),
            events: ctx.events.component("horizontal-pod-autoscaler"),
            metrics,
            settings: Settings {
                sync_period: config.hpa_sync_period,
                tolerance: config.hpa_tolerance,
                downscale_stabilization: config.hpa_downscale_stabilization,
                cpu_initialization_period: config.hpa_cpu_initialization_period,
                initial_readiness_delay: config.hpa_initial_readiness_delay,
            },
            histories: Mutex::default(),
            selectors: Mutex::default(),
        });
        Self { controller, shared }
    }

    /// Evaluates HPAs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let queue = self.controller.queue();
        let hpas = self.shared.hpas.clone();
        let period = self
            .shared
            .settings
            .sync_period
            .max(Duration::from_millis(10));
        let sweep_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = sweep_shutdown.cancelled() => return,
                    _ = tick.tick() => {
                        for hpa in hpas.list() {
                            queue.add(crate::machinery::informer::key_of(&hpa.metadata));
                        }
                    }
                }
            }
        });
        self.controller.run(self.shared, shutdown).await;
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(hpa) = self.hpas.get(key) else {
            self.histories().remove(key);
            self.selectors().remove(key);
            return Ok(Action::await_change());
        };
        sync::sync(self, key, &hpa).await?;
        Ok(Action::await_change())
    }
}
