//! [`Controller`]: the one runner every queue-driven controller is driven by, after
//! kube-runtime's `Controller` — informers → work queue → reconcile → [`Action`].
//!
//! A controller declares once which informer changes map to which keys
//! ([`Controller::watches`]), and implements [`Reconciler`]: a level-triggered,
//! idempotent `reconcile` of one key, returning what to do next, and an `error_policy`
//! that decides the retry of a failed one. The runner owns the [`WorkQueue`] (so a key is
//! queued once, never reconciled by two workers at a time, and a failing key backs off
//! exponentially and is forgotten on success), the workers, the logging of failures and
//! the shutdown.

use crate::machinery::cputime::cpu_timed;
use crate::machinery::informer::{Change, Informer, Object};
use crate::machinery::workqueue::WorkQueue;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a reconcile (or an error policy) asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action(Next);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Nothing: the key comes back when something changes.
    AwaitChange,
    /// Look again after this long (a deadline, a timer).
    Requeue(Duration),
    /// Look again after the key's backoff, which doubles with each failure.
    Backoff,
}

impl Action {
    /// Nothing more to do: the key comes back when one of the watched objects changes.
    pub fn await_change() -> Self {
        Self(Next::AwaitChange)
    }

    /// Look at the key again after `delay` (a deadline, a timer).
    pub fn requeue(delay: Duration) -> Self {
        Self(Next::Requeue(delay))
    }

    /// Look at the key again after its backoff: 5 ms, doubling with each failure since it
    /// last succeeded, up to 30 s (the default [`Reconciler::error_policy`]).
    pub fn backoff() -> Self {
        Self(Next::Backoff)
    }
}

/// A controller's reconcile logic: what the runner calls with each key.
pub trait Reconciler: Send + Sync + 'static {
    /// What the work queue holds: usually an object's `namespace/name`.
    type Key: Hash + Eq + Clone + Send + Sync + Display + 'static;
    /// What a reconcile can fail at.
    type Error: Display + Send + 'static;

    /// Makes the world match what the key's objects declare; level-triggered and
    /// idempotent.
    fn reconcile(
        &self,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Action, Self::Error>> + Send;

    /// What to do after `reconcile` failed with `error` (already logged): by default, try
    /// again after the key's backoff.
    fn error_policy(&self, key: &Self::Key, error: &Self::Error) -> Action {
        let _ = (key, error);
        Action::backoff()
    }
}

/// A controller's queue, its watches and its workers, built and not yet running.
pub struct Controller<T> {
    name: &'static str,
    workers: usize,
    queue: WorkQueue<T>,
}

impl<T: Hash + Eq + Clone + Send + Sync + Display + 'static> Controller<T> {
    /// A controller named `name` (in logs) reconciling up to `workers` keys at once.
    pub fn new(name: &'static str, workers: usize) -> Self {
        Self {
            name,
            workers,
            queue: WorkQueue::new(),
        }
    }

    /// Queues the keys `mapper` gives for each change `informer` sees.
    pub fn watches<K, I>(
        self,
        informer: &Informer<K>,
        mapper: impl Fn(&Change<'_, K>) -> I + Send + Sync + 'static,
    ) -> Self
    where
        K: Object,
        I: IntoIterator<Item = T>,
    {
        self.watches_with(informer, move |change, queue| {
            for key in mapper(change) {
                queue.add(key);
            }
        })
    }

    /// Calls `handler` with each change `informer` sees and the queue, for watches that
    /// queue keys with a delay.
    pub fn watches_with<K: Object>(
        self,
        informer: &Informer<K>,
        handler: impl Fn(&Change<'_, K>, &WorkQueue<T>) + Send + Sync + 'static,
    ) -> Self {
        let queue = self.queue.clone();
        informer.subscribe(move |change| handler(change, &queue));
        self
    }

    /// The controller's queue, for what queues keys besides the watches: a periodic
    /// sweep, or a reconciler that hands work to another controller.
    pub fn queue(&self) -> WorkQueue<T> {
        self.queue.clone()
    }

    /// Runs the workers, reconciling keys with `reconciler`, until `shutdown`. A failed
    /// reconcile is logged and its key handled as the reconciler's error policy says.
    pub async fn run<R: Reconciler<Key = T>>(
        self,
        reconciler: Arc<R>,
        shutdown: CancellationToken,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..self.workers.max(1) {
            let queue = self.queue.clone();
            let shutdown = shutdown.clone();
            let reconciler = reconciler.clone();
            let name = self.name;
            tasks.spawn(async move {
                loop {
                    let key = tokio::select! {
                        () = shutdown.cancelled() => return,
                        key = queue.next() => key,
                    };
                    let (result, cost) = cpu_timed(reconciler.reconcile(&key)).await;
                    match result {
                        Ok(action) => {
                            queue.forget(&key);
                            apply(&queue, &key, action);
                        }
                        Err(e) => {
                            tracing::warn!(controller = name, key = %key, error = %e, "reconcile failed; will retry");
                            apply(&queue, &key, reconciler.error_policy(&key, &e));
                        }
                    }
                    queue.done(&key, cost);
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// Queues `key` again as `action` says.
fn apply<T: Hash + Eq + Clone + Send + 'static>(queue: &WorkQueue<T>, key: &T, action: Action) {
    match action.0 {
        Next::AwaitChange => {}
        Next::Requeue(delay) => queue.add_after(key.clone(), delay),
        Next::Backoff => queue.add_rate_limited(key.clone()),
    }
}
