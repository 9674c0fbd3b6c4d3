//! From the replicas the metrics ask for to the replicas the HPA sets, as Kubernetes'
//! `horizontal.go` normalizes them, with time explicit: stabilization over the recent
//! recommendations, then the rate limits, then `minReplicas`/`maxReplicas`.
//!
//! - [`Rules`]: one direction's `behavior` (window, policies, `selectPolicy`), resolved
//!   with its defaults;
//! - [`History`]: one HPA's recent recommendations and scale events, which the windows and
//!   policy periods look back over;
//! - [`normalize_with_behavior`] for an HPA with `behavior`, [`normalize`] for one without
//!   (Kubernetes' older rules: the downscale stabilization flag and at most
//!   `max(2 × current, 4)` on a scale-up);
//! - [`Limited`]: the replicas and what `AbleToScale` and `ScalingLimited` say about them.

use std::time::{Duration, Instant};

/// `selectPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// A scaling policy's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A number of pods per period.
    Pods,
    /// A percentage of the replicas at the start of the period.
    Percent,
}

/// One scaling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Its type.
    pub kind: PolicyKind,
    /// Pods or percent.
    pub value: i32,
    /// The period it applies over.
    pub period: Duration,
}

/// One direction's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// How far back recommendations are considered.
    pub stabilization_window: Duration,
    /// Which policy wins.
    pub select: Select,
    /// The policies.
    pub policies: Vec<Policy>,
}

/// Both directions' rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behavior {
    /// Scaling up.
    pub scale_up: Rules,
    /// Scaling down.
    pub scale_down: Rules,
}

const SECOND: Duration = Duration::from_secs(1);

impl Rules {
    /// Kubernetes' default scale-up: no window, the larger of 4 pods and 100 % per 15 s.
    pub fn default_scale_up() -> Self {
        Self {
            stabilization_window: Duration::ZERO,
            select: Select::Max,
            policies: vec![
                Policy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period: 15 * SECOND,
                },
                Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: 15 * SECOND,
                },
            ],
        }
    }

    /// Kubernetes' default scale-down: 100 % per 15 s over a `window`-long stabilization
    /// (the `--horizontal-pod-autoscaler-downscale-stabilization` flag).
    pub fn default_scale_down(window: Duration) -> Self {
        Self {
            stabilization_window: window,
            select: Select::Max,
            policies: vec![Policy {
                kind: PolicyKind::Percent,
                value: 100,
                period: 15 * SECOND,
            }],
        }
    }

    fn longest_period(&self) -> Duration {
        self.policies
            .iter()
            .map(|p| p.period)
            .max()
            .unwrap_or_default()
    }
}

/// A past change of the replica count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScaleEvent {
    /// Pods added (or removed, in the scale-down list), positive.
    change: i32,
    at: Instant,
}

/// One HPA's recent recommendations and scale events.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: Vec<(Instant, i32)>,
    scale_up: Vec<ScaleEvent>,
    scale_down: Vec<ScaleEvent>,
}

impl History {
    /// Seeds the recommendations with the current count the first time an HPA is seen, so
    /// that a restart does not scale down at once.
    pub fn record_initial(&mut self, current: i32, now: Instant) {
        if self.recommendations.is_empty() {
            self.recommendations.push((now, current));
        }
    }

    /// Records a change from `previous` to `new` replicas made now, forgetting events older
    /// than the longest policy period of its direction.
    pub fn record_scale(&mut self, behavior: &Behavior, previous: i32, new: i32, now: Instant) {
        let (events, rules, change) = if new > previous {
            (&mut self.scale_up, &behavior.scale_up, new - previous)
        } else {
            (&mut self.scale_down, &behavior.scale_down, previous - new)
        };
        let keep = rules.longest_period();
        events.retain(|e| now.saturating_duration_since(e.at) <= keep);
        events.push(ScaleEvent { change, at: now });
    }

    fn changed_within(events: &[ScaleEvent], period: Duration, now: Instant) -> i32 {
        events
            .iter()
            .filter(|e| now.saturating_duration_since(e.at) < period)
            .map(|e| e.change)
            .sum()
    }

    /// Stores `recommendation` made now, dropping those older than `keep`.
    fn store(&mut self, recommendation: i32, keep: Duration, now: Instant) {
        self.recommendations
            .retain(|(at, _)| now.saturating_duration_since(*at) <= keep);
        self.recommendations.push((now, recommendation));
    }
}

/// The replicas to set and what the conditions say about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// Replicas to set.
    pub replicas: i32,
    /// `AbleToScale` reason (status `True`) and message.
    pub able: (&'static str, &'static str),
    /// `ScalingLimited` status, reason and message.
    pub limited: (bool, &'static str, &'static str),
}

const READY: (&str, &str) = ("ReadyForNewScale", "recommended size matches current size");
const DOWN_STABILIZED: (&str, &str) = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);
const UP_STABILIZED: (&str, &str) = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);
const WITHIN: (&str, &str) = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const UP_LIMIT: (&str, &str) = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const DOWN_LIMIT: (&str, &str) = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);
const TOO_MANY: (&str, &str) = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const TOO_FEW: (&str, &str) = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);

/// For an HPA without `behavior`: the highest recommendation of the last `window` (the
/// downscale stabilization), then at most `max(2 × current, 4)` and within min/max.
pub fn normalize(
    history: &mut History,
    window: Duration,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    now: Instant,
) -> Limited {
    let stabilized = history
        .recommendations
        .iter()
        .filter(|(at, _)| now.saturating_duration_since(*at) <= window)
        .map(|(_, r)| *r)
        .fold(desired, i32::max);
    history.store(desired, window, now);
    let able = if stabilized != desired {
        DOWN_STABILIZED
    } else {
        READY
    };
    let scale_up_limit = (2 * current).max(4);
    let (maximum, max_reason) = if max > scale_up_limit {
        (scale_up_limit, UP_LIMIT)
    } else {
        (max, TOO_MANY)
    };
    let (replicas, reason) = if stabilized < min {
        (min, TOO_FEW)
    } else if stabilized > maximum {
        (maximum, max_reason)
    } else {
        (stabilized, WITHIN)
    };
    Limited {
        replicas,
        able,
        limited: (replicas != stabilized, reason.0, reason.1),
    }
}

/// For an HPA with `behavior`: stabilization within both directions' windows, then the
/// policies over the scale events of their periods, then min/max.
#[allow(clippy::too_many_arguments)]
pub fn normalize_with_behavior(
    history: &mut History,
    behavior: &Behavior,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    now: Instant,
) -> Limited {
    let up_window = behavior.scale_up.stabilization_window;
    let down_window = behavior.scale_down.stabilization_window;
    let mut up = desired;
    let mut down = desired;
    for (at, recommendation) in &history.recommendations {
        let age = now.saturating_duration_since(*at);
        if age < up_window {
            up = up.min(*recommendation);
        }
        if age < down_window {
            down = down.max(*recommendation);
        }
    }
    let stabilized = current.max(up).min(down);
    history.store(desired, up_window.max(down_window), now);
    let able = if stabilized == desired {
        READY
    } else if desired >= current {
        UP_STABILIZED
    } else {
        DOWN_STABILIZED
    };

    let (replicas, reason) = if stabilized > current {
        let limit = scale_up_limit(history, &behavior.scale_up, current, now).max(current);
        let (maximum, reason) = if max > limit {
            (limit, UP_LIMIT)
        } else {
            (max, TOO_MANY)
        };
        if stabilized > maximum {
            (maximum, reason)
        } else {
            (stabilized, WITHIN)
        }
    } else if stabilized < current {
        let limit = scale_down_limit(history, &behavior.scale_down, current, now).min(current);
        let (minimum, reason) = if min < limit {
            (limit, DOWN_LIMIT)
        } else {
            (min, TOO_FEW)
        };
        if stabilized < minimum {
            (minimum, reason)
        } else {
            (stabilized, WITHIN)
        }
    } else {
        (stabilized, WITHIN)
    };
    Limited {
        replicas,
        able,
        limited: (replicas != stabilized, reason.0, reason.1),
    }
}

/// The replicas at the start of `period`: now's, less what was added, plus what was
/// removed within it.
fn period_start(history: &History, current: i32, period: Duration, now: Instant) -> i32 {
    current - History::changed_within(&history.scale_up, period, now)
        + History::changed_within(&history.scale_down, period, now)
}

/// Kubernetes' `calculateScaleUpLimitWithScalingRules`.
fn scale_up_limit(history: &History, rules: &Rules, current: i32, now: Instant) -> i32 {
    let pick: fn(i32, i32) -> i32 = match rules.select {
        Select::Disabled => return current,
        Select::Min => i32::min,
        Select::Max => i32::max,
    };
    let mut result: Option<i32> = None;
    for policy in &rules.policies {
        let start = period_start(history, current, policy.period, now);
        let proposed = match policy.kind {
            PolicyKind::Pods => start + policy.value,
            PolicyKind::Percent => {
                (f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i32
            }
        };
        result = Some(result.map_or(proposed, |r| pick(r, proposed)));
    }
    result.unwrap_or(current)
}

/// Kubernetes' `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(history: &History, rules: &Rules, current: i32, now: Instant) -> i32 {
    let pick: fn(i32, i32) -> i32 = match rules.select {
        Select::Disabled => return current,
        // For scaling down the smallest change is the highest count.
        Select::Min => i32::max,
        Select::Max => i32::min,
    };
    let mut result: Option<i32> = None;
    for policy in &rules.policies {
        let start = period_start(history, current, policy.period, now);
        let proposed = match policy.kind {
            PolicyKind::Pods => start - policy.value,
            PolicyKind::Percent => {
                (f64::from(start) * (1.0 - f64::from(policy.value) / 100.0)) as i32
            }
        };
        result = Some(result.map_or(proposed, |r| pick(r, proposed)));
    }
    result.unwrap_or(current)
}

#[cfg(test)]
#[path = "behavior_tests.rs"]
mod tests;
