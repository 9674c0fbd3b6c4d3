//! Fan-out of the cache's live events to its watchers: [`Watchers`].
//!
//! Each watcher has a bounded channel of `Arc<Event>`: publishing one event to a thousand
//! watchers costs a thousand pointer copies and never waits. A watcher whose channel is full
//! is dropped as [`Ending::Slow`], so a slow watcher never blocks the cache's feed or anyone
//! else; its watch then catches up from the ring (see `watch`). When the cache relists, every
//! watcher is dropped as [`Ending::Invalidated`] and ends with
//! [`Error::WatcherLagged`](crate::store::Error::WatcherLagged).

use crate::store::Event;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::mpsc;
use tracing::debug;

/// Why the cache dropped a watcher's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Not dropped (or dropped because the cache shut down).
    Open,
    /// Its buffer was full: the events after its last one are still in the ring, or were.
    Slow,
    /// The cache relisted: the events between its old and new state are lost.
    Invalidated,
}

const OPEN: u8 = 0;
const SLOW: u8 = 1;
const INVALIDATED: u8 = 2;

/// The live watchers of one cache.
#[derive(Debug)]
pub(crate) struct Watchers {
    senders: Vec<Sender>,
    buffer: usize,
}

/// The cache's end of one watcher.
#[derive(Debug)]
struct Sender {
    prefix: String,
    events: mpsc::Sender<Arc<Event>>,
    ending: Arc<AtomicU8>,
}

/// A watcher's end: its live events, and why the cache dropped it if it did.
///
/// The channel closes when the watcher is dropped (then [`Receiver::ending`] says why) or
/// when the cache shuts down.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) events: mpsc::Receiver<Arc<Event>>,
    ending: Arc<AtomicU8>,
}

impl Receiver {
    /// Why the cache dropped this watcher, if it did.
    pub(crate) fn ending(&self) -> Ending {
        match self.ending.load(Ordering::Acquire) {
            SLOW => Ending::Slow,
            INVALIDATED => Ending::Invalidated,
            _ => Ending::Open,
        }
    }
}

impl Watchers {
    /// No watchers yet; each will buffer up to `buffer` events.
    pub(crate) fn new(buffer: usize) -> Self {
        Self {
            senders: Vec::new(),
            buffer: buffer.max(1),
        }
    }

    /// How many watchers are registered.
    pub(crate) fn len(&self) -> usize {
        self.senders.len()
    }

    /// Registers a watcher of the keys starting with `prefix`, from the next publish on.
    pub(crate) fn subscribe(&mut self, prefix: &str) -> Receiver {
        let (tx, rx) = mpsc::channel(self.buffer);
        let ending = Arc::new(AtomicU8::new(OPEN));
        self.senders.push(Sender {
            prefix: prefix.to_owned(),
            events: tx,
            ending: ending.clone(),
        });
        Receiver { events: rx, ending }
    }

    /// Sends `event` to every matching watcher, never waiting; drops the watchers that are
    /// full (as slow) or gone.
    pub(crate) fn publish(&mut self, event: &Arc<Event>) {
        self.senders.retain(|sender| sender.send(event));
    }

    /// Closes every watcher as invalidated: their history can no longer be guaranteed.
    pub(crate) fn invalidate_all(&mut self) {
        for sender in self.senders.drain(..) {
            sender.ending.store(INVALIDATED, Ordering::Release);
        }
    }

    /// Closes every watcher as ended (the cache is shutting down).
    pub(crate) fn close_all(&mut self) {
        self.senders.clear();
    }
}

impl Sender {
    /// Sends `event` if it matches; false if this watcher is to be dropped.
    fn send(&self, event: &Arc<Event>) -> bool {
        if !event.key().starts_with(&self.prefix) {
            // Still drop watchers whose receiver is gone, even if nothing matches them.
            return !self.events.is_closed();
        }
        match self.events.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                debug!(prefix = %self.prefix, revision = event.revision,
                    "cache watcher's buffer is full; it will catch up from the ring");
                self.ending.store(SLOW, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
