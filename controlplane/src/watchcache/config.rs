//! Tunables of the watch cache: [`Config`] and the `DEFAULT_*` values it starts from.

use std::time::Duration;

/// The prefix the cache mirrors: every Kubernetes object lives under it.
///
/// Keys outside it (bookkeeping such as leases of the control plane itself, if any) are not
/// cached; reads and watches of them go to the inner store.
pub const DEFAULT_ROOT: &str = "/registry/";

/// How many recent events the cache keeps for its watches to replay.
///
/// A watch may start after any revision from the oldest one still buffered (minus one) on;
/// older ones are answered with [`Error::Compacted`](crate::store::Error::Compacted) (HTTP
/// 410) and the client relists. 10,000 matches the store's own history window
/// ([`store::DEFAULT_HISTORY_WINDOW`](crate::store::DEFAULT_HISTORY_WINDOW)), several
/// minutes of writes in a small cluster; the events share their value bytes with the
/// current objects, so the ring costs little more than its keys.
pub const DEFAULT_WINDOW: usize = 10_000;

/// How many live events one cache watcher may have waiting before it is closed as too slow.
///
/// Cache watchers are API watch streams written to clients over HTTP; 1,024 rides out a
/// burst (a Deployment scaled by hundreds) while bounding what a stalled client pins.
/// Events are shared (`Arc`) between watchers, so a full buffer costs 1,024 pointers.
pub const DEFAULT_WATCH_BUFFER: usize = 1_024;

/// How long a read waits for the cache to apply the caller's latest write before it reads
/// the inner store instead.
///
/// The cache normally trails the store by well under a millisecond; 5 s only elapses if its
/// feed is stuck or recovering, and then a slower consistent read beats a stale one.
pub const DEFAULT_READ_WAIT: Duration = Duration::from_secs(5);

/// The first pause before retrying after the cache failed to rewatch or relist the inner
/// store; it doubles per consecutive failure up to [`DEFAULT_MAX_RETRY_BACKOFF`].
///
/// A lagged inner watch is resumed at once; only repeated failures (the store refusing
/// reads) back off, so that a sick store is not hammered.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// The longest pause between retries of a failing inner store.
pub const DEFAULT_MAX_RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// A watch cache's tunables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The prefix mirrored in memory; reads and watches under it are served by the cache,
    /// others by the inner store.
    pub root: String,
    /// Events kept for replay (0 keeps none: watches can then only start from the cache's
    /// current revision or later).
    pub window: usize,
    /// Live events a cache watcher may have waiting before it is closed; at least 1.
    pub watch_buffer: usize,
    /// How long a read waits for the cache to catch up with the latest write made through
    /// it before falling back to the inner store.
    pub read_wait: Duration,
    /// First pause before retrying a failed rewatch or relist.
    pub retry_backoff: Duration,
    /// Longest pause between retries.
    pub max_retry_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            root: DEFAULT_ROOT.to_owned(),
            window: DEFAULT_WINDOW,
            watch_buffer: DEFAULT_WATCH_BUFFER,
            read_wait: DEFAULT_READ_WAIT,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            max_retry_backoff: DEFAULT_MAX_RETRY_BACKOFF,
        }
    }
}
