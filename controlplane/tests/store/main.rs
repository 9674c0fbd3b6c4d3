//! Integration tests of the control plane's store, on real redb files in temporary
//! directories. One binary, a module per area:
//!
//! - `model`: random operation sequences against a `BTreeMap` model;
//! - `reopen`: everything survives closing and reopening the file;
//! - `watch`: replay then live without gap or duplicate, compaction, slow watchers;
//! - `crash`: acknowledged writes survive SIGKILL of the process;
//! - `group_commit`: concurrent writes share commits and get contiguous revisions.

mod crash;
mod group_commit;
mod model;
mod reopen;
mod watch;

use skiff_controlplane::store::{Config, Event, RedbStore, Result, Watch};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tempfile::TempDir;

/// Every wait in these tests is bounded by this, so a broken store fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(60);

/// A store on a fresh file in its own temporary directory (removed when dropped).
pub struct Fixture {
    /// The store under test.
    pub store: RedbStore,
    /// Where its file lives.
    pub dir: TempDir,
}

impl Fixture {
    /// Opens a store with `config` on a new file.
    pub fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(db_path(&dir), config).expect("open store");
        Self { store, dir }
    }

    /// Closes the store and opens the same file again.
    pub fn reopen(self, config: Config) -> Self {
        let Self { store, dir } = self;
        drop(store);
        let store = RedbStore::open(db_path(&dir), config).expect("reopen store");
        Self { store, dir }
    }
}

/// The store file in `dir`.
pub fn db_path(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("store.redb")
}

/// The next item of `watch`, failing the test if none comes within [`WAIT`].
pub async fn next_event(watch: &mut Watch) -> Option<Result<Event>> {
    tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("timed out waiting for a watch event")
}

/// Reads `watch` until it delivers `revision`; every item must be an event.
pub async fn events_through(watch: &mut Watch, revision: u64) -> Vec<Event> {
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

/// A boxed future, for [`join_in_order`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `futures` concurrently, polling each for the first time in order (so that writes
/// are queued to the store in that order), and returns their outputs in order.
pub async fn join_in_order<T>(futures: Vec<BoxFuture<'_, T>>) -> Vec<T> {
    let mut futures: Vec<_> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
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
