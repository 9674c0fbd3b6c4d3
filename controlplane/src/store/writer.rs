//! Group commit: one thread owns redb's single write transaction and commits concurrent
//! writes together.
//!
//! Callers queue [`Op`]s on a channel ([`Writer::submit`]) and wait on a oneshot. The thread
//! takes whatever has queued up (at most [`Config::max_batch`](super::Config::max_batch)),
//! applies it in queue order inside one transaction (so a later write sees the earlier ones;
//! a refused precondition refuses only its own write), commits with
//! `Durability::Immediate`, publishes the events to watchers, and only then answers each
//! caller. While one batch is being fsynced the next one queues, so under concurrency many
//! writes share each fsync; a lone writer pays one commit, with no added delay. A batch that
//! fails to commit is answered with the same error for every write in it, and nothing of it
//! is visible.

use super::apply::{Applied, Op, Tables, apply, compact_window};
use super::hub::Hub;
use super::layout::{
    HISTORY, KV, META, StorageResult, decode_value, encode_event, encode_value, write_revisions,
};
use super::{Config, Error, Event, KeyValue, Result, Revisions};
use redb::{Database, Durability, ReadableTable, Table};
use std::ops::Bound;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use tracing::{error, trace};

/// The handle to the writer thread; dropping it finishes the queued writes and joins it.
#[derive(Debug)]
pub(crate) struct Writer {
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

/// One queued write and where to send its outcome.
#[derive(Debug)]
struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Applied>>,
}

/// The state the writer thread owns.
struct Committer {
    db: Arc<Database>,
    hub: Arc<Hub>,
    /// As of the last commit.
    revisions: Revisions,
    history_window: u64,
    max_batch: usize,
    two_phase_commit: bool,
}

impl Writer {
    /// Starts the writer thread on `db`, whose committed state is at `revisions`.
    pub(crate) fn spawn(
        db: Arc<Database>,
        hub: Arc<Hub>,
        revisions: Revisions,
        config: &Config,
    ) -> Result<Self> {
        let (requests, queue) = mpsc::channel();
        let committer = Committer {
            db,
            hub,
            revisions,
            history_window: config.history_window,
            max_batch: config.max_batch.max(1),
            two_phase_commit: config.two_phase_commit,
        };
        let thread = std::thread::Builder::new()
            .name("skiff-store-writer".into())
            .spawn(move || committer.run(&queue))
            .map_err(Error::storage)?;
        Ok(Self {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// Queues `op` and waits until its batch is committed (or refused).
    pub(crate) async fn submit(&self, op: Op) -> Result<Applied> {
        let (reply, outcome) = oneshot::channel();
        let requests = self.requests.as_ref().ok_or(Error::Closed)?;
        requests
            .send(Request { op, reply })
            .map_err(|_| Error::Closed)?;
        outcome.await.map_err(|_| Error::Closed)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed what is already queued.
        drop(self.requests.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            error!("store writer thread panicked");
        }
    }
}

impl Committer {
    fn run(mut self, queue: &mpsc::Receiver<Request>) {
        while let Ok(first) = queue.recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match queue.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        let size = batch.len();
        let (ops, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
        let mut events = Vec::new();
        match self.commit(ops, &mut events) {
            Ok((revisions, outcomes)) => {
                trace!(size, revision = revisions.current, "committed write batch");
                self.revisions = revisions;
                self.hub.publish(&events);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A caller that stopped waiting has nothing to be told.
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                error!(
                    error = &e as &dyn std::error::Error,
                    size, "write batch failed"
                );
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// Applies `ops` in one transaction and commits it durably; returns the new revisions and
    /// each op's outcome.
    fn commit(
        &self,
        ops: Vec<Op>,
        events: &mut Vec<Event>,
    ) -> Result<(Revisions, Vec<Result<Applied>>)> {
        let mut txn = self.db.begin_write().storage()?;
        txn.set_durability(Durability::Immediate).storage()?;
        txn.set_two_phase_commit(self.two_phase_commit);
        let mut revisions = self.revisions;
        let mut outcomes = Vec::with_capacity(ops.len());
        {
            let mut tables = RedbTables {
                kv: txn.open_table(KV).storage()?,
                history: txn.open_table(HISTORY).storage()?,
            };
            for op in ops {
                outcomes.push(apply(&mut tables, &mut revisions, op, events)?);
            }
            compact_window(&mut tables, &mut revisions, self.history_window)?;
            write_revisions(&mut txn.open_table(META).storage()?, revisions)?;
        }
        if revisions == self.revisions {
            // Nothing but refused preconditions: no need to pay for a commit.
            txn.abort().storage()?;
        } else {
            txn.commit().storage()?;
        }
        Ok((revisions, outcomes))
    }
}

/// The `kv` and `history` tables inside the writer's transaction.
struct RedbTables<'txn> {
    kv: Table<'txn, &'static str, &'static [u8]>,
    history: Table<'txn, u64, &'static [u8]>,
}

impl Tables for RedbTables<'_> {
    fn get(&mut self, key: &str) -> Result<Option<KeyValue>> {
        match self.kv.get(key).storage()? {
            Some(value) => decode_value(key, value.value()).map(Some),
            None => Ok(None),
        }
    }

    fn put(&mut self, kv: &KeyValue) -> Result<()> {
        self.kv
            .insert(kv.key.as_str(), encode_value(kv).as_slice())
            .storage()?;
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<()> {
        self.kv.remove(key).storage()?;
        Ok(())
    }

    fn record(&mut self, event: &Event) -> Result<()> {
        self.history
            .insert(event.revision, encode_event(event).as_slice())
            .storage()?;
        Ok(())
    }

    fn drop_history(&mut self, after: u64, through: u64) -> Result<()> {
        self.history
            .retain_in::<u64, _>(
                (Bound::Excluded(after), Bound::Included(through)),
                |_, _| false,
            )
            .storage()
    }
}
