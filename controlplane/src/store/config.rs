//! Tunables of a store: [`Config`] and the `DEFAULT_*` values it starts from.

/// How many revisions of history are kept for watches to replay.
///
/// A watcher that is further behind than this must relist (HTTP 410). Kubernetes compacts
/// etcd every 5 minutes; 10,000 revisions covers more than that at the write rates of a
/// small cluster (tens of writes per second) while bounding the history to tens of MB for
/// objects of a few KB.
pub const DEFAULT_HISTORY_WINDOW: u64 = 10_000;

/// How many live events a watcher may have waiting before it falls back to catching up
/// from the history.
///
/// The store's watchers are the API server's watch caches, which read promptly; 1,024 rides
/// out a burst of writes (a Deployment scaled by hundreds) on the fast path without holding
/// an unbounded backlog for a consumer that has stopped reading. Events share their value
/// bytes, so a full buffer costs little more than the keys.
pub const DEFAULT_WATCH_BUFFER: usize = 1_024;

/// The most writes committed in one redb transaction.
///
/// Batching amortises one fsync over many writes; the cap bounds the latency the last write
/// of a batch pays for the ones before it and the size of one transaction.
pub const DEFAULT_MAX_BATCH: usize = 1_024;

/// How many history events a replaying watch reads per step.
///
/// Replay reads the history in pages so that a watch from far back never holds the whole
/// window in memory at once; 256 events keeps a page well under a few MB.
pub const DEFAULT_HISTORY_PAGE: usize = 256;

/// A store's tunables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Revisions of history kept; after each write batch, history older than
    /// `current - history_window` is compacted. 0 keeps everything (compaction is then only
    /// by [`Store::compact`](super::Store::compact)).
    pub history_window: u64,
    /// Live events a watcher may have waiting before it falls back to catching up from the
    /// history; at least 1.
    pub watch_buffer: usize,
    /// Most writes per transaction ([`RedbStore`](super::RedbStore) only); at least 1.
    pub max_batch: usize,
    /// History events read per replay step; at least 1.
    pub history_page: usize,
    /// Commit with redb's two-phase commit ([`RedbStore`](super::RedbStore) only): two
    /// fsyncs per commit instead of one, which defends against a crafted partial commit
    /// passing redb's non-cryptographic checksum. Off by default.
    pub two_phase_commit: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            history_window: DEFAULT_HISTORY_WINDOW,
            watch_buffer: DEFAULT_WATCH_BUFFER,
            max_batch: DEFAULT_MAX_BATCH,
            history_page: DEFAULT_HISTORY_PAGE,
            two_phase_commit: false,
        }
    }
}
