//! Fan-out of live events to watchers.
//!
//! The writer [`publish`](Hub::publish)es each committed batch, in revision order, to every
//! subscriber whose prefix matches, through a bounded channel per subscriber and without
//! ever waiting: a subscriber whose channel is full is marked lagged and dropped, so a slow
//! watcher never blocks writers or other watchers. Its watch then catches up from the
//! store's history (see `watch`): the channel is the fast path, not the guarantee.

use super::Event;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;
use tracing::debug;

/// The set of live subscribers of one store.
#[derive(Debug)]
pub(crate) struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
    buffer: usize,
}

/// The hub's end of one subscription.
#[derive(Debug)]
struct Subscriber {
    prefix: String,
    events: mpsc::Sender<Event>,
    lagged: Arc<AtomicBool>,
}

/// A watcher's end of one subscription: live events, and whether it fell behind.
///
/// The channel closes when the subscriber lags (then [`Subscription::lagged`] is true) or
/// when the hub goes away with its store.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) events: mpsc::Receiver<Event>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// Whether the hub dropped this subscription for falling behind.
    pub(crate) fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
    }
}

impl Hub {
    /// A hub whose subscribers each buffer up to `buffer` events.
    pub(crate) fn new(buffer: usize) -> Self {
        Self {
            subscribers: Mutex::new(Vec::new()),
            buffer: buffer.max(1),
        }
    }

    /// Subscribes to the events of keys starting with `prefix`, from the next publish on.
    pub(crate) fn subscribe(&self, prefix: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(self.buffer);
        let lagged = Arc::new(AtomicBool::new(false));
        self.lock().push(Subscriber {
            prefix: prefix.to_owned(),
            events: tx,
            lagged: lagged.clone(),
        });
        Subscription { events: rx, lagged }
    }

    /// Sends `events` (one batch, in revision order) to every matching subscriber, never
    /// waiting; drops the subscribers that are full or gone.
    pub(crate) fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.lock().retain(|subscriber| subscriber.send(events));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        // The list stays consistent even if a holder panicked: every change is one push or
        // one retain.
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Subscriber {
    /// Sends the matching `events`; false if this subscriber is to be dropped.
    fn send(&self, events: &[Event]) -> bool {
        for event in events.iter().filter(|e| e.key().starts_with(&self.prefix)) {
            match self.events.try_send(event.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    debug!(prefix = %self.prefix, revision = event.revision,
                        "watcher's buffer is full; it will catch up from the history");
                    self.lagged.store(true, Ordering::Release);
                    return false;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }
}
