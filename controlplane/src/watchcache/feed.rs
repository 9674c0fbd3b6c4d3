//! The cache's event log and its watchers, kept under one lock: [`Feed`].
//!
//! Appending an event to the [`Ring`] and publishing it to the [`Watchers`] happen in one
//! critical section, and so do copying a new watch's replay from the ring and registering
//! its live channel: this is what makes a cache watch gapless and duplicate-free (see
//! `watch`). Nothing in the section waits: publishing is `try_send`.

use super::fanout::{Receiver, Watchers};
use super::ring::Ring;
use crate::store::{Error, Event, Result};
use std::collections::VecDeque;
use std::sync::Arc;

/// The recent events and the live watchers of one cache.
#[derive(Debug)]
pub(crate) struct Feed {
    ring: Ring,
    watchers: Watchers,
    /// The revision of the last event published (or of the listing the cache started from).
    revision: u64,
    /// Set once the cache's feed task has stopped: no more events will come.
    closed: bool,
}

impl Feed {
    /// A feed at `revision` (a listing's), keeping `window` events, whose watchers each
    /// buffer `buffer` events.
    pub(crate) fn new(revision: u64, window: usize, buffer: usize) -> Self {
        Self {
            ring: Ring::new(window, revision),
            watchers: Watchers::new(buffer),
            revision,
            closed: false,
        }
    }

    /// The revision of the last event published.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// The oldest revision a watch may start after.
    pub(crate) fn floor(&self) -> u64 {
        self.ring.floor()
    }

    /// How many watchers are open.
    pub(crate) fn watchers(&self) -> usize {
        self.watchers.len()
    }

    /// Appends `event` (newer than any before) and sends it to the matching watchers.
    pub(crate) fn publish(&mut self, event: Arc<Event>) {
        self.revision = event.revision;
        self.watchers.publish(&event);
        self.ring.push(event);
    }

    /// Starts over at a relisting's `revision`: the buffered history no longer connects to
    /// the new state, so every watcher is closed as invalidated and the ring is emptied.
    pub(crate) fn reset(&mut self, revision: u64) {
        self.watchers.invalidate_all();
        self.ring.reset(revision);
        self.revision = revision;
    }

    /// The events of keys under `prefix` after `after`, oldest first; [`Error::Compacted`]
    /// if the ring no longer reaches back that far.
    pub(crate) fn since(&self, prefix: &str, after: u64) -> Result<VecDeque<Arc<Event>>> {
        if after < self.ring.floor() {
            return Err(Error::Compacted {
                requested: after,
                compacted: self.ring.floor(),
            });
        }
        Ok(self.ring.since(prefix, after))
    }

    /// Ends every watcher with [`Error::Closed`] and refuses new ones.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.watchers.close_all();
    }

    /// A watch of `prefix` after `from` (0: after the current revision).
    ///
    /// Fails with [`Error::Compacted`] if `from` is below the ring's floor and with
    /// [`Error::Closed`] after [`Feed::close`].
    pub(crate) fn subscribe(&mut self, prefix: &str, from: u64) -> Result<Subscription> {
        let start = if from == 0 { self.revision } else { from };
        self.subscribe_after(prefix, start)
    }

    /// A watch of `prefix` after exactly `start` (0 included: from the beginning, if the
    /// ring still holds it), as a slow watcher catching up needs.
    pub(crate) fn subscribe_after(&mut self, prefix: &str, start: u64) -> Result<Subscription> {
        if self.closed {
            return Err(Error::Closed);
        }
        let replay = self.since(prefix, start)?;
        let live = self.watchers.subscribe(prefix);
        Ok(Subscription {
            start,
            replay,
            live,
        })
    }
}

/// What a new (or caught-up) cache watch starts from: the events after `start` copied from
/// the ring, then its live channel, registered in the same critical section.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) start: u64,
    pub(crate) replay: VecDeque<Arc<Event>>,
    pub(crate) live: Receiver,
}
