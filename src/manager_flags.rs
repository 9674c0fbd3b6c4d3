//! [`ManagerArgs`]: the controller manager's flags, shared by `skiff server` and `skiff up`
//! — how fast a dead node is noticed and its pods moved, how many finished pods are kept,
//! and how the HorizontalPodAutoscaler samples and decides (Kubernetes' flag names).
//! Their defaults, and the reasons for them, are the control plane's
//! (`skiff_controlplane::machinery::config::DEFAULT_*`).

use clap::Args;
use skiff_controlplane::machinery::config::{self, Config};

/// Node failure and pod garbage collection.
#[derive(Args, Debug, Clone)]
pub struct ManagerArgs {
    /// How long a node's lease and status may go unrenewed before the node is marked
    /// NotReady (Ready=Unknown) and tainted unreachable. Keep it several times the agents'
    /// --lease-interval: the default allows five missed renewals at 2 s (Kubernetes: 50 s).
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_NODE_MONITOR_GRACE))]
    node_monitor_grace_period: humantime::Duration,

    /// How long pods stay on a NotReady or unreachable node before they are evicted and
    /// replaced elsewhere, unless they tolerate the taint themselves (a toleration with
    /// tolerationSeconds, or none to stay forever). Short, because a wasm pod restarts in
    /// milliseconds (Kubernetes: 300 s).
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_TOLERATION))]
    default_unreachable_toleration: humantime::Duration,

    /// Finished (Succeeded or Failed) pods kept cluster-wide before the oldest are
    /// deleted, Kubernetes' default; 0 keeps them all.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_TERMINATED_POD_THRESHOLD)]
    terminated_pod_gc_threshold: usize,

    /// How often each HorizontalPodAutoscaler is evaluated. Short, because the figures are
    /// in memory and a wasm pod starts in milliseconds (Kubernetes: 15 s).
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_HPA_SYNC_PERIOD))]
    horizontal_pod_autoscaler_sync_period: humantime::Duration,

    /// How far from 1 the ratio of a metric to its target must be before an HPA scales.
    #[arg(long, value_name = "RATIO", default_value_t = config::DEFAULT_HPA_TOLERANCE)]
    horizontal_pod_autoscaler_tolerance: f64,

    /// How far back an HPA without its own scale-down stabilization window looks for the
    /// highest recommendation before scaling down.
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_HPA_DOWNSCALE_STABILIZATION))]
    horizontal_pod_autoscaler_downscale_stabilization: humantime::Duration,

    /// How long after a pod starts its CPU samples count only if taken while it was ready
    /// (Kubernetes: 5 min; a wasm pod has little warm-up).
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_HPA_CPU_INITIALIZATION_PERIOD))]
    horizontal_pod_autoscaler_cpu_initialization_period: humantime::Duration,

    /// How long after a pod starts it may be not ready and still count as never ready
    /// (Kubernetes: 30 s).
    #[arg(long, value_name = "DURATION",
          default_value_t = humantime::Duration::from(config::DEFAULT_HPA_INITIAL_READINESS_DELAY))]
    horizontal_pod_autoscaler_initial_readiness_delay: humantime::Duration,
}

impl From<ManagerArgs> for Config {
    fn from(args: ManagerArgs) -> Self {
        Config {
            node_monitor_grace: args.node_monitor_grace_period.into(),
            default_toleration: args.default_unreachable_toleration.into(),
            terminated_pod_threshold: args.terminated_pod_gc_threshold,
            hpa_sync_period: args.horizontal_pod_autoscaler_sync_period.into(),
            hpa_tolerance: args.horizontal_pod_autoscaler_tolerance,
            hpa_downscale_stabilization: args
                .horizontal_pod_autoscaler_downscale_stabilization
                .into(),
            hpa_cpu_initialization_period: args
                .horizontal_pod_autoscaler_cpu_initialization_period
                .into(),
            hpa_initial_readiness_delay: args
                .horizontal_pod_autoscaler_initial_readiness_delay
                .into(),
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        manager: ManagerArgs,
    }

    #[test]
    fn defaults_are_the_control_planes() {
        let config = Config::from(Cli::parse_from(["skiff"]).manager);
        let default = Config::default();
        assert_eq!(config.node_monitor_grace, default.node_monitor_grace);
        assert_eq!(config.default_toleration, default.default_toleration);
        assert_eq!(
            config.terminated_pod_threshold,
            default.terminated_pod_threshold
        );
        assert_eq!(config.hpa_sync_period, default.hpa_sync_period);
        assert_eq!(config.hpa_tolerance, default.hpa_tolerance);
        assert_eq!(
            config.hpa_downscale_stabilization,
            default.hpa_downscale_stabilization
        );
        assert_eq!(
            config.hpa_cpu_initialization_period,
            default.hpa_cpu_initialization_period
        );
        assert_eq!(
            config.hpa_initial_readiness_delay,
            default.hpa_initial_readiness_delay
        );
    }

    #[test]
    fn hpa_flags_take_kubernetes_names() {
        let cli = Cli::parse_from([
            "skiff",
            "--horizontal-pod-autoscaler-sync-period",
            "250ms",
            "--horizontal-pod-autoscaler-tolerance",
            "0.2",
            "--horizontal-pod-autoscaler-downscale-stabilization",
            "5s",
            "--horizontal-pod-autoscaler-cpu-initialization-period",
            "1m",
            "--horizontal-pod-autoscaler-initial-readiness-delay",
            "3s",
        ]);
        let config = Config::from(cli.manager);
        assert_eq!(config.hpa_sync_period, Duration::from_millis(250));
        assert_eq!(config.hpa_tolerance, 0.2);
        assert_eq!(config.hpa_downscale_stabilization, Duration::from_secs(5));
        assert_eq!(
            config.hpa_cpu_initialization_period,
            Duration::from_secs(60)
        );
        assert_eq!(config.hpa_initial_readiness_delay, Duration::from_secs(3));
    }

    #[test]
    fn flags_take_durations_and_counts() {
        let cli = Cli::parse_from([
            "skiff",
            "--node-monitor-grace-period",
            "3s",
            "--default-unreachable-toleration",
            "500ms",
            "--terminated-pod-gc-threshold",
            "7",
        ]);
        let config = Config::from(cli.manager);
        assert_eq!(config.node_monitor_grace, Duration::from_secs(3));
        assert_eq!(config.default_toleration, Duration::from_millis(500));
        assert_eq!(config.terminated_pod_threshold, 7);
    }
}
