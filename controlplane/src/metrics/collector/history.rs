//! [`History`]: the samples of one node's or one pod's cumulative counters, kept dense
//! near now and thinned further back, so that a rate over any window up to [`HORIZON`]
//! costs two lookups and a bounded amount of memory per entity.
//!
//! The newest [`RECENT`] keeps every sample (the report interval's resolution, what the
//! request autoscaler's panic window and `kubectl top` look at); older samples are kept
//! at least [`COARSE_STEP`] apart up to [`HORIZON`] (what a stable window of a minute
//! needs). A window's start falls on the newest sample at or before it, so a long window
//! is answered over a span a little longer than asked — the answer carries the span it
//! covered, so the rate is exact for that span.

use std::collections::VecDeque;

/// How far back every sample is kept (milliseconds): 20 samples at a 500 ms interval.
pub const RECENT: u64 = 10_000;

/// The least spacing of samples older than [`RECENT`] (milliseconds): a window of a
/// minute then starts within 5 s of where it was asked to, less than a tenth of it.
pub const COARSE_STEP: u64 = 5_000;

/// How far back samples are kept at all (milliseconds): two minutes covers Knative's
/// default stable window (60 s) with room; a longer window is answered over what there
/// is. At most `RECENT / interval + HORIZON / COARSE_STEP` (about 40) samples per entity.
pub const HORIZON: u64 = 120_000;

/// One sample: when it was read (milliseconds since the epoch, the agent's clock) and
/// what.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<P> {
    /// When the figures were read on the node.
    pub millis: u64,
    /// The figures.
    pub point: P,
}

/// Samples, oldest first, thinned as the module doc says.
#[derive(Clone, Debug)]
pub struct History<P> {
    /// Samples within [`RECENT`] of the newest, every one.
    recent: VecDeque<Sample<P>>,
    /// Older samples, at least [`COARSE_STEP`] apart.
    older: VecDeque<Sample<P>>,
}

impl<P> Default for History<P> {
    fn default() -> Self {
        Self {
            recent: VecDeque::new(),
            older: VecDeque::new(),
        }
    }
}

impl<P> History<P> {
    /// A history of one sample.
    pub fn starting(millis: u64, point: P) -> Self {
        let mut history = Self::default();
        history.recent.push_back(Sample { millis, point });
        history
    }

    /// Adds the newest sample. A sample not newer than the newest one replaces it when
    /// taken at the same time and is dropped when older (a clock that stepped back).
    pub fn push(&mut self, millis: u64, point: P) {
        if let Some(newest) = self.recent.back_mut() {
            if millis < newest.millis {
                return;
            }
            if millis == newest.millis {
                newest.point = point;
                return;
            }
        }
        self.recent.push_back(Sample { millis, point });
        let recent_from = millis.saturating_sub(RECENT);
        while self.recent.len() > 1 && self.recent[0].millis < recent_from {
            let Some(aged) = self.recent.pop_front() else {
                break;
            };
            let spaced = self
                .older
                .back()
                .is_none_or(|kept| aged.millis >= kept.millis + COARSE_STEP);
            if spaced {
                self.older.push_back(aged);
            }
        }
        let horizon = millis.saturating_sub(HORIZON);
        // Keep one sample at or before the horizon, so a window of exactly HORIZON
        // still finds its start.
        while self.older.len() > 1 && self.older[1].millis <= horizon {
            self.older.pop_front();
        }
    }

    /// The newest sample.
    pub fn newest(&self) -> Option<&Sample<P>> {
        self.recent.back()
    }

    /// The newest sample taken at or before `millis`, or else the oldest one kept.
    pub fn at_or_before(&self, millis: u64) -> Option<&Sample<P>> {
        self.recent
            .iter()
            .rev()
            .chain(self.older.iter().rev())
            .find(|s| s.millis <= millis)
            .or_else(|| self.older.front().or(self.recent.front()))
    }

    /// The oldest sample taken after `millis`.
    pub fn after(&self, millis: u64) -> Option<&Sample<P>> {
        self.older
            .iter()
            .chain(self.recent.iter())
            .find(|s| s.millis > millis)
    }

    /// How many samples are kept.
    pub fn len(&self) -> usize {
        self.recent.len() + self.older.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_start_of_a_window() {
        let mut h = History::default();
        for i in 0..10u64 {
            h.push(1_000 + i * 500, i);
        }
        assert_eq!(h.newest().map(|s| s.point), Some(9));
        assert_eq!(h.at_or_before(5_500 - 2_000).map(|s| s.point), Some(5));
        assert_eq!(h.at_or_before(3_700).map(|s| s.millis), Some(3_500));
        // Before the oldest: the oldest.
        assert_eq!(h.at_or_before(10).map(|s| s.point), Some(0));
    }

    #[test]
    fn older_samples_are_thinned_and_bounded() {
        let mut h = History::default();
        let step = 500;
        let end = 10 * HORIZON;
        let mut t = 0;
        while t <= end {
            h.push(t, t);
            t += step;
        }
        let bound = (RECENT / step + 1 + HORIZON / COARSE_STEP + 2) as usize;
        assert!(h.len() <= bound, "{} samples kept, bound {bound}", h.len());
        let all: Vec<u64> = h
            .older
            .iter()
            .chain(h.recent.iter())
            .map(|s| s.millis)
            .collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "in order: {all:?}");
        // Within RECENT every sample is there.
        let recent: Vec<u64> = all.iter().copied().filter(|m| *m >= end - RECENT).collect();
        assert_eq!(recent.len() as u64, RECENT / step + 1);
        // Older ones are spaced by at least the coarse step.
        let older: Vec<u64> = all.iter().copied().filter(|m| *m < end - RECENT).collect();
        assert!(
            older.windows(2).all(|w| w[1] - w[0] >= COARSE_STEP),
            "{older:?}"
        );
        // A window of the whole horizon still has a start at or before it.
        let start = h.at_or_before(end - HORIZON).expect("a start");
        assert!(start.millis <= end - HORIZON);
        assert!(end - HORIZON - start.millis < COARSE_STEP + step);
    }

    #[test]
    fn out_of_order_samples_do_not_rewind() {
        let mut h = History::starting(2_000, 'a');
        h.push(1_000, 'x');
        h.push(2_000, 'b');
        assert_eq!(h.len(), 1);
        assert_eq!(h.newest().map(|s| s.point), Some('b'));
    }
}
