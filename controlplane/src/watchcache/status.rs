//! Where a watch cache stands, for tests, metrics and debugging: [`Status`].

/// A snapshot of a cache's progress and recoveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The revision the cache has applied.
    pub revision: u64,
    /// The oldest revision a cache watch may start after (the ring's floor); older ones
    /// get [`Error::Compacted`](crate::store::Error::Compacted).
    pub compacted: u64,
    /// Open cache watchers (those closed since the last event may still be counted).
    pub watchers: usize,
    /// How many times the inner watch ended and was resumed from the cache's revision,
    /// with no effect on cache watchers.
    pub resumes: u64,
    /// How many times the cache had to relist the inner store after its start (closing
    /// its watchers as lagged).
    pub relists: u64,
}
