//! A watch served by the cache: [`CacheWatch`] replays buffered events, then follows live
//! ones.
//!
//! No gap, no duplicate: the replayed events are copied from the ring and the live channel
//! is registered in one critical section of the feed (see `feed`), and the cache's feed
//! applies each event to the ring and publishes it to watchers in another. So each event is
//! either in the replay or sent live, never both, never neither. A watch that starts after a
//! revision the cache has not reached yet replays nothing and skips live events up to it.
//!
//! A slow watcher is caught up, not closed: when its buffer overflowed, the watch delivers
//! what was buffered, then subscribes again after its last revision — the same critical
//! section as a new watch, so again no gap and no duplicate. Only a watcher that fell out of
//! the ring's window, or one whose history the cache lost by relisting, ends with
//! [`Error::WatcherLagged`] (its client relists, as after Kubernetes' 410).

use super::fanout::{Ending, Receiver};
use super::feed::Subscription;
use super::shared::Shared;
use crate::store::{Error, Event, Result, Watch, WatchSource};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use tracing::debug;

/// A stream of the events of the keys under one prefix, in revision order, from the watch
/// cache (or, for prefixes outside the cache's root and reads that timed out waiting for the
/// cache, from the inner store).
///
/// Read with [`CacheWatch::next`]. The stream ends after yielding one error:
/// [`Error::WatcherLagged`] if the watcher fell further behind than the cache's window, or
/// if the cache had to relist the inner store and can no longer vouch for the watcher's
/// history (the client relists); [`Error::Closed`] if the cache shut down. Dropping it
/// unsubscribes it.
#[derive(Debug)]
pub struct CacheWatch {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Served from the cache's memory.
    Cache(Cached),
    /// Passed through from the inner store.
    Inner(Watch),
}

/// A watch served from the cache's memory.
#[derive(Debug)]
struct Cached {
    prefix: String,
    /// The cache, to subscribe to again after falling behind; gone with the cache.
    shared: Weak<Shared>,
    replay: VecDeque<Arc<Event>>,
    live: Receiver,
    /// The revision of the last event delivered (or the start revision).
    last: u64,
    done: bool,
}

impl CacheWatch {
    /// A watch of `prefix` from `shared`'s memory: first the subscription's replay, then its
    /// live events.
    pub(crate) fn cached(prefix: &str, shared: &Arc<Shared>, subscription: Subscription) -> Self {
        Self {
            source: Source::Cache(Cached {
                prefix: prefix.to_owned(),
                shared: Arc::downgrade(shared),
                replay: subscription.replay,
                live: subscription.live,
                last: subscription.start,
                done: false,
            }),
        }
    }

    /// A watch passed through from the inner store.
    pub(crate) fn inner(watch: Watch) -> Self {
        Self {
            source: Source::Inner(watch),
        }
    }

    /// Whether this watch is served from the cache (rather than the inner store).
    pub fn is_cached(&self) -> bool {
        matches!(self.source, Source::Cache(_))
    }

    /// The revision of the last event delivered (or the revision the watch started after).
    pub fn revision(&self) -> u64 {
        match &self.source {
            Source::Cache(cached) => cached.last,
            Source::Inner(watch) => watch.revision(),
        }
    }

    /// The next event; `None` once the stream has ended.
    ///
    /// Cancel-safe: dropping the future before it resolves loses no event.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        match &mut self.source {
            Source::Inner(watch) => watch.next().await,
            Source::Cache(cached) => cached.next().await,
        }
    }
}

impl Cached {
    async fn next(&mut self) -> Option<Result<Event>> {
        if self.done {
            return None;
        }
        Some(match self.step().await {
            Ok(event) => {
                self.last = event.revision;
                Ok(Arc::unwrap_or_clone(event))
            }
            Err(error) => {
                self.done = true;
                Err(error)
            }
        })
    }

    /// The next event above `last`: replayed, live, or caught up.
    async fn step(&mut self) -> Result<Arc<Event>> {
        loop {
            if let Some(event) = self.replay.pop_front() {
                return Ok(event);
            }
            if self.live.ending() == Ending::Invalidated {
                return Err(Error::WatcherLagged);
            }
            match self.live.events.recv().await {
                Some(event) if event.revision <= self.last => continue,
                Some(event) => return Ok(event),
                None => match self.live.ending() {
                    Ending::Slow => self.catch_up()?,
                    Ending::Invalidated => return Err(Error::WatcherLagged),
                    Ending::Open => return Err(Error::Closed),
                },
            }
        }
    }

    /// After the cache dropped this watcher as slow (and its buffered events were
    /// delivered): subscribes again after the last revision delivered, replaying the rest
    /// from the ring. A watcher that fell out of the ring is over.
    fn catch_up(&mut self) -> Result<()> {
        let shared = self.shared.upgrade().ok_or(Error::Closed)?;
        let subscription = match shared.feed().subscribe_after(&self.prefix, self.last) {
            Ok(subscription) => subscription,
            Err(Error::Compacted { compacted, .. }) => {
                debug!(prefix = %self.prefix, revision = self.last, compacted,
                    "cache watcher fell out of the window; closing it");
                return Err(Error::WatcherLagged);
            }
            Err(error) => return Err(error),
        };
        debug!(prefix = %self.prefix, revision = self.last, replay = subscription.replay.len(),
            "cache watcher caught up from the ring");
        self.replay = subscription.replay;
        self.live = subscription.live;
        Ok(())
    }
}

#[async_trait]
impl WatchSource for CacheWatch {
    async fn next(&mut self) -> Option<Result<Event>> {
        CacheWatch::next(self).await
    }

    fn revision(&self) -> u64 {
        CacheWatch::revision(self)
    }
}
