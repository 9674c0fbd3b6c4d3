//! [`WorkQueue`]: the keys a controller still has to reconcile, as client-go's workqueue
//! keeps them. A key is queued at most once however often it is added; a key being
//! reconciled is not handed to a second worker, and if it is added meanwhile it is queued
//! again when the first reconcile is done — after a pause in proportion to the CPU time
//! that reconcile took ([`hot_key_pause`]), so that a key whose objects change faster than
//! it is reconciled (a ReplicaSet whose thousands of pods start at once) is reconciled at
//! a bounded share of the machine, each time with all the changes so far, while a cheap
//! key (a Deployment of one pod scaled from zero) comes back at once. Failed keys come
//! back after a per-key exponential backoff. The controller runner (`controller`) drives
//! workers over a queue.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// First retry delay of a failing key; doubles per failure.
pub const RETRY_BASE: Duration = Duration::from_millis(5);
/// Longest retry delay of a failing key.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Longest pause of a key added while it was being reconciled (see [`hot_key_pause`]).
pub const HOT_KEY_PAUSE: Duration = Duration::from_millis(10);

/// The pause per unit of CPU time a reconcile took: a key that keeps changing under its
/// own reconciles gets at most 1/(1+20) of a core.
pub const HOT_KEY_PAUSE_PER_CPU: u32 = 20;

/// How long a key added while it was being reconciled waits, once that reconcile is done
/// after taking `cost` of CPU, before it is handed out again: 20 times the cost, at most
/// [`HOT_KEY_PAUSE`]. A first change is reconciled at once; only a key that keeps changing
/// under its own reconciles is paced, and only as much as its reconciles cost — a pass
/// over thousands of pods waits the most, a reconcile of a handful hardly at all.
pub fn hot_key_pause(cost: Duration) -> Duration {
    cost.saturating_mul(HOT_KEY_PAUSE_PER_CPU)
        .min(HOT_KEY_PAUSE)
}

/// A deduplicating queue of keys. Cheap to clone (shared).
pub struct WorkQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    ready: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Keys waiting to be processed (in `queue`, or to be re-queued when done).
    dirty: HashSet<T>,
    processing: HashSet<T>,
    failures: HashMap<T, u32>,
}

impl<T: Hash + Eq + Clone + Send + 'static> WorkQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    dirty: HashSet::new(),
                    processing: HashSet::new(),
                    failures: HashMap::new(),
                }),
                ready: Notify::new(),
            }),
        }
    }

    /// Queues `key` unless it is already waiting.
    pub fn add(&self, key: T) {
        let mut state = self.lock();
        if !state.dirty.insert(key.clone()) {
            return;
        }
        if !state.processing.contains(&key) {
            state.queue.push_back(key);
            drop(state);
            self.inner.ready.notify_one();
        }
    }

    /// Queues `key` after `delay`.
    pub fn add_after(&self, key: T, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            this.add(key);
        });
    }

    /// Queues `key` after its backoff, which doubles with each failure since it was last
    /// [`forget`](Self::forget)-ten.
    pub fn add_rate_limited(&self, key: T) {
        let failures = {
            let mut state = self.lock();
            let n = state.failures.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let delay = RETRY_BASE
            .saturating_mul(1u32 << (failures - 1).min(20))
            .min(RETRY_MAX);
        self.add_after(key, delay);
    }

    /// Clears `key`'s failure count.
    pub fn forget(&self, key: &T) {
        self.lock().failures.remove(key);
    }

    /// The next key to process; waits for one. Call [`done`](Self::done) after.
    pub async fn next(&self) -> T {
        loop {
            let notified = self.inner.ready.notified();
            {
                let mut state = self.lock();
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    if !state.queue.is_empty() {
                        self.inner.ready.notify_one();
                    }
                    return key;
                }
            }
            notified.await;
        }
    }

    /// Marks `key` processed, its reconcile having cost `cost` of CPU; if it was added
    /// meanwhile, it is queued again after [`hot_key_pause`] (adding it in between changes
    /// nothing: it is already due).
    pub fn done(&self, key: &T, cost: Duration) {
        let mut state = self.lock();
        state.processing.remove(key);
        if state.dirty.contains(key) {
            drop(state);
            let pause = hot_key_pause(cost);
            if pause.is_zero() {
                self.release(key.clone());
                return;
            }
            let this = self.clone();
            let key = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(pause).await;
                this.release(key);
            });
        }
    }

    /// Queues a key left dirty by [`done`](Self::done), unless a worker took it meanwhile.
    fn release(&self, key: T) {
        let mut state = self.lock();
        if state.dirty.contains(&key)
            && !state.processing.contains(&key)
            && !state.queue.contains(&key)
        {
            state.queue.push_back(key);
            drop(state);
            self.inner.ready.notify_one();
        }
    }

    /// Keys waiting (not counting those being processed).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Hash + Eq + Clone + Send + 'static> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_queued_once_and_requeued_if_added_while_processing() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let a = q.next().await;
        assert_eq!(a, "a");
        q.add("a"); // while processing: not handed out again yet
        assert_eq!(q.next().await, "b");
        assert!(q.is_empty());
        q.done(&"a", HOT_KEY_PAUSE);
        assert_eq!(q.next().await, "a");
        q.done(&"a", HOT_KEY_PAUSE);
        q.done(&"b", HOT_KEY_PAUSE);
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_key_added_while_processing_comes_back_after_the_pause_once() {
        let q = WorkQueue::new();
        q.add("a");
        assert_eq!(q.next().await, "a");
        q.add("a");
        q.add("a");
        // A reconcile that cost a millisecond: the key waits the longest pause.
        q.done(&"a", Duration::from_millis(1));
        // Not at once: after the pause.
        assert!(q.is_empty());
        q.add("a");
        assert!(
            q.is_empty(),
            "already due; adding does not hand it out sooner"
        );
        tokio::time::sleep(HOT_KEY_PAUSE * 5).await;
        assert_eq!(q.len(), 1);
        assert_eq!(q.next().await, "a");
        q.done(&"a", Duration::from_millis(1));
        tokio::time::sleep(HOT_KEY_PAUSE * 5).await;
        assert!(q.is_empty(), "not added since: not queued again");
    }

    #[tokio::test]
    async fn a_key_whose_reconcile_cost_nothing_comes_back_at_once() {
        let q = WorkQueue::new();
        q.add("a");
        assert_eq!(q.next().await, "a");
        q.add("a");
        q.done(&"a", Duration::ZERO);
        assert_eq!(q.len(), 1, "queued again without a pause");
    }

    #[test]
    fn the_pause_is_twenty_times_the_cost_at_most_the_longest() {
        assert_eq!(hot_key_pause(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            hot_key_pause(Duration::from_micros(50)),
            Duration::from_millis(1)
        );
        assert_eq!(hot_key_pause(Duration::from_millis(3)), HOT_KEY_PAUSE);
    }

    #[tokio::test]
    async fn failures_back_off_exponentially_until_forgotten() {
        let q = WorkQueue::new();
        for _ in 0..4 {
            q.add_rate_limited("k");
        }
        assert_eq!(q.lock().failures.get("k"), Some(&4));
        // The retries land (5, 10, 20 and 40 ms later) as one queued key.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(q.len(), 1);
        q.forget(&"k");
        assert!(q.lock().failures.is_empty());
    }
}
