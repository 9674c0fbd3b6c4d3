//! [`Usage`]: what the instances of one container have used — CPU time spent running guest
//! code (cumulative) and the memory their live instances hold (a gauge) — shared by every
//! instance that counts towards it, across restarts and concurrent HTTP requests.
//!
//! CPU is measured by [`metered`]: the time spent inside each poll of the future that
//! instantiates and runs the guest, read with [`Instant`] around the poll. A guest waiting
//! on host I/O, sleeping in the host or held back by its CPU quota is not polled then, so
//! that time is not counted; time the OS takes the thread away in the middle of a poll is.
//! Memory is counted by the store's limiter (`limits`): the bytes of
//! linear memory and tables it lets grow (instantiation's initial sizes included), given
//! back when the store is dropped.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Bytes counted per table element: a host pointer, what a `funcref` slot takes.
pub(crate) const TABLE_ELEMENT_BYTES: u64 = 8;

/// Resource use of one container's instances. Share it as an `Arc<Usage>` through
/// [`CommandSpec`](crate::CommandSpec) and [`HttpConfig`](crate::HttpConfig).
#[derive(Debug, Default)]
pub struct Usage {
    cpu_nanos: AtomicU64,
    memory_bytes: AtomicU64,
}

impl Usage {
    /// A meter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// CPU time spent running guest code so far, in nanoseconds (only ever grows).
    pub fn cpu_nanos(&self) -> u64 {
        self.cpu_nanos.load(Ordering::Relaxed)
    }

    /// Bytes of linear memory and tables the live instances hold now.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn add_cpu_nanos(&self, nanos: u64) {
        self.cpu_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn add_memory(&self, bytes: u64) {
        self.memory_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn release_memory(&self, bytes: u64) {
        // Every release gives back bytes added before by the same store, so this never
        // goes below zero.
        self.memory_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Runs `run`, adding the time spent inside each of its polls to `usage`'s CPU time.
pub(crate) async fn metered<F: Future>(usage: &Usage, run: F) -> F::Output {
    let mut run = pin!(run);
    std::future::poll_fn(|cx| {
        let start = Instant::now();
        let polled = run.as_mut().poll(cx);
        let spent = start.elapsed();
        usage.add_cpu_nanos(u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX));
        polled
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn time_inside_polls_counts_and_time_between_them_does_not() {
        let usage = Usage::new();
        metered(&usage, async {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(30) {
                std::hint::spin_loop();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        })
        .await;
        let cpu = Duration::from_nanos(usage.cpu_nanos());
        assert!(cpu >= Duration::from_millis(30), "{cpu:?}");
        assert!(cpu < Duration::from_millis(200), "{cpu:?}");
    }

    #[test]
    fn memory_is_a_gauge() {
        let usage = Usage::new();
        usage.add_memory(65536);
        usage.add_memory(800);
        assert_eq!(usage.memory_bytes(), 66336);
        usage.release_memory(66336);
        assert_eq!(usage.memory_bytes(), 0);
    }
}
