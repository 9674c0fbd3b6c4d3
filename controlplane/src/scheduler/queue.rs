//! [`Queue`]: the pods waiting to be placed, as kube-scheduler's scheduling queue keeps
//! them — an *active* queue of pods to try now, and the *parked* pods that fit nowhere
//! the last time they were tried.
//!
//! A parked pod is tried again when the cluster changes in a way that could let it fit (a
//! node added, changed or Ready; a pod gone or finished — see
//! [`cluster_changed`](Queue::cluster_changed)), but no sooner than its backoff after its
//! last failure (1 s, doubling per failure, capped), so a busy cluster never turns into a
//! hot loop; and in any case [`RETRY_INTERVAL`] after its last failure, in case an event
//! was missed. A pod whose cycle overlapped a cluster change is treated as if the change
//! came after it failed, so that change is not lost.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Backoff of a pod after its first failure.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest backoff (kube-scheduler's `podMaxBackoffSeconds` is 10 s).
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A parked pod is tried again at least this often, whatever happened: a safety net for
/// changes the scheduler does not watch for.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// Wake-ups for parked pods are at least this far apart, so a stream of failures with
/// staggered backoffs does not wake the scheduler for each.
const WAKE_GRANULARITY: Duration = Duration::from_millis(50);

/// The pods waiting to be placed. Shared by the handlers and the scheduler.
#[derive(Default)]
pub struct Queue {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    active: VecDeque<String>,
    queued: HashSet<String>,
    parked: HashMap<String, Parked>,
    /// Failures of each pod since it was last placed or changed.
    attempts: HashMap<String, u32>,
    /// Cluster changes so far.
    generation: u64,
    /// A cluster change not yet applied to the parked pods.
    changed: bool,
    /// When the earliest parked pod is due (`None`: none is).
    due: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Parked {
    /// When it last failed.
    since: Instant,
    /// When it may be tried after a cluster change.
    backoff_until: Instant,
    /// Whether the cluster changed since it failed.
    moved: bool,
}

impl Parked {
    fn due(&self) -> Instant {
        let retry = self.since + RETRY_INTERVAL;
        if self.moved {
            self.backoff_until.min(retry)
        } else {
            retry
        }
    }
}

/// The backoff after `attempts` failures.
pub fn backoff(attempts: u32) -> Duration {
    INITIAL_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a pod to try now: it is new, or changed. A parked pod leaves the parking.
    pub fn add(&self, key: &str) {
        let mut state = self.lock();
        state.parked.remove(key);
        if state.queued.insert(key.to_string()) {
            state.active.push_back(key.to_string());
            drop(state);
            self.ready.notify_one();
        }
    }

    /// Forgets a pod that no longer waits (placed, deleted, finished).
    pub fn forget(&self, key: &str) {
        let mut state = self.lock();
        state.parked.remove(key);
        state.attempts.remove(key);
        // A key still in `active` is skipped when popped: the pod is not pending.
    }

    /// Up to `max` pods to try now, oldest first.
    pub fn pop(&self, max: usize) -> Vec<String> {
        let mut state = self.lock();
        let n = max.min(state.active.len());
        let keys: Vec<String> = state.active.drain(..n).collect();
        for key in &keys {
            state.queued.remove(key);
        }
        keys
    }

    /// The number of cluster changes so far: taken at the start of a cycle and given back
    /// to [`park`](Self::park).
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Parks a pod that fit nowhere (at `now`) in a cycle that started at `generation`.
    pub fn park(&self, key: &str, generation: u64, now: Instant) {
        let mut state = self.lock();
        let moved = state.generation != generation;
        state.park(key, moved, now);
    }

    /// Parks a pod to try again after its backoff (its binding failed at `now`).
    pub fn retry_later(&self, key: &str, now: Instant) {
        self.lock().park(key, true, now);
        self.ready.notify_one();
    }

    /// Says the cluster changed so that parked pods might fit now.
    pub fn cluster_changed(&self) {
        let mut state = self.lock();
        state.generation += 1;
        if state.parked.is_empty() || state.changed {
            return;
        }
        state.changed = true;
        drop(state);
        self.ready.notify_one();
    }

    /// Moves the parked pods that are due to the active queue; returns when the next one
    /// is due.
    pub fn flush(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        if state.changed {
            state.changed = false;
            for parked in state.parked.values_mut() {
                parked.moved = true;
            }
            state.due = state.parked.values().map(Parked::due).min();
        }
        if state.due.is_none_or(|due| due > now) {
            return state.due;
        }
        let due: Vec<String> = state
            .parked
            .iter()
            .filter(|(_, p)| p.due() <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            state.parked.remove(&key);
            if state.queued.insert(key.clone()) {
                state.active.push_back(key);
            }
        }
        state.due = state
            .parked
            .values()
            .map(Parked::due)
            .min()
            .map(|due| due.max(now + WAKE_GRANULARITY));
        state.due
    }

    /// Waits until something may be ready: a pod queued, or a cluster change.
    pub async fn notified(&self) {
        self.ready.notified().await;
    }

    /// How many pods are parked.
    #[cfg(test)]
    pub fn parked(&self) -> usize {
        self.lock().parked.len()
    }
}

impl State {
    fn park(&mut self, key: &str, moved: bool, now: Instant) {
        let attempts = self.attempts.entry(key.to_string()).or_default();
        *attempts += 1;
        let parked = Parked {
            since: now,
            backoff_until: now + backoff(*attempts),
            moved,
        };
        self.due = Some(self.due.map_or(parked.due(), |d| d.min(parked.due())));
        self.parked.insert(key.to_string(), parked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(5), MAX_BACKOFF);
        assert_eq!(backoff(100), MAX_BACKOFF);
    }

    #[tokio::test]
    async fn pods_are_queued_once_in_order() {
        let q = Queue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.pop(10), ["a", "b"]);
        assert!(q.pop(10).is_empty());
    }

    #[test]
    fn a_parked_pod_waits_for_a_cluster_change_and_its_backoff() {
        let q = Queue::new();
        let start = Instant::now();
        q.add("p");
        let generation = q.generation();
        q.pop(1);
        q.park("p", generation, start);
        assert_eq!(q.flush(start), Some(start + RETRY_INTERVAL));
        assert!(q.pop(1).is_empty(), "nothing changed");
        q.cluster_changed();
        assert_eq!(q.flush(start), Some(start + INITIAL_BACKOFF));
        assert!(q.pop(1).is_empty(), "still backing off");
        q.flush(start + INITIAL_BACKOFF);
        assert_eq!(q.pop(1), ["p"]);
    }

    #[test]
    fn backoff_grows_with_each_failure() {
        let q = Queue::new();
        let start = Instant::now();
        for _ in 0..3 {
            q.park("p", q.generation(), start);
        }
        q.cluster_changed();
        assert_eq!(q.flush(start), Some(start + backoff(3)));
    }

    #[test]
    fn a_parked_pod_is_retried_after_the_interval_without_any_change() {
        let q = Queue::new();
        let start = Instant::now();
        q.park("p", q.generation(), start);
        q.flush(start + RETRY_INTERVAL - Duration::from_millis(1));
        assert!(q.pop(1).is_empty());
        assert_eq!(q.flush(start + RETRY_INTERVAL), None, "nothing left parked");
        assert_eq!(q.pop(1), ["p"]);
    }

    #[test]
    fn a_change_during_the_cycle_is_not_lost() {
        let q = Queue::new();
        let start = Instant::now();
        let generation = q.generation();
        q.cluster_changed(); // while "p" was being tried
        q.park("p", generation, start);
        q.flush(start + INITIAL_BACKOFF);
        assert_eq!(q.pop(1), ["p"]);
    }

    #[test]
    fn a_changed_pod_is_tried_at_once_and_a_placed_one_forgotten() {
        let q = Queue::new();
        let start = Instant::now();
        q.park("p", q.generation(), start);
        q.park("gone", q.generation(), start);
        q.add("p");
        assert_eq!(q.pop(5), ["p"]);
        q.forget("gone");
        assert_eq!(q.parked(), 0);
    }
}
