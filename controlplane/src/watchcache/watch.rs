//! A watch served by the cache: [`CacheWatch`] replays buffered events, then follows live
//! ones.
//!
//! No gap, no duplicate: the replayed events are copied from the ring and the live channel
//! is registered in one critical section of the feed (see `feed`), and the cache's feed
//! applies each event to the ring and publishes it to watchers in another. So each event is
//! either in the replay or sent live, never both, never neither. A watch that starts after a
//! revision the cache has not reached yet replays nothing and skips live events up to it.

use super::fanout::Receiver;
use crate::store::{Error, Event, Result, Watch, WatchSource};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Arc;

/// A stream of the events of the keys under one prefix, in revision order, from the watch
/// cache (or, for prefixes outside the cache's root and reads that timed out waiting for the
/// cache, from the inner store).
///
/// Read with [`CacheWatch::next`]. The stream ends after yielding one error:
/// [`Error::WatcherLagged`] if the watcher fell too far behind, or if the cache had to
/// relist the inner store and can no longer vouch for the watcher's history (the client
/// relists); [`Error::Closed`] if the cache shut down. Dropping it unsubscribes it.
#[derive(Debug)]
pub struct CacheWatch {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Served from the cache's memory.
    Cache {
        replay: VecDeque<Arc<Event>>,
        live: Receiver,
        /// The revision of the last event delivered (or the start revision).
        last: u64,
        done: bool,
    },
    /// Passed through from the inner store.
    Inner(Watch),
}

impl CacheWatch {
    /// A watch from the cache after `start`: first `replay`, then `live`.
    pub(crate) fn cached(start: u64, replay: VecDeque<Arc<Event>>, live: Receiver) -> Self {
        Self {
            source: Source::Cache {
                replay,
                live,
                last: start,
                done: false,
            },
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
        matches!(self.source, Source::Cache { .. })
    }

    /// The revision of the last event delivered (or the revision the watch started after).
    pub fn revision(&self) -> u64 {
        match &self.source {
            Source::Cache { last, .. } => *last,
            Source::Inner(watch) => watch.revision(),
        }
    }

    /// The next event; `None` once the stream has ended.
    ///
    /// Cancel-safe: dropping the future before it resolves loses no event.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        let (replay, live, last, done) = match &mut self.source {
            Source::Inner(watch) => return watch.next().await,
            Source::Cache {
                replay,
                live,
                last,
                done,
            } => (replay, live, last, done),
        };
        if *done {
            return None;
        }
        let next = match replay.pop_front() {
            Some(event) => Ok(event),
            None => next_live(live, *last).await,
        };
        Some(match next {
            Ok(event) => {
                *last = event.revision;
                Ok(Arc::unwrap_or_clone(event))
            }
            Err(error) => {
                *done = true;
                Err(error)
            }
        })
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

/// The next live event above `last`.
async fn next_live(live: &mut Receiver, last: u64) -> Result<Arc<Event>> {
    loop {
        if live.lagged() {
            return Err(Error::WatcherLagged);
        }
        match live.events.recv().await {
            Some(event) if event.revision <= last => continue,
            Some(event) => return Ok(event),
            None if live.lagged() => return Err(Error::WatcherLagged),
            None => return Err(Error::Closed),
        }
    }
}
