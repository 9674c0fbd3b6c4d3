//! [`Tracker`]: a probe's result from its attempts — the kubelet's probe worker logic. The
//! result changes to success after `successThreshold` consecutive passing attempts, and
//! to failure after `failureThreshold` consecutive failing ones; anything shorter leaves
//! it as it was.

use super::spec::Probe;

/// A probe's result and the run of equal attempts behind it.
#[derive(Clone, Debug)]
pub struct Tracker {
    success_threshold: u32,
    failure_threshold: u32,
    /// The current result; `None` until the first threshold is reached (startup).
    result: Option<bool>,
    /// The last attempt's outcome and how many in a row had it.
    run: Option<(bool, u32)>,
}

impl Tracker {
    /// A tracker for `probe` whose result starts as `initial` (the kubelet starts
    /// liveness as passing, readiness as failing and startup as unknown).
    pub fn new(probe: &Probe, initial: Option<bool>) -> Self {
        Self {
            success_threshold: probe.success_threshold.max(1),
            failure_threshold: probe.failure_threshold.max(1),
            result: initial,
            run: None,
        }
    }

    /// The current result.
    pub fn result(&self) -> Option<bool> {
        self.result
    }

    /// Records an attempt; returns the new result if this attempt changed it.
    pub fn record(&mut self, passed: bool) -> Option<bool> {
        let count = match self.run {
            Some((last, n)) if last == passed => n.saturating_add(1),
            _ => 1,
        };
        self.run = Some((passed, count));
        let threshold = if passed {
            self.success_threshold
        } else {
            self.failure_threshold
        };
        if count < threshold || self.result == Some(passed) {
            return None;
        }
        self.result = Some(passed);
        Some(passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::probe::spec::{Action, Kind};
    use std::time::Duration;

    fn probe(success: u32, failure: u32) -> Probe {
        Probe {
            kind: Kind::Readiness,
            action: Action::Unsupported("test"),
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
            termination_grace: None,
        }
    }

    fn replay(tracker: &mut Tracker, attempts: &[bool]) -> Vec<Option<bool>> {
        attempts.iter().map(|&a| tracker.record(a)).collect()
    }

    #[test]
    fn liveness_fails_after_failure_threshold_consecutive_failures() {
        let mut t = Tracker::new(&probe(1, 3), Some(true));
        // A success in between starts the count over.
        assert_eq!(
            replay(&mut t, &[false, false, true, false, false]),
            [None, None, None, None, None]
        );
        assert_eq!(t.record(false), Some(false));
        assert_eq!(t.result(), Some(false));
        // Further failures are no change.
        assert_eq!(t.record(false), None);
    }

    #[test]
    fn readiness_needs_success_threshold_to_become_ready_and_back() {
        let mut t = Tracker::new(&probe(2, 2), Some(false));
        assert_eq!(replay(&mut t, &[true, false, true]), [None, None, None]);
        assert_eq!(t.record(true), Some(true));
        assert_eq!(replay(&mut t, &[true, false]), [None, None]);
        assert_eq!(t.record(false), Some(false));
        assert_eq!(replay(&mut t, &[true]), [None]);
        assert_eq!(t.record(true), Some(true));
    }

    #[test]
    fn a_failing_readiness_probe_stays_unready_without_a_change() {
        let mut t = Tracker::new(&probe(1, 3), Some(false));
        assert_eq!(replay(&mut t, &[false; 5]), [None; 5]);
        assert_eq!(t.result(), Some(false));
    }

    #[test]
    fn startup_is_unknown_until_a_threshold_settles_it() {
        let mut t = Tracker::new(&probe(1, 2), None);
        assert_eq!(t.result(), None);
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), Some(false), "failure threshold reached");

        let mut t = Tracker::new(&probe(1, 2), None);
        assert_eq!(replay(&mut t, &[false, true]), [None, Some(true)]);
    }
}
