//! The watch cache: [`CachedStore`] serves reads and watches of API objects from memory,
//! kept in step with the store by one watch, in the mould of the Kubernetes API server's
//! cacher.
//!
//! On start the cache lists the inner store under a root prefix ([`DEFAULT_ROOT`]) and then
//! follows one inner watch of it in a background task, keeping the current objects (a
//! `BTreeMap`) and a ring of the most recent events ([`DEFAULT_WINDOW`]). Writes go straight
//! to the inner store. Reads under the root are answered from memory, after waiting until the
//! cache has applied every write acknowledged through it (read-your-writes, bounded by
//! [`DEFAULT_READ_WAIT`], after which the read goes to the inner store). Cache watches replay
//! from the ring, then follow live events, each watcher with a bounded buffer
//! ([`DEFAULT_WATCH_BUFFER`]); a watcher that overflows it catches up from the ring, never
//! slowing the feed or other watchers, and only one that falls out of the ring is closed with
//! [`Error::WatcherLagged`]. Keys outside the root are passed through to the inner store.
//!
//! Parts:
//! - [`CachedStore`] (here): the handle, implementing [`Store`];
//! - [`CacheWatch`] (`watch`): a watch served from the cache;
//! - [`Config`] and its `DEFAULT_*` tunables (`config`); [`Status`] (`status`);
//! - `reflector`: the feed task (initial sync, recovery, shutdown);
//! - `shared`: the state shared by handle and task, with `objects` (the current objects),
//!   `feed` (the ring of recent events, `ring`, and the watchers, `fanout`, under one lock)
//!   and `progress` (read-your-writes).
//!
//! [`Store::watch`] on a `CachedStore` is [`CachedStore::watch_from_cache`], wrapped in the
//! store's [`Watch`] through [`WatchSource`](crate::store::WatchSource).

mod config;
mod fanout;
mod feed;
mod objects;
mod progress;
mod reflector;
mod ring;
mod shared;
mod status;
mod watch;

pub use config::{
    Config, DEFAULT_MAX_RETRY_BACKOFF, DEFAULT_READ_WAIT, DEFAULT_RETRY_BACKOFF, DEFAULT_ROOT,
    DEFAULT_WATCH_BUFFER, DEFAULT_WINDOW,
};
pub use status::Status;
pub use watch::CacheWatch;

use crate::store::{Deleted, Error, KeyValue, List, ListOptions, Result, Revisions, Store, Watch};
use async_trait::async_trait;
use bytes::Bytes;
use progress::CatchUp;
use reflector::Reflector;
use shared::Shared;
use std::sync::Arc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{Instrument, info_span, warn};

/// A [`Store`] whose reads and watches under a root prefix are served from memory, and whose
/// writes go to the inner store.
///
/// Dropping it stops its feed task (as does cancelling the token it was started with); its
/// open [`CacheWatch`]es then end with [`Error::Closed`].
pub struct CachedStore {
    inner: Arc<dyn Store>,
    shared: Arc<Shared>,
    config: Config,
    /// Cancels the feed task when the cache is dropped.
    _stop: DropGuard,
}

impl std::fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("config", &self.config)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl CachedStore {
    /// Lists `inner` under `config.root` and starts following it, until `shutdown` is
    /// cancelled or the cache is dropped. Returns once the listing is loaded, so the first
    /// read is already served from memory.
    ///
    /// Must be called within a tokio runtime. Fails if the initial watch or listing fails.
    pub async fn start(
        inner: Arc<dyn Store>,
        config: Config,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let (watch, list) = reflector::sync(&*inner, &config.root).await?;
        let shared = Arc::new(Shared::new(list, &config));
        let stop = shutdown.child_token();
        let span = info_span!("watch_cache", root = %config.root);
        let reflector = Reflector::new(inner.clone(), shared.clone(), config.clone());
        tokio::spawn(reflector.run(watch, stop.clone()).instrument(span));
        Ok(Self {
            inner,
            shared,
            config,
            _stop: stop.drop_guard(),
        })
    }

    /// The store this cache wraps.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Where the cache stands.
    pub fn status(&self) -> Status {
        self.shared.status()
    }

    /// Watches the keys starting with `prefix` from the cache: replays the buffered events
    /// after `from_revision`, then follows live events, with no gap and no duplicate.
    /// `from_revision` 0 means "from now" (after the latest write made through the cache).
    /// A revision the cache has not reached yet is fine: the watch starts after it.
    ///
    /// Fails with [`Error::Compacted`] if `from_revision` is older than the cache's window
    /// (its `compacted` is the oldest revision a watch may start after) and with
    /// [`Error::Closed`] if the cache has stopped. A prefix outside the cache's root, and a
    /// watch "from now" while the cache is too far behind (see [`Config::read_wait`]), are
    /// passed through to the inner store.
    pub async fn watch_from_cache(&self, prefix: &str, from_revision: u64) -> Result<CacheWatch> {
        if !self.covers(prefix) {
            return Ok(CacheWatch::inner(
                self.inner.watch(prefix, from_revision).await?,
            ));
        }
        if from_revision == 0 && !self.caught_up().await? {
            return Ok(CacheWatch::inner(self.inner.watch(prefix, 0).await?));
        }
        let subscription = self.shared.feed().subscribe(prefix, from_revision)?;
        Ok(CacheWatch::cached(prefix, &self.shared, subscription))
    }

    /// Whether `key_or_prefix` is within the cached root.
    fn covers(&self, key_or_prefix: &str) -> bool {
        key_or_prefix.starts_with(&self.config.root)
    }

    /// Waits until the cache reflects every write acknowledged through it; false if that
    /// took longer than the configured wait (the caller then reads the inner store).
    async fn caught_up(&self) -> Result<bool> {
        match self.shared.progress.catch_up(self.config.read_wait).await {
            CatchUp::Ready => Ok(true),
            CatchUp::TimedOut => {
                warn!(
                    revision = self.shared.revision(),
                    "watch cache is behind the latest write; reading the inner store"
                );
                Ok(false)
            }
            CatchUp::Closed => Err(Error::Closed),
        }
    }

    /// Records a successful write of `key` at `revision`, for read-your-writes.
    fn wrote(&self, key: &str, revision: u64) {
        if self.covers(key) {
            self.shared.progress.wrote(revision);
        }
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let kv = self.inner.create(key, value).await?;
        self.wrote(key, kv.mod_revision);
        Ok(kv)
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: u64,
    ) -> Result<KeyValue> {
        let kv = self.inner.update(key, value, expected_mod_revision).await?;
        self.wrote(key, kv.mod_revision);
        Ok(kv)
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<u64>) -> Result<Deleted> {
        let deleted = self.inner.delete(key, expected_mod_revision).await?;
        self.wrote(key, deleted.revision);
        Ok(deleted)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        if self.covers(key) && self.caught_up().await? {
            return Ok(self.shared.objects().get(key));
        }
        self.inner.get(key).await
    }

    /// Under the root, the page is read from memory and its revision is the cache's: the
    /// revision of the latest write under the root (writes elsewhere do not move it).
    async fn list_page(&self, prefix: &str, options: &ListOptions) -> Result<List> {
        if self.covers(prefix)
            && self.caught_up().await?
            && let Some(page) = self.shared.list_page(prefix, options)
        {
            return page;
        }
        self.inner.list_page(prefix, options).await
    }

    /// Served by [`CachedStore::watch_from_cache`].
    async fn watch(&self, prefix: &str, from_revision: u64) -> Result<Watch> {
        let watch = self.watch_from_cache(prefix, from_revision).await?;
        Ok(Watch::from_source(Box::new(watch)))
    }

    /// The cache's revision (that of the latest write under the root it has applied) and
    /// the oldest revision a cache watch may start after.
    async fn revisions(&self) -> Result<Revisions> {
        if !self.caught_up().await? {
            return self.inner.revisions().await;
        }
        let status = self.status();
        Ok(Revisions {
            current: status.revision,
            compacted: status.compacted,
        })
    }

    async fn compact(&self, revision: u64) -> Result<()> {
        self.inner.compact(revision).await
    }
}
