//! [`Backoffs`]: how long a Job waits before replacing failed pods. Each failure since the
//! Job's last success doubles the delay, counted from the last failure, as Kubernetes'
//! `podBackoffStore` does. The record is in memory: a restarted controller starts over.
//!
//! Deviation: Kubernetes starts at 10 s and caps at 6 min. A wasm pod starts in well under
//! a millisecond, so a failing Job here retries after [`BASE`], doubling up to [`MAX`];
//! the agent's own restart backoff still applies within a pod (`restartPolicy: OnFailure`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Delay before replacing the first failed pod.
pub const BASE: Duration = Duration::from_secs(1);
/// Longest delay before replacing a failed pod.
pub const MAX: Duration = Duration::from_secs(60);

/// The failure records of every Job, by key.
#[derive(Default)]
pub(super) struct Backoffs {
    records: Mutex<HashMap<String, Record>>,
}

struct Record {
    /// Failures since the last success.
    failures: u32,
    last_failure: Instant,
}

impl Backoffs {
    /// Records pods of `key` that just finished.
    pub(super) fn record(&self, key: &str, succeeded: usize, failed: usize) {
        if succeeded == 0 && failed == 0 {
            return;
        }
        let mut records = self.lock();
        if succeeded > 0 {
            // Without finish times to order them by, a batch that holds a success resets
            // the count to the failures seen alongside it.
            records.remove(key);
        }
        if failed > 0 {
            let record = records.entry(key.to_string()).or_insert(Record {
                failures: 0,
                last_failure: Instant::now(),
            });
            record.failures = record
                .failures
                .saturating_add(u32::try_from(failed).unwrap_or(u32::MAX));
            record.last_failure = Instant::now();
        }
    }

    /// How long `key` must still wait before creating pods.
    pub(super) fn remaining(&self, key: &str) -> Duration {
        let records = self.lock();
        let Some(record) = records.get(key) else {
            return Duration::ZERO;
        };
        delay(record.failures).saturating_sub(record.last_failure.elapsed())
    }

    /// Forgets `key` (its Job finished or is gone).
    pub(super) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The delay after `failures` consecutive failures.
pub(super) fn delay(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    BASE.saturating_mul(1u32 << (failures - 1).min(16)).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap() {
        assert_eq!(delay(0), Duration::ZERO);
        assert_eq!(delay(1), BASE);
        assert_eq!(delay(2), BASE * 2);
        assert_eq!(delay(3), BASE * 4);
        assert_eq!(delay(40), MAX);
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = Backoffs::default();
        assert_eq!(b.remaining("j"), Duration::ZERO);
        b.record("j", 0, 2);
        let left = b.remaining("j");
        assert!(left > Duration::ZERO && left <= BASE * 2, "{left:?}");
        b.record("j", 1, 0);
        assert_eq!(b.remaining("j"), Duration::ZERO);
        b.record("j", 0, 1);
        b.forget("j");
        assert_eq!(b.remaining("j"), Duration::ZERO);
    }
}
