//! The cache's feed task: [`Reflector`] keeps the cache in step with the inner store, and
//! recovers when the inner watch ends.
//!
//! Listing and watching without a gap: [`sync`] starts the inner watch "from now" *before*
//! it lists, so every write after the watch's start is delivered by the watch, and the
//! listing (read later, at a revision at least the watch's start) contains every write
//! before it; events the listing already reflects are skipped when applied. This also
//! covers an empty store, listed at revision 0, which a watch "after 0" could not follow
//! (0 means "from now").
//!
//! Recovery: when the inner watch ends with an error (it lagged, the store failed, a replay
//! was overtaken by compaction), the task first resumes it from the cache's revision: if the
//! store's history still holds that revision, the cache continues with no gap and its own
//! watchers notice nothing. If the history has been compacted past it (or the cache is still
//! at revision 0), the task relists as at the start, replaces the cache's state, and closes
//! every cache watcher with `WatcherLagged`: the events between the old and the new state are
//! lost, so their streams cannot continue (their clients relist, as Kubernetes clients do
//! after a 410). Failures to rewatch or relist are retried with exponential backoff, as are
//! inner watches that end again without delivering anything.
//!
//! Shutdown: the task stops when its `CancellationToken` is cancelled (the `CachedStore`
//! cancels it when dropped); it then releases the inner store and ends every cache watcher
//! with `Closed`.

use super::Config;
use super::shared::Shared;
use crate::store::{Error, List, Result, Store, Watch};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The inner watch and listing of `root`, without a gap between them (see the module docs).
pub(crate) async fn sync(inner: &dyn Store, root: &str) -> Result<(Watch, List)> {
    let watch = inner.watch(root, 0).await?;
    let list = inner.list(root).await?;
    Ok((watch, list))
}

/// The feed task of one cache.
pub(crate) struct Reflector {
    inner: Arc<dyn Store>,
    shared: Arc<Shared>,
    config: Config,
}

impl Reflector {
    /// The feed task of the cache `shared` over `inner`.
    pub(crate) fn new(inner: Arc<dyn Store>, shared: Arc<Shared>, config: Config) -> Self {
        Self {
            inner,
            shared,
            config,
        }
    }

    /// Follows `watch` (from [`sync`], whose listing the cache started from), recovering
    /// whenever it ends, until `shutdown`.
    pub(crate) async fn run(self, mut watch: Watch, shutdown: CancellationToken) {
        let mut backoff = self.config.retry_backoff;
        loop {
            let before = self.shared.revision();
            let error = tokio::select! {
                () = shutdown.cancelled() => break,
                error = self.follow(&mut watch) => error,
            };
            let revision = self.shared.revision();
            warn!(%error, revision, "inner watch ended; rewatching");
            if revision == before {
                // No progress since the last rewatch: do not spin on a failing store.
                if !pause(&shutdown, &mut backoff, &self.config).await {
                    break;
                }
            } else {
                backoff = self.config.retry_backoff;
            }
            match self.reconnect(&shutdown, &mut backoff).await {
                Some(next) => watch = next,
                None => break,
            }
        }
        // Release the inner store before telling watchers and readers the cache is over.
        let Self { inner, shared, .. } = self;
        drop((watch, inner));
        shared.close();
        info!("watch cache stopped");
    }

    /// Applies the events of `watch` until it ends; returns why it ended.
    async fn follow(&self, watch: &mut Watch) -> Error {
        loop {
            match watch.next().await {
                Some(Ok(event)) => self.shared.apply(event),
                Some(Err(error)) => return error,
                None => return Error::Closed,
            }
        }
    }

    /// A new inner watch, retrying with backoff; `None` on shutdown.
    async fn reconnect(
        &self,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
    ) -> Option<Watch> {
        loop {
            let attempt = tokio::select! {
                () = shutdown.cancelled() => return None,
                attempt = self.rewatch() => attempt,
            };
            match attempt {
                Ok(watch) => return Some(watch),
                Err(error) => warn!(%error, "rewatching the inner store failed; retrying"),
            }
            if !pause(shutdown, backoff, &self.config).await {
                return None;
            }
        }
    }

    /// Resumes the inner watch from the cache's revision, or relists if the store's history
    /// no longer reaches back to it.
    async fn rewatch(&self) -> Result<Watch> {
        let root = &self.config.root;
        let revision = self.shared.revision();
        if revision > 0 {
            match self.inner.watch(root, revision).await {
                Ok(watch) => {
                    self.shared.resumed();
                    info!(revision, "resumed the inner watch");
                    return Ok(watch);
                }
                Err(Error::Compacted { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        let (watch, list) = sync(&*self.inner, root).await?;
        warn!(
            from = revision,
            to = list.revision,
            "relisted the inner store; closing the cache's watchers"
        );
        self.shared.replace(list);
        Ok(watch)
    }
}

/// Sleeps `backoff` (doubling it for next time, up to the maximum); false on shutdown.
async fn pause(shutdown: &CancellationToken, backoff: &mut Duration, config: &Config) -> bool {
    let sleep = *backoff;
    *backoff = (*backoff * 2).min(config.max_retry_backoff);
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(sleep) => true,
    }
}
