//! [`RedbStore`]: the durable store, on one redb file.
//!
//! Writes go through the group-commit writer thread (`writer`); reads and watch replays use
//! redb's MVCC read transactions, each a consistent snapshot, on tokio's blocking pool. The
//! layout of the file is described in `layout`.

use super::apply::{Applied, Op};
use super::hub::Hub;
use super::layout::{
    HISTORY, KV, META, StorageResult, decode_event, decode_value, event_key, read_revisions,
};
use super::page;
use super::watch::{History, HistoryPage};
use super::writer::Writer;
use super::{
    Config, Deleted, Error, KeyValue, List, ListOptions, Result, Revisions, Store, Watch, watch,
};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableDatabase};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Weak};

/// The durable store: every acknowledged write is committed to one redb file with
/// `Durability::Immediate`, and reopening the file restores everything.
///
/// Dropping it finishes the writes already queued, then closes the file (blocking the
/// dropping thread for at most one commit). Open watches then end with [`Error::Closed`].
#[derive(Debug)]
pub struct RedbStore {
    // Declared first so that it drops first: the writer thread holds the database too.
    writer: Writer,
    db: Arc<Database>,
    hub: Arc<Hub>,
    config: Config,
}

impl RedbStore {
    /// Opens the store in the redb file at `path`, creating it if missing.
    ///
    /// Blocks on file I/O (and on crash recovery, after an unclean shutdown): call it before
    /// serving, or from a blocking task. Fails with [`Error::Storage`] if the file is not a
    /// redb database or is already open.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Self> {
        let db = Arc::new(Database::create(path).storage()?);
        // Create the tables, so that reads never meet a missing one.
        let txn = db.begin_write().storage()?;
        let revisions = {
            txn.open_table(KV).storage()?;
            txn.open_table(HISTORY).storage()?;
            read_revisions(&txn.open_table(META).storage()?)?
        };
        txn.commit().storage()?;
        let hub = Arc::new(Hub::new(config.watch_buffer));
        let writer = Writer::spawn(db.clone(), hub.clone(), revisions, &config)?;
        Ok(Self {
            writer,
            db,
            hub,
            config,
        })
    }

    /// Runs `read` on a read snapshot of the database, on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&redb::ReadTransaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        read_blocking(self.db.clone(), read).await
    }
}

/// Runs `read` on a read snapshot of `db`, on tokio's blocking pool.
async fn read_blocking<T: Send + 'static>(
    db: Arc<Database>,
    read: impl FnOnce(&redb::ReadTransaction) -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || read(&db.begin_read().storage()?))
        .await
        .map_err(Error::storage)?
}

#[async_trait]
impl Store for RedbStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        let op = Op::Create {
            key: key.to_owned(),
            value,
        };
        match self.writer.submit(op).await? {
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
        match self.writer.submit(op).await? {
            Applied::Put(kv) => Ok(kv),
            other => unreachable!("an update applied as {other:?}"),
        }
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<u64>) -> Result<Deleted> {
        let op = Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        };
        match self.writer.submit(op).await? {
            Applied::Deleted(deleted) => Ok(deleted),
            other => unreachable!("a delete applied as {other:?}"),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.read(move |txn| {
            let kv = txn.open_table(KV).storage()?;
            let value = kv.get(key.as_str()).storage()?;
            value.map(|v| decode_value(&key, v.value())).transpose()
        })
        .await
    }

    async fn list_page(&self, prefix: &str, options: &ListOptions) -> Result<List> {
        let prefix = prefix.to_owned();
        let options = options.clone();
        self.read(move |txn| list(txn, &prefix, &options)).await
    }

    async fn watch(&self, prefix: &str, from_revision: u64) -> Result<Watch> {
        let history = Arc::new(RedbHistory {
            db: Arc::downgrade(&self.db),
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
        self.read(|txn| read_revisions(&txn.open_table(META).storage()?))
            .await
    }

    async fn compact(&self, revision: u64) -> Result<()> {
        self.writer.submit(Op::Compact { revision }).await?;
        Ok(())
    }
}

/// One page of a listing, read from one snapshot.
fn list(txn: &redb::ReadTransaction, prefix: &str, options: &ListOptions) -> Result<List> {
    let revisions = read_revisions(&txn.open_table(META).storage()?)?;
    let kv = txn.open_table(KV).storage()?;
    let start = match options.after.as_deref() {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    let current = kv
        .range::<&str>((start, Bound::Unbounded))
        .storage()?
        .map(|entry| {
            let (key, value) = entry.storage()?;
            decode_value(key.value(), value.value())
        })
        .take_while(|kv| !matches!(kv, Ok(kv) if !kv.key.starts_with(prefix)));
    let (revision, since) = match options.revision {
        0 => (revisions.current, None),
        at => {
            page::check_revision(at, revisions)?;
            // Everything above `at` up to now: one snapshot, so the history and the current
            // keys agree.
            let since = read_history(txn, prefix, at, usize::MAX)?.events;
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

/// The history of a [`RedbStore`], as its watches read it. Holds the database weakly, so
/// that open watches do not keep the file open after the store is dropped.
struct RedbHistory {
    db: Weak<Database>,
}

#[async_trait]
impl History for RedbHistory {
    async fn revisions(&self) -> Result<Revisions> {
        let db = self.db.upgrade().ok_or(Error::Closed)?;
        read_blocking(db, |txn| read_revisions(&txn.open_table(META).storage()?)).await
    }

    async fn read(&self, prefix: &str, after: u64, limit: usize) -> Result<HistoryPage> {
        let db = self.db.upgrade().ok_or(Error::Closed)?;
        let prefix = prefix.to_owned();
        read_blocking(db, move |txn| read_history(txn, &prefix, after, limit)).await
    }
}

/// Up to `limit` events above `after` under `prefix`, from one snapshot.
fn read_history(
    txn: &redb::ReadTransaction,
    prefix: &str,
    after: u64,
    limit: usize,
) -> Result<HistoryPage> {
    let compacted = read_revisions(&txn.open_table(META).storage()?)?.compacted;
    if after < compacted {
        return Err(Error::Compacted {
            requested: after,
            compacted,
        });
    }
    let history = txn.open_table(HISTORY).storage()?;
    let mut events = Vec::new();
    for entry in history
        .range::<u64>((Bound::Excluded(after), Bound::Unbounded))
        .storage()?
    {
        let (revision, record) = entry.storage()?;
        let record = record.value();
        if !event_key(record)?.starts_with(prefix) {
            continue;
        }
        if events.len() == limit {
            return Ok(HistoryPage {
                events,
                complete: false,
            });
        }
        events.push(decode_event(revision.value(), record)?);
    }
    Ok(HistoryPage {
        events,
        complete: true,
    })
}
