//! [`Scaler`]: Knative's autoscaler decision (`pkg/autoscaler/scaling/autoscaler.go`) for
//! one Deployment — from the stable and panic window averages of the observed demand to
//! a desired pod count: `ceil(observed / target)` for each window, clamped by the maximum
//! scale-up and scale-down rates, panic mode entered when the panic-window demand reaches
//! the threshold and kept a full stable window after it last did (never scaling down
//! meanwhile), `activation-scale` as a floor once there is demand, and `scale-down-delay`.
//! Time is explicit, so it is tested with Knative's own examples.

use super::annotations::Settings;
use super::window::MaxWindow;
use std::time::Instant;

/// The demand a decision is made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Pods ready now.
    pub ready: u32,
    /// The demand averaged over the stable window.
    pub stable: f64,
    /// The demand averaged over the panic window.
    pub panic: f64,
}

/// Why the scaler recommends what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The stable-window average decides.
    Stable,
    /// Panicking: the larger of both windows decides and nothing scales down.
    Panic,
}

/// The scaler's memory between decisions.
#[derive(Debug, Clone)]
pub struct Scaler {
    /// When panic mode was last (re-)armed; `None` when not panicking.
    panic_since: Option<Instant>,
    /// The most pods recommended while panicking.
    max_panic_pods: u32,
    /// The recommendations over `scale-down-delay`, when one is set.
    delay: Option<MaxWindow>,
}

impl Scaler {
    /// A scaler for a Deployment with `ready` pods. As Knative's, it starts in panic mode
    /// when more than one pod is ready, so that a restarted autoscaler, which has lost its
    /// history, keeps the current scale until it has seen enough.
    pub fn new(settings: &Settings, ready: u32, now: Instant) -> Self {
        let delay = (!settings.scale_down_delay.is_zero())
            .then(|| MaxWindow::new(settings.scale_down_delay));
        Self {
            panic_since: (ready > 1).then_some(now),
            max_panic_pods: ready,
            delay,
        }
    }

    /// Whether it is panicking.
    pub fn mode(&self) -> Mode {
        if self.panic_since.is_some() {
            Mode::Panic
        } else {
            Mode::Stable
        }
    }

    /// Holds at least `pods` for a stable window from `now`, as panic mode does: what a
    /// scale-up from zero on an activation asks for, so that the pods starting are not
    /// taken back before their demand shows in their own figures.
    pub fn hold(&mut self, pods: u32, now: Instant) {
        self.panic_since = Some(now);
        self.max_panic_pods = self.max_panic_pods.max(pods);
    }

    /// The desired pod count at `now` for what was observed.
    pub fn scale(&mut self, settings: &Settings, observed: Observation, now: Instant) -> u32 {
        // With no pod ready, count one, so that the rates still allow growth.
        let ready = f64::from(observed.ready.max(1));
        let max_up = (settings.max_scale_up_rate * ready).ceil();
        let max_down = (ready / settings.max_scale_down_rate).floor();
        let stable_pods = (observed.stable / settings.target).ceil();
        let panic_pods = (observed.panic / settings.target).ceil();
        let mut desired_stable = stable_pods.max(max_down).min(max_up) as u32;
        let mut desired_panic = panic_pods.max(max_down).min(max_up) as u32;
        if settings.activation_scale > 1 {
            if stable_pods > 0.0 && settings.activation_scale > desired_stable {
                desired_stable = settings.activation_scale;
            }
            if panic_pods > 0.0 && settings.activation_scale > desired_panic {
                desired_panic = settings.activation_scale;
            }
        }
        let over_threshold = panic_pods / ready >= settings.panic_threshold;
        match self.panic_since {
            _ if over_threshold => self.panic_since = Some(now),
            Some(since) if since + settings.stable_window < now => {
                self.panic_since = None;
                self.max_panic_pods = 0;
            }
            _ => {}
        }
        let mut desired = desired_stable;
        if self.panic_since.is_some() {
            desired = desired.max(desired_panic);
            if desired > self.max_panic_pods {
                self.max_panic_pods = desired;
            }
            desired = self.max_panic_pods;
        }
        if let Some(delay) = &mut self.delay {
            desired = delay.record(now, desired);
        }
        desired
    }
}

#[cfg(test)]
#[path = "scaler/tests.rs"]
mod tests;
