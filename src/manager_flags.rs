//! [`ManagerArgs`]: the controller manager's flags, shared by `skiff server` and `skiff up`
//! — how fast a dead node is noticed and its pods moved, and how many finished pods are
//! kept. Their defaults, and the reasons for them, are the control plane's
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
}

impl From<ManagerArgs> for Config {
    fn from(args: ManagerArgs) -> Self {
        Config {
            node_monitor_grace: args.node_monitor_grace_period.into(),
            default_toleration: args.default_unreachable_toleration.into(),
            terminated_pod_threshold: args.terminated_pod_gc_threshold,
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
