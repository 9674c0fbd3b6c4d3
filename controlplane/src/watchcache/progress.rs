//! Read-your-writes: [`Progress`] tracks the latest write made through the cache and the
//! revision the cache has applied, and lets a read wait (without polling) until the second
//! reaches the first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// How far the cache has got, compared with the writes made through it.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The highest revision of a write under the root acknowledged through the cache.
    written: AtomicU64,
    /// The cache's applied revision, and whether its feed has stopped.
    applied: watch::Sender<Applied>,
}

/// What the cache's feed has done so far.
#[derive(Debug, Clone, Copy)]
struct Applied {
    revision: u64,
    closed: bool,
}

/// Whether a read may be served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatchUp {
    /// The cache reflects every write acknowledged through it before the read began.
    Ready,
    /// The cache did not catch up in time; read the inner store.
    TimedOut,
    /// The cache's feed has stopped.
    Closed,
}

impl Progress {
    /// Progress of a cache that starts at `revision`.
    pub(crate) fn new(revision: u64) -> Self {
        Self {
            written: AtomicU64::new(revision),
            applied: watch::Sender::new(Applied {
                revision,
                closed: false,
            }),
        }
    }

    /// Records that a write under the root was acknowledged at `revision`.
    pub(crate) fn wrote(&self, revision: u64) {
        self.written.fetch_max(revision, Ordering::AcqRel);
    }

    /// Records that the cache has applied everything up to `revision`, waking the reads
    /// waiting for it.
    pub(crate) fn advance(&self, revision: u64) {
        self.applied.send_if_modified(|applied| {
            let advanced = revision > applied.revision;
            if advanced {
                applied.revision = revision;
            }
            advanced
        });
    }

    /// Records that the feed has stopped, waking every waiting read.
    pub(crate) fn close(&self) {
        self.applied.send_modify(|applied| applied.closed = true);
    }

    /// Waits, at most `wait`, until the cache has applied every write acknowledged through it
    /// so far.
    pub(crate) async fn catch_up(&self, wait: Duration) -> CatchUp {
        let target = self.written.load(Ordering::Acquire);
        let ready = |applied: &Applied| applied.closed || applied.revision >= target;
        let verdict = |applied: &Applied| {
            if applied.closed {
                CatchUp::Closed
            } else {
                CatchUp::Ready
            }
        };
        {
            let applied = self.applied.borrow();
            if ready(&applied) {
                return verdict(&applied);
            }
        }
        let mut applied = self.applied.subscribe();
        match tokio::time::timeout(wait, applied.wait_for(ready)).await {
            Ok(Ok(applied)) => verdict(&applied),
            // The sender lives as long as `self`: it cannot be gone while we borrow it.
            Ok(Err(_)) => CatchUp::Closed,
            Err(_) => CatchUp::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_waits_for_the_write_then_times_out_or_proceeds() {
        let progress = std::sync::Arc::new(Progress::new(3));
        assert_eq!(progress.catch_up(Duration::ZERO).await, CatchUp::Ready);
        progress.wrote(5);
        // Nothing advances: the read gives up after its wait.
        assert_eq!(
            progress.catch_up(Duration::from_millis(20)).await,
            CatchUp::TimedOut
        );
        let waiting = {
            let progress = progress.clone();
            tokio::spawn(async move { progress.catch_up(Duration::from_secs(60)).await })
        };
        tokio::task::yield_now().await;
        progress.advance(4);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        progress.advance(5);
        assert_eq!(waiting.await.ok(), Some(CatchUp::Ready));
        progress.wrote(9);
        progress.close();
        assert_eq!(
            progress.catch_up(Duration::from_secs(60)).await,
            CatchUp::Closed
        );
    }
}
