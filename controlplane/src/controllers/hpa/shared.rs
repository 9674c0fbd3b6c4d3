//! What the HPA controller's workers share ([`Shared`]: informers, client, events, the
//! figures, the tunables, each HPA's history and selector), the [`Settings`] taken from
//! the manager's config, and the [`Error`] an evaluation fails with.

use super::behavior::History;
use super::metrics::PodMetrics;
use crate::machinery::client::Client;
use crate::machinery::informer::Informer;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::Recorder;
use skiff_model::selector::LabelSelector;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What an evaluation can fail at; the key is retried with backoff (and swept anyway).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A write to the API failed.
    #[error("cannot {action} for HorizontalPodAutoscaler {hpa}: {message}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The HPA's key.
        hpa: String,
        /// The API's answer.
        message: String,
    },
}

/// The tunables an evaluation uses (from the manager's config).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How often every HPA is evaluated.
    pub sync_period: Duration,
    /// Ratios within `1 ± tolerance` keep the count.
    pub tolerance: f64,
    /// Scale-down stabilization of HPAs that set none.
    pub downscale_stabilization: Duration,
    /// CPU warm-up period of new pods.
    pub cpu_initialization_period: Duration,
    /// How long a new pod may stay not ready and count as never ready.
    pub initial_readiness_delay: Duration,
}

/// What the workers share.
pub(super) struct Shared {
    pub(super) hpas: Informer<HorizontalPodAutoscaler>,
    pub(super) pods: Informer<Pod>,
    pub(super) client: Client,
    pub(super) events: Recorder,
    pub(super) metrics: Arc<dyn PodMetrics>,
    pub(super) settings: Settings,
    /// Each HPA's recommendations and scale events.
    pub(super) histories: Mutex<HashMap<String, History>>,
    /// Each HPA's target selector, as last evaluated: two HPAs whose selectors share pods
    /// are ambiguous, and neither acts.
    pub(super) selectors: Mutex<BTreeMap<String, LabelSelector>>,
}

impl Shared {
    pub(super) fn histories(&self) -> std::sync::MutexGuard<'_, HashMap<String, History>> {
        self.histories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn selectors(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LabelSelector>> {
        self.selectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
