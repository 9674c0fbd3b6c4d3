//! Fan-out of the cache's live events to its watchers: [`Watchers`].
//!
//! Each watcher has a bounded channel of `Arc<Event>`: publishing one event to a thousand
//! watchers costs a thousand pointer copies and never waits. A watcher whose channel is full
//! is marked lagged and dropped, so a slow watcher never blocks the cache's feed or anyone
//! else; it then ends with [`Error::WatcherLagged`](crate::store::Error::WatcherLagged).

use crate::store::Event;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;
use tracing::warn;

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
    lagged: Arc<AtomicBool>,
}

/// A watcher's end: its live events, and whether it was closed for lagging.
///
/// The channel closes when the watcher lags (then [`Receiver::lagged`] is true) or when the
/// cache shuts down.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) events: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Receiver {
    /// Whether the cache dropped this watcher for falling behind (or could no longer
    /// guarantee its history).
    pub(crate) fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
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
        let lagged = Arc::new(AtomicBool::new(false));
        self.senders.push(Sender {
            prefix: prefix.to_owned(),
            events: tx,
            lagged: lagged.clone(),
        });
        Receiver { events: rx, lagged }
    }

    /// Sends `event` to every matching watcher, never waiting; drops the watchers that are
    /// full or gone.
    pub(crate) fn publish(&mut self, event: &Arc<Event>) {
        self.senders.retain(|sender| sender.send(event));
    }

    /// Closes every watcher as lagged: their history can no longer be guaranteed.
    pub(crate) fn lag_all(&mut self) {
        for sender in self.senders.drain(..) {
            sender.lagged.store(true, Ordering::Release);
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
                warn!(prefix = %self.prefix, revision = event.revision,
                    "cache watcher fell too far behind; closing it");
                self.lagged.store(true, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
