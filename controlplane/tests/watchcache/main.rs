//! Integration tests of the watch cache, over a `MemoryStore` and over a `RedbStore` on a
//! temporary file. One binary, a module per area:
//!
//! - `model`: random operations through the cache, its reads compared with the inner
//!   store's;
//! - `consistency`: read-your-writes, from many tasks at once;
//! - `watch`: replay then live without gap or duplicate while writers run, the window's
//!   compaction point, pass-through outside the root, shutdown;
//! - `slow`: a slow watcher is closed while a hundred fast ones and the writers go on;
//! - `recovery`: the inner watch lags; the cache resumes, or relists when it must;
//! - `start`: a cache started while writers run misses nothing.

mod consistency;
mod model;
mod recovery;
mod slow;
mod start;
mod watch;

use skiff_controlplane::store::{self, Event, MemoryStore, RedbStore, Result, Store};
use skiff_controlplane::watchcache::{self, CacheWatch, CachedStore};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// Every wait in these tests is bounded by this, so a broken cache fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(60);

/// Which store the cache wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A `MemoryStore`.
    Memory,
    /// A `RedbStore` on a fresh file.
    Redb,
}

/// Both backends, for tests that run over each.
pub const BACKENDS: [Backend; 2] = [Backend::Memory, Backend::Redb];

/// A cache over a fresh inner store. Drops the cache first, then the store and its files.
pub struct Fixture {
    /// The cache under test.
    pub cache: CachedStore,
    /// The store it wraps.
    pub inner: Arc<dyn Store>,
    /// Cancels the cache's feed task (dropping the cache does too).
    pub shutdown: CancellationToken,
    /// Where a redb file lives.
    _dir: Option<TempDir>,
}

impl Fixture {
    /// A cache with `cache_config` over an empty `backend` store with `store_config`.
    pub async fn new(
        backend: Backend,
        store_config: store::Config,
        cache_config: watchcache::Config,
    ) -> Self {
        let (inner, dir): (Arc<dyn Store>, _) = match backend {
            Backend::Memory => (Arc::new(MemoryStore::new(store_config)), None),
            Backend::Redb => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("store.redb");
                let store = RedbStore::open(path, store_config).expect("open store");
                (Arc::new(store), Some(dir))
            }
        };
        Self::over(inner, cache_config, dir).await
    }

    /// A cache with default settings over an empty `backend` store.
    pub async fn default(backend: Backend) -> Self {
        Self::new(
            backend,
            store::Config::default(),
            watchcache::Config::default(),
        )
        .await
    }

    /// A cache with `cache_config` over `inner`.
    pub async fn over(
        inner: Arc<dyn Store>,
        cache_config: watchcache::Config,
        dir: Option<TempDir>,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let cache = tokio::time::timeout(
            WAIT,
            CachedStore::start(inner.clone(), cache_config, shutdown.clone()),
        )
        .await
        .expect("cache start timed out")
        .expect("start cache");
        Self {
            cache,
            inner,
            shutdown,
            _dir: dir,
        }
    }
}

/// The next item of `watch`, failing the test if none comes within [`WAIT`].
pub async fn next_event(watch: &mut CacheWatch) -> Option<Result<Event>> {
    tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("timed out waiting for a watch event")
}

/// Reads `watch` until it delivers `revision`; every item must be an event.
pub async fn events_through(watch: &mut CacheWatch, revision: u64) -> Vec<Event> {
    let mut events = Vec::new();
    while watch.revision() < revision {
        let event = next_event(watch)
            .await
            .expect("watch ended early")
            .expect("watch failed");
        events.push(event);
    }
    events
}

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} timed out"),
    }
}

/// A small seeded generator (SplitMix64): reproducible sequences without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
