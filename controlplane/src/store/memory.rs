//! [`MemoryStore`]: the store's semantics in memory, for tests of the layers above it.
//!
//! Same preconditions, revisions, history window, compaction and watch behaviour as
//! [`RedbStore`](super::RedbStore) (both apply writes through `apply` and serve watches
//! through `watch`), but nothing survives the process and each write is applied on its own.

use super::apply::{Applied, Op, Tables, apply, compact_window};
use super::hub::Hub;
use super::page;
use super::watch::{History, HistoryPage};
use super::{
    Config, Deleted, Error, Event, KeyValue, List, ListOptions, Result, Revisions, Store, Watch,
    watch,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// A store held in memory.
#[derive(Debug)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    hub: Arc<Hub>,
    config: Config,
}

/// Everything a [`MemoryStore`] holds.
#[derive(Debug, Default)]
struct State {
    kv: BTreeMap<String, KeyValue>,
    /// Events above the compaction point, in revision order.
    history: VecDeque<Event>,
    revisions: Revisions,
}

impl MemoryStore {
    /// An empty store.
    pub fn new(config: Config) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            hub: Arc::new(Hub::new(config.watch_buffer)),
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Applies one write and publishes its event.
    fn write(&self, op: Op) -> Result<Applied> {
        let mut state = self.lock();
        let mut revisions = state.revisions;
        let mut events = Vec::new();
        let outcome = apply(&mut *state, &mut revisions, op, &mut events)?;
        compact_window(&mut *state, &mut revisions, self.config.history_window)?;
        state.revisions = revisions;
        // Published under the lock, so that watchers see writes in revision order.
        self.hub.publish(&events);
        outcome
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every write checks its preconditions before changing anything, and nothing in a write
    // panics after its first change, so a poisoned state is still consistent.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tables for State {
    fn get(&mut self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.kv.get(key).cloned())
    }

    fn put(&mut self, kv: &KeyValue) -> Result<()> {
        self.kv.insert(kv.key.clone(), kv.clone());
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<()> {
        self.kv.remove(key);
        Ok(())
    }

    fn record(&mut self, event: &Event) -> Result<()> {
        self.history.push_back(event.clone());
        Ok(())
    }

    fn drop_history(&mut self, _after: u64, through: u64) -> Result<()> {
        while self.history.front().is_some_and(|e| e.revision <= through) {
            self.history.pop_front();
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let op = Op::Create {
            key: key.to_owned(),
            value,
        };
        match self.write(op)? {
            Applied::Put(kv) => Ok(kv),
            other => unreachable!("a create applied as {other:?}"),
        }
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: u64,
    ) -> Result<KeyValue> {
        let op = Op::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        };
        match self.write(op)? {
            Applied::Put(kv) => Ok(kv),
            other => unreachable!("an update applied as {other:?}"),
        }
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<u64>) -> Result<Deleted> {
        let op = Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        };
        match self.write(op)? {
            Applied::Deleted(deleted) => Ok(deleted),
            other => unreachable!("a delete applied as {other:?}"),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.lock().kv.get(key).cloned())
    }

    async fn list_page(&self, prefix: &str, options: &ListOptions) -> Result<List> {
        let state = self.lock();
        let start = match options.after.as_deref() {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let current = state
            .kv
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(_, kv)| Ok(kv.clone()));
        let (revision, since) = match options.revision {
            0 => (state.revisions.current, None),
            at => {
                page::check_revision(at, state.revisions)?;
                let first = state.history.partition_point(|e| e.revision <= at);
                let since = state
                    .history
                    .range(first..)
                    .filter(|e| e.key().starts_with(prefix));
                (at, Some(since))
            }
        };
        let page = page::assemble(current, since, options)?;
        Ok(List {
            items: page.items,
            revision,
            more: page.more,
        })
    }

    async fn watch(&self, prefix: &str, from_revision: u64) -> Result<Watch> {
        let history = Arc::new(MemoryHistory {
            state: Arc::downgrade(&self.state),
        });
        watch::start(
            &self.hub,
            history,
            prefix,
            from_revision,
            self.config.history_page,
        )
        .await
    }

    async fn revisions(&self) -> Result<Revisions> {
        Ok(self.lock().revisions)
    }

    async fn compact(&self, revision: u64) -> Result<()> {
        self.write(Op::Compact { revision })?;
        Ok(())
    }
}

/// The history of a [`MemoryStore`], as its watches read it.
struct MemoryHistory {
    state: Weak<Mutex<State>>,
}

#[async_trait]
impl History for MemoryHistory {
    async fn revisions(&self) -> Result<Revisions> {
        let state = self.state.upgrade().ok_or(Error::Closed)?;
        Ok(lock(&state).revisions)
    }

    async fn read(&self, prefix: &str, after: u64, limit: usize) -> Result<HistoryPage> {
        let state = self.state.upgrade().ok_or(Error::Closed)?;
        let state = lock(&state);
        let compacted = state.revisions.compacted;
        if after < compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted,
            });
        }
        let start = state.history.partition_point(|e| e.revision <= after);
        let mut matching = state
            .history
            .range(start..)
            .filter(|e| e.key().starts_with(prefix))
            .cloned();
        let events: Vec<_> = matching.by_ref().take(limit).collect();
        let complete = matching.next().is_none();
        Ok(HistoryPage { events, complete })
    }
}
