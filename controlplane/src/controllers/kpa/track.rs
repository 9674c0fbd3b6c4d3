//! [`Tracked`]: everything the autoscaler remembers of one opted-in Deployment between
//! ticks — its settings, the stable and panic window averages of its demand, the
//! [`Scaler`] and the [`Lifecycle`] — and one evaluation ([`Tracked::step`]) from the
//! demand observed to the replicas to have.

use super::annotations::Settings;
use super::bounds::{self, Lifecycle, Reason};
use super::scaler::{Mode, Observation, Scaler};
use super::window::Average;
use std::time::{Duration, Instant};

/// One opted-in Deployment's memory.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The settings it was built with (a change rebuilds it).
    pub settings: Settings,
    scaler: Scaler,
    lifecycle: Lifecycle,
    stable: Average,
    panic: Average,
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The replicas to have.
    pub replicas: u32,
    /// Why, beyond the demand.
    pub why: Why,
    /// The stable-window average of the demand.
    pub stable: f64,
    /// The panic-window average of the demand.
    pub panic: f64,
    /// When to look again at the latest.
    pub recheck: Option<Duration>,
}

/// What decided a [`Step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The stable-window demand.
    Stable,
    /// Panic mode.
    Panic,
    /// Requests held for it while at zero.
    Activation,
    /// A bound or the scale-to-zero rules.
    Bound(Reason),
}

impl Tracked {
    /// Starts tracking a Deployment with `ready` pods, bucketing demand by `granularity`.
    pub fn new(settings: Settings, ready: u32, now: Instant, granularity: Duration) -> Self {
        let granularity = granularity
            .min(settings.panic_window)
            .max(Duration::from_millis(10));
        Self {
            scaler: Scaler::new(&settings, ready, now),
            lifecycle: Lifecycle::default(),
            stable: Average::new(now, settings.stable_window, granularity),
            panic: Average::new(now, settings.panic_window, granularity),
            settings,
        }
    }

    /// Evaluates at `now`: `observed` is the demand (the ready pods' figures plus the
    /// requests held for its Services), `held` the part of it held at agents, `ready` the
    /// ready pods and `current` the replicas declared.
    pub fn step(
        &mut self,
        observed: f64,
        held: u32,
        ready: u32,
        current: u32,
        now: Instant,
    ) -> Step {
        self.stable.record(now, observed);
        self.panic.record(now, observed);
        let seen = Observation {
            ready,
            stable: self.stable.average(now),
            panic: self.panic.average(now),
        };
        let desired = self.scaler.scale(&self.settings, seen, now);
        let bounded = self
            .lifecycle
            .bound(&self.settings, desired, current, ready, now);
        let mut why = match (bounded.reason, self.scaler.mode()) {
            (Some(reason), _) => Why::Bound(reason),
            (None, Mode::Panic) => Why::Panic,
            (None, Mode::Stable) => Why::Stable,
        };
        let mut replicas = bounded.replicas;
        if current == 0 && held > 0 {
            let from_zero = bounds::from_zero(&self.settings, held);
            if from_zero > replicas {
                replicas = from_zero;
                why = Why::Activation;
                self.scaler.hold(replicas, now);
            }
            self.lifecycle.initialized();
        }
        Step {
            replicas,
            why,
            stable: seen.stable,
            panic: seen.panic,
            recheck: bounded.recheck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kpa::annotations::{self, Annotations};
    use crate::controllers::kpa::config::Config;
    use std::collections::BTreeMap;

    const TICK: Duration = Duration::from_millis(250);

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.insert(annotations::CLASS.into(), annotations::KPA.into());
        let config = Config {
            scale_to_zero_grace_period: Duration::from_secs(2),
            ..Config::default()
        };
        annotations::settings(&Annotations::new(Some(&m), None), &config)
            .expect("as the test set up")
    }

    /// Idle from creation: one replica for the grace period, then zero; then requests
    /// held at zero scale it straight back up.
    #[test]
    fn idles_to_zero_after_the_grace_period_and_activates() {
        let s = settings(&[(annotations::WINDOW, "6s"), (annotations::TARGET, "10")]);
        let t0 = Instant::now();
        let mut t = Tracked::new(s, 0, t0, TICK);
        let mut now = t0;
        let mut current = 1;
        let mut zero_at = None;
        while now < t0 + Duration::from_secs(10) {
            let step = t.step(0.0, 0, current.min(1), current, now);
            if step.replicas == 0 && zero_at.is_none() {
                zero_at = Some(now - t0);
            }
            current = step.replicas;
            now += TICK;
        }
        let zero_at = zero_at.expect("reached zero");
        assert!(
            zero_at >= Duration::from_secs(2),
            "not before the grace period: {zero_at:?}"
        );
        assert!(
            zero_at <= Duration::from_secs(2) + TICK,
            "within a tick of it: {zero_at:?}"
        );
        // 35 requests held at zero, target 10 × 70 %: ceil(35 / 7) = 5 at once.
        let step = t.step(35.0, 35, 0, 0, now);
        assert_eq!((step.replicas, step.why), (5, Why::Activation));
        let step = t.step(0.0, 35, 0, 5, now + TICK);
        assert_eq!(step.replicas, 5, "held while its pods start");
    }

    /// A burst that doubles the demand per pod panics and scales up; when it stops, the
    /// scale holds for the stable window before coming down.
    #[test]
    fn a_burst_panics_and_holds_for_the_stable_window() {
        let s = settings(&[(annotations::WINDOW, "6s"), (annotations::TARGET, "10")]);
        let t0 = Instant::now();
        let mut t = Tracked::new(s, 1, t0, TICK);
        let step = t.step(140.0, 0, 1, 1, t0);
        assert_eq!((step.replicas, step.why), (20, Why::Panic));
        let quiet = t0 + Duration::from_secs(3);
        let step = t.step(0.0, 0, 20, 20, quiet);
        assert_eq!(step.replicas, 20, "no scale-down while panicking");
        let after = t0 + Duration::from_secs(7);
        let step = t.step(0.0, 0, 20, 20, after);
        assert!(step.replicas < 20, "scales down once the panic is over");
        assert!(step.replicas >= 10, "by at most half per tick");
    }
}
