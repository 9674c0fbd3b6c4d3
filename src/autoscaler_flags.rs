//! [`AutoscalerArgs`]: the request-driven autoscaler's cluster-wide defaults, shared by
//! `skiff server` and `skiff up`, named after the keys of Knative's `config-autoscaler`
//! ConfigMap and with its defaults (`skiff_controlplane::controllers::kpa::config`). A
//! Deployment's `autoscaling.knative.dev/*` annotations override them.

use anyhow::anyhow;
use clap::{ArgAction, Args};
use skiff_controlplane::controllers::kpa::config::{Config, DEFAULT_TICK};
use std::time::Duration;

/// Request-driven autoscaling (Knative's KPA) defaults.
#[derive(Args, Debug, Clone)]
pub struct AutoscalerArgs {
    /// Whether Deployments autoscaled by requests may go to zero replicas when idle.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    enable_scale_to_zero: bool,

    /// How long the last replica stays once no request has come for the stable window.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    scale_to_zero_grace_period: humantime::Duration,

    /// The minimum life of the last replica once idle.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    scale_to_zero_pod_retention_period: humantime::Duration,

    /// The window demand is averaged over to decide (6 s to 1 h).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    stable_window: humantime::Duration,

    /// The panic window, as a percentage of the stable window (1 to 100).
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    panic_window_percentage: f64,

    /// Panic mode starts when the panic-window demand reaches this percentage of the ready
    /// pods' capacity.
    #[arg(long, value_name = "PERCENT", default_value_t = 200.0)]
    panic_threshold_percentage: f64,

    /// Requests in flight per pod aimed at, before utilization.
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    container_concurrency_target_default: f64,

    /// The percentage of the target aimed at.
    #[arg(long, value_name = "PERCENT", default_value_t = 70.0)]
    container_concurrency_target_percentage: f64,

    /// Requests per second per pod aimed at with the rps metric, before utilization.
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    requests_per_second_target_default: f64,

    /// At most this many times the ready pods per evaluation.
    #[arg(long, value_name = "RATE", default_value_t = 1000.0)]
    max_scale_up_rate: f64,

    /// At least the ready pods divided by this per evaluation.
    #[arg(long, value_name = "RATE", default_value_t = 2.0)]
    max_scale_down_rate: f64,

    /// How long a lower recommendation must hold before it is acted on.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    scale_down_delay: humantime::Duration,

    /// Replicas an opted-in Deployment starts with.
    #[arg(long, value_name = "N", default_value_t = 1)]
    initial_scale: u32,

    /// Whether initial-scale may be 0.
    #[arg(long, value_name = "BOOL", default_value_t = false, action = ArgAction::Set)]
    allow_zero_initial_scale: bool,

    /// How often every opted-in Deployment is evaluated (Knative: 2 s); much shorter
    /// because a wasm pod is ready in milliseconds.
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(DEFAULT_TICK))]
    autoscaler_tick_interval: humantime::Duration,
}

impl AutoscalerArgs {
    /// The autoscaler's configuration, checked as Knative checks its ConfigMap.
    pub fn config(&self) -> anyhow::Result<Config> {
        let config = Config {
            enable_scale_to_zero: self.enable_scale_to_zero,
            scale_to_zero_grace_period: self.scale_to_zero_grace_period.into(),
            scale_to_zero_pod_retention_period: self.scale_to_zero_pod_retention_period.into(),
            stable_window: self.stable_window.into(),
            panic_window_percentage: self.panic_window_percentage,
            panic_threshold_percentage: self.panic_threshold_percentage,
            container_concurrency_target_default: self.container_concurrency_target_default,
            container_concurrency_target_percentage: self.container_concurrency_target_percentage,
            requests_per_second_target_default: self.requests_per_second_target_default,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            scale_down_delay: self.scale_down_delay.into(),
            initial_scale: self.initial_scale,
            allow_zero_initial_scale: self.allow_zero_initial_scale,
            min_scale: 0,
            max_scale: 0,
            tick: Duration::from(self.autoscaler_tick_interval),
        };
        config.validate().map_err(|e| anyhow!(e))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        autoscaler: AutoscalerArgs,
    }

    #[test]
    fn defaults_are_knatives() {
        let config = Cli::parse_from(["skiff"])
            .autoscaler
            .config()
            .expect("as the test set up");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn flags_override_and_are_checked() {
        let cli = Cli::parse_from([
            "skiff",
            "--scale-to-zero-grace-period",
            "2s",
            "--stable-window",
            "6s",
            "--enable-scale-to-zero",
            "false",
            "--max-scale-up-rate",
            "10",
        ]);
        let config = cli.autoscaler.config().expect("as the test set up");
        assert_eq!(config.scale_to_zero_grace_period, Duration::from_secs(2));
        assert_eq!(config.stable_window, Duration::from_secs(6));
        assert!(!config.enable_scale_to_zero);
        assert_eq!(config.max_scale_up_rate, 10.0);
        let bad = Cli::parse_from(["skiff", "--stable-window", "5s"]);
        let error = bad
            .autoscaler
            .config()
            .expect_err("a 5 s stable window is refused")
            .to_string();
        assert!(error.starts_with("stable-window = 5s"), "{error}");
    }
}
