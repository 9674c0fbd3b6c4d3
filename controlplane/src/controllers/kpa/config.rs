//! [`Config`]: the request-driven autoscaler's cluster-wide defaults, named after the keys
//! of Knative's `config-autoscaler` ConfigMap, with Knative's values
//! (`pkg/autoscaler/config/config.go`), and the autoscaler's own tick
//! ([`DEFAULT_TICK`]).

use std::time::Duration;

/// Default [`Config::tick`]: 250 ms (Knative: 2 s). A wasm pod is ready milliseconds after
/// it is asked for, so a 2 s tick would be most of a burst's ramp; at 250 ms a burst that
/// reaches the panic threshold is acted on within a quarter second, and a ramp of several
/// doublings (each bounded by `--max-scale-up-rate`) takes about a second. A tick costs a
/// few in-memory reads per opted-in Deployment (its pods' figures from the collector, its
/// Services from the informers) and writes only when the scale changes, so a shorter tick
/// costs no durable write. Going below the agents' report interval would gain nothing.
pub const DEFAULT_TICK: Duration = Duration::from_millis(250);

/// The autoscaler's defaults for every opted-in Deployment, overridden per Deployment by
/// its `autoscaling.knative.dev/*` annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `enable-scale-to-zero`: whether a Deployment may go to zero replicas at all.
    pub enable_scale_to_zero: bool,
    /// `scale-to-zero-grace-period`: how long without traffic the last replica stays.
    pub scale_to_zero_grace_period: Duration,
    /// `scale-to-zero-pod-retention-period`: the last replica's minimum life once idle.
    pub scale_to_zero_pod_retention_period: Duration,
    /// `stable-window`: the window the stable average is taken over.
    pub stable_window: Duration,
    /// `panic-window-percentage`: the panic window, as a percentage of the stable window.
    pub panic_window_percentage: f64,
    /// `panic-threshold-percentage`: the demand, as a percentage of the ready pods'
    /// capacity, that starts panic mode.
    pub panic_threshold_percentage: f64,
    /// `container-concurrency-target-default`: requests in flight per pod aimed at
    /// (before utilization).
    pub container_concurrency_target_default: f64,
    /// `container-concurrency-target-percentage`: the utilization of the target aimed at.
    pub container_concurrency_target_percentage: f64,
    /// `requests-per-second-target-default`: requests per second per pod aimed at with the
    /// `rps` metric (before utilization).
    pub requests_per_second_target_default: f64,
    /// `max-scale-up-rate`: at most this many times the ready pods per tick.
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate`: at least the ready pods divided by this per tick.
    pub max_scale_down_rate: f64,
    /// `scale-down-delay`: how long a lower recommendation must hold before it is acted on.
    pub scale_down_delay: Duration,
    /// `initial-scale`: replicas a newly opted-in Deployment starts with.
    pub initial_scale: u32,
    /// `allow-zero-initial-scale`: whether `initial-scale` may be 0.
    pub allow_zero_initial_scale: bool,
    /// `min-scale`: the default lower bound.
    pub min_scale: u32,
    /// `max-scale`: the default upper bound (0 = unbounded).
    pub max_scale: u32,
    /// How often every opted-in Deployment is evaluated (Knative's `tickInterval`).
    pub tick: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enable_scale_to_zero: true,
            scale_to_zero_grace_period: Duration::from_secs(30),
            scale_to_zero_pod_retention_period: Duration::ZERO,
            stable_window: Duration::from_secs(60),
            panic_window_percentage: 10.0,
            panic_threshold_percentage: 200.0,
            container_concurrency_target_default: 100.0,
            container_concurrency_target_percentage: 70.0,
            requests_per_second_target_default: 200.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            scale_down_delay: Duration::ZERO,
            initial_scale: 1,
            allow_zero_initial_scale: false,
            min_scale: 0,
            max_scale: 0,
            tick: DEFAULT_TICK,
        }
    }
}

impl Config {
    /// Checks the defaults as Knative checks its ConfigMap, with its wording.
    pub fn validate(&self) -> Result<(), String> {
        let window_min = Duration::from_secs(6);
        let window_max = Duration::from_secs(3600);
        if self.scale_to_zero_grace_period.is_zero() {
            return Err("scale-to-zero-grace-period must be positive, was: 0s".into());
        }
        let fraction = self.container_concurrency_target_percentage / 100.0;
        if fraction <= 0.0 || fraction > 1.0 {
            return Err(format!(
                "container-concurrency-target-percentage = {fraction} is outside of valid range of (0, 100]"
            ));
        }
        if self.requests_per_second_target_default < 0.01 {
            return Err(format!(
                "requests-per-second-target-default must be at least 0.01, was: {}",
                self.requests_per_second_target_default
            ));
        }
        if self.max_scale_up_rate <= 1.0 {
            return Err(format!(
                "max-scale-up-rate = {}, must be greater than 1.0",
                self.max_scale_up_rate
            ));
        }
        if self.max_scale_down_rate <= 1.0 {
            return Err(format!(
                "max-scale-down-rate = {}, must be greater than 1.0",
                self.max_scale_down_rate
            ));
        }
        if self.stable_window < window_min || self.stable_window > window_max {
            return Err(format!(
                "stable-window = {:?}, must be in [6s; 1h0m0s] range",
                self.stable_window
            ));
        }
        if !(1.0..=100.0).contains(&self.panic_window_percentage) {
            return Err(format!(
                "panic-window-percentage = {}, must be in [1, 100] interval",
                self.panic_window_percentage
            ));
        }
        if self.initial_scale == 0 && !self.allow_zero_initial_scale {
            return Err("initial-scale = 0, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)".into());
        }
        if self.tick.is_zero() {
            return Err("the autoscaler's tick must be positive".into());
        }
        Ok(())
    }
}
