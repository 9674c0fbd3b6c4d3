//! The state one cache shares between its handle and its feed task: [`Shared`].
//!
//! Two locks: the [`Objects`] (a `RwLock`, so that reads proceed in parallel) and the
//! [`Feed`] (a `Mutex`: ring and watchers). The feed task takes them one at a time: it
//! applies an event to the objects, then publishes it on the feed, then advances the
//! [`Progress`] that reads wait on; so once a read sees revision R as applied, both the
//! objects and the feed reflect it. Only a listing at a past revision holds both, always
//! the objects first (the feed is never held while taking the objects), so that the ring's
//! events it undoes are exactly those after that revision the objects reflect.

use super::feed::Feed;
use super::objects::Objects;
use super::progress::Progress;
use super::{Config, Status};
use crate::store::{Event, List, ListOptions, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

/// The cache's state.
#[derive(Debug)]
pub(crate) struct Shared {
    objects: RwLock<Objects>,
    feed: Mutex<Feed>,
    pub(crate) progress: Progress,
    /// How many times the inner watch was resumed from the cache's revision.
    resumes: AtomicU64,
    /// How many times the cache relisted the inner store after its start.
    relists: AtomicU64,
}

impl Shared {
    /// The state of a cache that starts from `list`.
    pub(crate) fn new(list: List, config: &Config) -> Self {
        let revision = list.revision;
        Self {
            objects: RwLock::new(Objects::from_list(list)),
            feed: Mutex::new(Feed::new(revision, config.window, config.watch_buffer)),
            progress: Progress::new(revision),
            resumes: AtomicU64::new(0),
            relists: AtomicU64::new(0),
        }
    }

    /// Applies one event of the inner watch: to the objects, to the ring and watchers, then
    /// to the progress. Events the cache already reflects are skipped.
    pub(crate) fn apply(&self, event: Event) {
        if !self.objects_mut(|objects| objects.apply(&event)) {
            return;
        }
        let revision = event.revision;
        self.feed().publish(Arc::new(event));
        self.progress.advance(revision);
    }

    /// Replaces the whole state by a relisting; every open watcher is closed as lagged.
    pub(crate) fn replace(&self, list: List) {
        let revision = list.revision;
        self.objects_mut(|objects| *objects = Objects::from_list(list));
        self.feed().reset(revision);
        self.relists.fetch_add(1, Ordering::Relaxed);
        self.progress.advance(revision);
    }

    /// One page under `prefix` (see [`Store::list_page`]), or `None` if it asks for a
    /// revision the cache has not reached.
    ///
    /// [`Store::list_page`]: crate::store::Store::list_page
    pub(crate) fn list_page(&self, prefix: &str, options: &ListOptions) -> Option<Result<List>> {
        let objects = self.objects();
        let since = match options.revision {
            0 => None,
            at if at > objects.revision() => return None,
            at => match self.feed().since(prefix, at) {
                Ok(events) => Some(events),
                Err(error) => return Some(Err(error)),
            },
        };
        Some(objects.list_page(prefix, options, since))
    }

    /// Counts a resumed inner watch.
    pub(crate) fn resumed(&self) {
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks the feed stopped: watchers end with `Closed`, reads stop waiting.
    pub(crate) fn close(&self) {
        // Progress first: once a watcher sees its end, reads see it too.
        self.progress.close();
        self.feed().close();
    }

    /// The revision the objects are at.
    pub(crate) fn revision(&self) -> u64 {
        self.objects().revision()
    }

    /// Where the cache stands.
    pub(crate) fn status(&self) -> Status {
        let feed = self.feed();
        Status {
            revision: feed.revision(),
            compacted: feed.floor(),
            watchers: feed.watchers(),
            resumes: self.resumes.load(Ordering::Relaxed),
            relists: self.relists.load(Ordering::Relaxed),
        }
    }

    /// Reads the objects.
    pub(crate) fn objects(&self) -> RwLockReadGuard<'_, Objects> {
        // Every change to the objects is one insert, remove or swap, so a panic elsewhere
        // cannot leave them half-changed.
        self.objects.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the objects.
    fn objects_mut<T>(&self, change: impl FnOnce(&mut Objects) -> T) -> T {
        change(&mut self.objects.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Locks the feed.
    pub(crate) fn feed(&self) -> MutexGuard<'_, Feed> {
        // As for the objects: every change to the feed leaves it consistent.
        self.feed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
