//! From the scaler's recommendation to the replicas written, after Knative's KPA
//! reconciler (`pkg/reconciler/autoscaling/kpa/scaler.go`): `min-scale`, `max-scale` and
//! `initial-scale` ([`Lifecycle::bound`]), the last replica kept for the scale-to-zero
//! grace period and retention period after the demand has gone, and the jump from zero
//! when an activation arrives ([`from_zero`]). Time is explicit.

use super::annotations::Settings;
use std::time::{Duration, Instant};

/// What one Deployment has been through, as far as its bounds care.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// `initial-scale` was reached once (or never mattered); it no longer applies.
    initialized: bool,
    /// Since when the recommendation has been zero.
    idle_since: Option<Instant>,
}

/// The replicas to have and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    /// The replicas.
    pub replicas: u32,
    /// Why, when a bound or the scale-to-zero rules decided rather than the scaler.
    pub reason: Option<Reason>,
    /// When to look again at the latest, for a deadline the tick might overshoot.
    pub recheck: Option<Duration>,
}

/// What decided the replicas besides the demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `initial-scale` not reached yet.
    InitialScale,
    /// `min-scale`.
    MinScale,
    /// `max-scale`.
    MaxScale,
    /// The last replica stays for the grace (and retention) period.
    KeepLastReplica,
    /// Scale to zero is disabled cluster-wide.
    ScaleToZeroDisabled,
}

impl Reason {
    /// As said in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InitialScale => "initial-scale not reached yet",
            Self::MinScale => "below min-scale",
            Self::MaxScale => "above max-scale",
            Self::KeepLastReplica => "the last replica stays for the scale-to-zero grace period",
            Self::ScaleToZeroDisabled => "scale to zero is disabled",
        }
    }
}

/// Knative's `applyBounds`: `x` within `[min, max]`, `max` 0 being unbounded.
pub fn apply_bounds(min: u32, max: u32, x: u32) -> u32 {
    if x < min {
        min
    } else if max != 0 && x > max {
        max
    } else {
        x
    }
}

/// The replicas to scale a Deployment at zero to when requests are held for it:
/// `max(activation-scale, min-scale, ceil(held / target), 1)`, within `max-scale`.
pub fn from_zero(settings: &Settings, held: u32) -> u32 {
    let for_held = (f64::from(held) / settings.target).ceil() as u32;
    let wanted = settings
        .activation_scale
        .max(settings.min_scale)
        .max(for_held)
        .max(1);
    apply_bounds(1, settings.max_scale, wanted)
}

impl Lifecycle {
    /// The replicas for a recommendation of `desired` at `now`, with `current` replicas
    /// declared and `ready` of them ready.
    pub fn bound(
        &mut self,
        settings: &Settings,
        desired: u32,
        current: u32,
        ready: u32,
        now: Instant,
    ) -> Bounded {
        let mut min = settings.min_scale;
        let mut reason = None;
        if !self.initialized {
            if ready >= settings.initial_scale {
                self.initialized = true;
            } else if settings.initial_scale > min {
                min = settings.initial_scale;
            }
        }
        let bounded = apply_bounds(min, settings.max_scale, desired);
        if bounded != desired {
            reason = Some(if bounded == settings.max_scale && desired > bounded {
                Reason::MaxScale
            } else if bounded == settings.min_scale {
                Reason::MinScale
            } else {
                Reason::InitialScale
            });
        }
        if bounded != 0 {
            self.idle_since = None;
            return Bounded {
                replicas: bounded,
                reason,
                recheck: None,
            };
        }
        if !settings.enable_scale_to_zero {
            return Bounded {
                replicas: 1,
                reason: Some(Reason::ScaleToZeroDisabled),
                recheck: None,
            };
        }
        let since = *self.idle_since.get_or_insert(now);
        let wait = settings.grace_period.max(settings.retention);
        let idle = now.saturating_duration_since(since);
        if idle >= wait || current == 0 {
            return Bounded {
                replicas: 0,
                reason: None,
                recheck: None,
            };
        }
        Bounded {
            replicas: 1,
            reason: Some(Reason::KeepLastReplica),
            recheck: Some(wait - idle),
        }
    }

    /// Marks `initial-scale` as no longer applying (the Deployment was already running
    /// when the autoscaler first saw it, or it was activated).
    pub fn initialized(&mut self) {
        self.initialized = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kpa::annotations::Metric;

    fn settings() -> Settings {
        Settings {
            metric: Metric::Concurrency,
            target: 10.0,
            stable_window: Duration::from_secs(60),
            panic_window: Duration::from_secs(6),
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            min_scale: 0,
            max_scale: 0,
            initial_scale: 1,
            activation_scale: 1,
            enable_scale_to_zero: true,
            grace_period: Duration::from_secs(30),
            retention: Duration::ZERO,
            scale_down_delay: Duration::ZERO,
        }
    }

    #[test]
    fn bounds_are_knatives() {
        assert_eq!(apply_bounds(2, 0, 1), 2);
        assert_eq!(apply_bounds(2, 0, 100), 100);
        assert_eq!(apply_bounds(0, 5, 7), 5);
        assert_eq!(apply_bounds(1, 5, 3), 3);
    }

    #[test]
    fn the_last_replica_stays_for_the_grace_period() {
        let s = settings();
        let t0 = Instant::now();
        let mut l = Lifecycle::default();
        l.initialized();
        let first = l.bound(&s, 0, 1, 1, t0);
        assert_eq!(first.replicas, 1);
        assert_eq!(first.reason, Some(Reason::KeepLastReplica));
        assert_eq!(first.recheck, Some(Duration::from_secs(30)));
        let before = l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(29));
        assert_eq!(before.replicas, 1);
        assert_eq!(before.recheck, Some(Duration::from_secs(1)));
        assert_eq!(
            l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(30)).replicas,
            0
        );
    }

    #[test]
    fn demand_restarts_the_grace_period() {
        let s = settings();
        let t0 = Instant::now();
        let mut l = Lifecycle::default();
        l.initialized();
        l.bound(&s, 0, 1, 1, t0);
        assert_eq!(
            l.bound(&s, 1, 1, 1, t0 + Duration::from_secs(20)).replicas,
            1
        );
        let again = l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(40));
        assert_eq!(again.replicas, 1, "idle for 0 s, not 40 s");
    }

    #[test]
    fn retention_longer_than_the_grace_period_wins() {
        let s = Settings {
            retention: Duration::from_secs(90),
            ..settings()
        };
        let t0 = Instant::now();
        let mut l = Lifecycle::default();
        l.initialized();
        l.bound(&s, 0, 1, 1, t0);
        assert_eq!(
            l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(60)).replicas,
            1
        );
        assert_eq!(
            l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(90)).replicas,
            0
        );
    }

    #[test]
    fn no_scale_to_zero_when_disabled_or_min_scale() {
        let t0 = Instant::now();
        let s = Settings {
            enable_scale_to_zero: false,
            ..settings()
        };
        let mut l = Lifecycle::default();
        l.initialized();
        assert_eq!(
            l.bound(&s, 0, 1, 1, t0 + Duration::from_secs(600)).replicas,
            1
        );
        let s = Settings {
            min_scale: 2,
            ..settings()
        };
        let b = l.bound(&s, 0, 1, 1, t0);
        assert_eq!((b.replicas, b.reason), (2, Some(Reason::MinScale)));
    }

    #[test]
    fn initial_scale_holds_until_reached() {
        let s = Settings {
            initial_scale: 3,
            ..settings()
        };
        let t0 = Instant::now();
        let mut l = Lifecycle::default();
        let b = l.bound(&s, 0, 1, 0, t0);
        assert_eq!((b.replicas, b.reason), (3, Some(Reason::InitialScale)));
        assert_eq!(
            l.bound(&s, 1, 3, 3, t0).replicas,
            1,
            "reached: no longer applies"
        );
    }

    #[test]
    fn from_zero_takes_the_largest_floor() {
        let s = settings();
        assert_eq!(from_zero(&s, 0), 1);
        assert_eq!(from_zero(&s, 95), 10);
        let s = Settings {
            activation_scale: 3,
            max_scale: 8,
            ..settings()
        };
        assert_eq!(from_zero(&s, 1), 3);
        assert_eq!(from_zero(&s, 500), 8);
    }
}
