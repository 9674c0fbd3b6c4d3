//! The time windows the scaler keeps, after Knative's `pkg/autoscaler/aggregation`:
//! [`Average`] (bucketed averages over the stable and panic windows, Knative's
//! `TimedFloat64Buckets`) and [`MaxWindow`] (the largest value over a window, Knative's
//! `max.TimeWindow`, for `scale-down-delay`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The average of what was observed over a window, in buckets of a fixed granularity.
///
/// Each bucket holds the mean of the observations that fell in it. The average is over the
/// buckets since the first observation when that is less than a window ago (so a fresh
/// window is not diluted by time before anything was seen), and over the whole window
/// otherwise, gaps counting as zero; a window with no observation averages to zero.
#[derive(Debug, Clone)]
pub struct Average {
    origin: Instant,
    granularity: Duration,
    len: u64,
    /// `(bucket index, sum, count)`, oldest first, only buckets written to.
    buckets: VecDeque<(u64, f64, u32)>,
    first: Option<u64>,
}

impl Average {
    /// A window of `window`, bucketed by `granularity`, whose buckets count from `origin`.
    pub fn new(origin: Instant, window: Duration, granularity: Duration) -> Self {
        let granularity = granularity.max(Duration::from_millis(1));
        let len = window.as_nanos().div_ceil(granularity.as_nanos()).max(1) as u64;
        Self {
            origin,
            granularity,
            len,
            buckets: VecDeque::new(),
            first: None,
        }
    }

    fn index(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.origin).as_nanos() / self.granularity.as_nanos()) as u64
    }

    /// Records `value` observed at `now`.
    pub fn record(&mut self, now: Instant, value: f64) {
        let index = self.index(now);
        let last = self.buckets.back().map(|b| b.0);
        if last.is_none_or(|last| index >= last + self.len) {
            // Nothing for a whole window: start afresh.
            self.buckets.clear();
            self.first = Some(index);
        }
        match self.buckets.back_mut() {
            Some(bucket) if bucket.0 == index => {
                bucket.1 += value;
                bucket.2 += 1;
            }
            Some(bucket) if bucket.0 > index => {} // from the past; ignored
            _ => self.buckets.push_back((index, value, 1)),
        }
        while self
            .buckets
            .front()
            .is_some_and(|b| b.0 + self.len <= index)
        {
            self.buckets.pop_front();
        }
    }

    /// The average over the window ending at `now`.
    pub fn average(&self, now: Instant) -> f64 {
        let now = self.index(now);
        let (Some(last), Some(first)) = (self.buckets.back().map(|b| b.0), self.first) else {
            return 0.0;
        };
        let since_last = now.saturating_sub(last);
        if since_last >= self.len {
            return 0.0;
        }
        let total: f64 = self
            .buckets
            .iter()
            .filter(|b| b.0 + self.len > now)
            .map(|b| b.1 / f64::from(b.2))
            .sum();
        let valid = (last - first + 1).min(self.len - since_last);
        total / valid as f64
    }
}

/// The largest value recorded over the last `window`.
#[derive(Debug, Clone)]
pub struct MaxWindow {
    window: Duration,
    /// Decreasing values, oldest first: each may still become the maximum.
    values: VecDeque<(Instant, u32)>,
}

impl MaxWindow {
    /// A window of `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            values: VecDeque::new(),
        }
    }

    /// Records `value` at `now` and returns the largest value of the window ending then.
    pub fn record(&mut self, now: Instant, value: u32) -> u32 {
        while self.values.back().is_some_and(|&(_, v)| v <= value) {
            self.values.pop_back();
        }
        self.values.push_back((now, value));
        while self
            .values
            .front()
            .is_some_and(|&(at, _)| at + self.window <= now)
        {
            self.values.pop_front();
        }
        self.values.front().map_or(value, |&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_partial_window_averages_what_was_seen() {
        let t0 = Instant::now();
        let mut w = Average::new(t0, 60 * SECOND, SECOND);
        assert_eq!(w.average(t0), 0.0);
        w.record(t0, 10.0);
        w.record(t0 + SECOND, 20.0);
        assert!((w.average(t0 + SECOND) - 15.0).abs() < 1e-9);
    }

    #[test]
    fn several_observations_in_a_bucket_are_averaged() {
        let t0 = Instant::now();
        let mut w = Average::new(t0, 6 * SECOND, SECOND);
        w.record(t0, 10.0);
        w.record(t0 + SECOND / 2, 30.0);
        assert!((w.average(t0 + SECOND / 2) - 20.0).abs() < 1e-9);
    }

    #[test]
    fn gaps_count_as_zero_and_old_buckets_leave() {
        let t0 = Instant::now();
        let mut w = Average::new(t0, 4 * SECOND, SECOND);
        for s in 0..4 {
            w.record(t0 + s * SECOND, 8.0);
        }
        assert!((w.average(t0 + 3 * SECOND) - 8.0).abs() < 1e-9);
        // Two seconds without observations: two of four buckets remain.
        assert!((w.average(t0 + 5 * SECOND) - 8.0).abs() < 1e-9);
        w.record(t0 + 5 * SECOND, 0.0);
        // Buckets 2, 3 (8 each), 4 (nothing), 5 (0): 16 / 4.
        assert!((w.average(t0 + 5 * SECOND) - 4.0).abs() < 1e-9);
        assert_eq!(w.average(t0 + 10 * SECOND), 0.0);
    }

    #[test]
    fn a_window_of_silence_starts_afresh() {
        let t0 = Instant::now();
        let mut w = Average::new(t0, 4 * SECOND, SECOND);
        w.record(t0, 100.0);
        w.record(t0 + 10 * SECOND, 2.0);
        assert!((w.average(t0 + 10 * SECOND) - 2.0).abs() < 1e-9);
    }

    /// Knative's `TestAutoscalerScaleDownDelay` "simple" and "gradual" recommendations.
    #[test]
    fn the_max_window_holds_the_largest_recommendation() {
        let t0 = Instant::now();
        let minute = 60 * SECOND;
        let mut w = MaxWindow::new(5 * minute);
        assert_eq!(w.record(t0 + 2 * SECOND, 4), 4);
        assert_eq!(w.record(t0 + 5 * minute, 0), 4);
        assert_eq!(w.record(t0 + 5 * minute + 2 * SECOND, 0), 0);
        assert_eq!(w.record(t0 + 9 * minute, 4), 4);
        assert_eq!(w.record(t0 + 10 * minute, 3), 4);
        assert_eq!(w.record(t0 + 11 * minute, 0), 4);
        assert_eq!(w.record(t0 + 14 * minute, 0), 3);
        assert_eq!(w.record(t0 + 15 * minute, 0), 0);
    }
}
