//! A watch stream: [`Watch`] replays the history after a revision, then follows live events
//! (or wraps another [`WatchSource`], such as the watch cache's).
//!
//! No gap, no duplicate: [`start`] subscribes to live events *before* it reads anything, and
//! the history is read afterwards. Every event committed before the subscription is in the
//! history the watch reads (writes are published only after their commit); every event
//! published after it arrives live. The two overlap only in events committed before the
//! history read and published after the subscription, and the watch drops a live event whose
//! revision is not above the last one it delivered.
//!
//! A slow watcher is caught up, not dropped (as etcd moves a slow watcher to its "unsynced"
//! group): when the hub closes its full channel, the watch delivers what was buffered, then
//! subscribes again and replays the history from its last revision, by the same argument
//! without a gap. Only compaction overtaking it ends it ([`Error::Compacted`]).

use super::hub::{Hub, Subscription};
use super::{Error, Event, Result, Revisions};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use tracing::debug;

/// A backend's history, as a watch reads it.
#[async_trait]
pub(crate) trait History: Send + Sync {
    /// The current revision and the compaction point.
    async fn revisions(&self) -> Result<Revisions>;

    /// Up to `limit` events with revision above `after` and key starting with `prefix`,
    /// oldest first, from one snapshot.
    ///
    /// Fails with [`Error::Compacted`] if events above `after` may have been compacted.
    async fn read(&self, prefix: &str, after: u64, limit: usize) -> Result<HistoryPage>;
}

/// One step of a replay.
#[derive(Debug)]
pub(crate) struct HistoryPage {
    /// The events read.
    pub(crate) events: Vec<Event>,
    /// Whether the read reached the end of the history (rather than stopping at the limit).
    pub(crate) complete: bool,
}

/// A stream of the events of the keys under one prefix, in revision order.
///
/// Read with [`Watch::next`]. The stream ends after yielding one error:
/// [`Error::Compacted`] if compaction overtook a replay (also one that caught up a slow
/// watcher), [`Error::Closed`] if the store shut down; a watch wrapping another source may
/// also end with that source's errors ([`Error::WatcherLagged`] from the watch cache).
/// Dropping the `Watch` unsubscribes it.
#[derive(Debug)]
pub struct Watch(Source);

/// Where a [`Watch`]'s events come from.
#[derive(Debug)]
enum Source {
    /// A store's own history and hub.
    Store(StoreWatch),
    /// Another implementation of [`Store`](super::Store) (the watch cache).
    Other(Box<dyn WatchSource>),
}

/// A stream of events that a [`Watch`] can wrap: how a [`Store`](super::Store) implemented
/// outside this module (the watch cache) serves [`Store::watch`](super::Store::watch).
///
/// It must keep [`Watch`]'s contract: events in revision order, no gap, no duplicate, one
/// error then the end.
#[async_trait]
pub trait WatchSource: Send + std::fmt::Debug {
    /// The next event; `None` once the stream has ended. Must be cancel-safe.
    async fn next(&mut self) -> Option<Result<Event>>;

    /// The revision of the last event delivered (or the revision the watch started after).
    fn revision(&self) -> u64;
}

/// A watch served from a store's history and hub.
struct StoreWatch {
    prefix: String,
    /// The hub to subscribe to again after falling behind; gone with the store.
    hub: Weak<Hub>,
    /// The backend's history, for catching up.
    source: Arc<dyn History>,
    /// Where to read the rest of the replay from, until the history is exhausted.
    history: Option<Arc<dyn History>>,
    page: usize,
    replayed: VecDeque<Event>,
    /// The revision of the last event delivered (or the start revision).
    last: u64,
    live: Subscription,
    done: bool,
}

impl std::fmt::Debug for StoreWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("prefix", &self.prefix)
            .field("replaying", &self.history.is_some())
            .field("last", &self.last)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Starts a watch of `prefix` after `from_revision` (0: from now) on a backend's `hub` and
/// `history`, replaying `page` events per read.
pub(crate) async fn start(
    hub: &Arc<Hub>,
    history: Arc<dyn History>,
    prefix: &str,
    from_revision: u64,
    page: usize,
) -> Result<Watch> {
    // Subscribe first: see the module docs for why this leaves no gap.
    let live = hub.subscribe(prefix);
    let revisions = history.revisions().await?;
    let source = history.clone();
    let (history, last) = if from_revision == 0 {
        (None, revisions.current)
    } else if from_revision < revisions.compacted {
        return Err(Error::Compacted {
            requested: from_revision,
            compacted: revisions.compacted,
        });
    } else {
        (Some(history), from_revision)
    };
    Ok(Watch(Source::Store(StoreWatch {
        prefix: prefix.to_owned(),
        hub: Arc::downgrade(hub),
        source,
        history,
        page: page.max(1),
        replayed: VecDeque::new(),
        last,
        live,
        done: false,
    })))
}

impl Watch {
    /// A watch whose events come from `source`.
    pub fn from_source(source: Box<dyn WatchSource>) -> Self {
        Self(Source::Other(source))
    }

    /// The next event; `None` once the stream has ended.
    ///
    /// Cancel-safe: dropping the future before it resolves loses no event.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        match &mut self.0 {
            Source::Store(watch) => watch.next().await,
            Source::Other(source) => source.next().await,
        }
    }

    /// The revision of the last event delivered (or the revision the watch started after).
    pub fn revision(&self) -> u64 {
        match &self.0 {
            Source::Store(watch) => watch.last,
            Source::Other(source) => source.revision(),
        }
    }
}

impl StoreWatch {
    async fn next(&mut self) -> Option<Result<Event>> {
        if self.done {
            return None;
        }
        let next = self.step().await;
        match &next {
            Ok(event) => self.last = event.revision,
            Err(_) => self.done = true,
        }
        Some(next)
    }

    async fn step(&mut self) -> Result<Event> {
        loop {
            if let Some(event) = self.replayed.pop_front() {
                return Ok(event);
            }
            if let Some(history) = &self.history {
                let page = history.read(&self.prefix, self.last, self.page).await?;
                if page.complete {
                    self.history = None;
                }
                self.replayed = page.events.into();
                continue;
            }
            match self.live.events.recv().await {
                Some(event) if event.revision <= self.last => continue,
                Some(event) => return Ok(event),
                None if self.live.lagged() => self.catch_up()?,
                None => return Err(Error::Closed),
            }
        }
    }

    /// After the hub dropped this watcher for falling behind (and its buffered events were
    /// delivered): subscribes again, then replays the history from the last revision
    /// delivered — subscribe first, as in [`start`].
    fn catch_up(&mut self) -> Result<()> {
        let hub = self.hub.upgrade().ok_or(Error::Closed)?;
        debug!(prefix = %self.prefix, revision = self.last,
            "store watcher fell behind; catching up from the history");
        self.live = hub.subscribe(&self.prefix);
        self.history = Some(self.source.clone());
        Ok(())
    }
}
