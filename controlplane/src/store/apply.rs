//! The write operations and their preconditions, over any table backend.
//!
//! Both implementations apply writes through [`apply`], so they agree on the contract:
//! which precondition fails with which error, which writes take a revision, what event each
//! write records. A backend provides [`Tables`]: the current values, and the history.

use super::{Deleted, Error, Event, KeyValue, Result, Revisions};
use bytes::Bytes;

/// One write, as queued for a batch.
#[derive(Debug)]
pub(crate) enum Op {
    /// [`Store::create`](super::Store::create).
    Create { key: String, value: Bytes },
    /// [`Store::update`](super::Store::update).
    Update {
        key: String,
        value: Bytes,
        expected: u64,
    },
    /// [`Store::delete`](super::Store::delete).
    Delete { key: String, expected: Option<u64> },
    /// [`Store::compact`](super::Store::compact).
    Compact { revision: u64 },
}

/// What a successful write did.
#[derive(Debug)]
pub(crate) enum Applied {
    /// A create or update, with the new value.
    Put(KeyValue),
    /// A delete.
    Deleted(Deleted),
    /// A compaction.
    Compacted,
}

/// A backend's tables, inside one write transaction.
pub(crate) trait Tables {
    /// The current value of `key`.
    fn get(&mut self, key: &str) -> Result<Option<KeyValue>>;
    /// Stores `kv` as the current value of its key.
    fn put(&mut self, kv: &KeyValue) -> Result<()>;
    /// Removes `key`'s current value.
    fn remove(&mut self, key: &str) -> Result<()>;
    /// Appends `event` to the history.
    fn record(&mut self, event: &Event) -> Result<()>;
    /// Drops history events with `after < revision <= through`.
    fn drop_history(&mut self, after: u64, through: u64) -> Result<()>;
}

/// Applies `op` to `tables`, advancing `revisions` and appending its event to `events`.
///
/// The outer error is a storage failure (the whole transaction must be abandoned); the inner
/// one a failed precondition (this write is refused, the transaction goes on).
pub(crate) fn apply(
    tables: &mut impl Tables,
    revisions: &mut Revisions,
    op: Op,
    events: &mut Vec<Event>,
) -> Result<Result<Applied>> {
    match op {
        Op::Create { key, value } => {
            if tables.get(&key)?.is_some() {
                return Ok(Err(Error::AlreadyExists { key }));
            }
            let revision = revisions.current + 1;
            let kv = KeyValue {
                key,
                value,
                create_revision: revision,
                mod_revision: revision,
            };
            put(tables, revisions, kv.clone(), None, events)?;
            Ok(Ok(Applied::Put(kv)))
        }
        Op::Update {
            key,
            value,
            expected,
        } => {
            let current = match check(tables, key, Some(expected))? {
                Ok(current) => current,
                Err(refused) => return Ok(Err(refused)),
            };
            let kv = KeyValue {
                key: current.key.clone(),
                value,
                create_revision: current.create_revision,
                mod_revision: revisions.current + 1,
            };
            put(tables, revisions, kv.clone(), Some(current), events)?;
            Ok(Ok(Applied::Put(kv)))
        }
        Op::Delete { key, expected } => {
            let current = match check(tables, key, expected)? {
                Ok(current) => current,
                Err(refused) => return Ok(Err(refused)),
            };
            let revision = revisions.current + 1;
            tables.remove(&current.key)?;
            let event = Event::delete(current.clone(), revision);
            tables.record(&event)?;
            events.push(event);
            revisions.current = revision;
            Ok(Ok(Applied::Deleted(Deleted {
                kv: current,
                revision,
            })))
        }
        Op::Compact { revision } => {
            if revision > revisions.current {
                return Ok(Err(Error::FutureRevision {
                    requested: revision,
                    current: revisions.current,
                }));
            }
            compact(tables, revisions, revision)?;
            Ok(Ok(Applied::Compacted))
        }
    }
}

/// Compacts the history so that it keeps the last `window` revisions (all, if 0).
pub(crate) fn compact_window(
    tables: &mut impl Tables,
    revisions: &mut Revisions,
    window: u64,
) -> Result<()> {
    if window == 0 {
        return Ok(());
    }
    compact(tables, revisions, revisions.current.saturating_sub(window))
}

/// Moves the compaction point up to `through`, dropping the history below it.
fn compact(tables: &mut impl Tables, revisions: &mut Revisions, through: u64) -> Result<()> {
    if through > revisions.compacted {
        tables.drop_history(revisions.compacted, through)?;
        revisions.compacted = through;
    }
    Ok(())
}

/// The current value of `key`, if it is at the `expected` modification revision.
fn check(tables: &mut impl Tables, key: String, expected: Option<u64>) -> Result<Result<KeyValue>> {
    Ok(match tables.get(&key)? {
        None => Err(Error::NotFound { key }),
        Some(current) => match expected {
            Some(expected) if expected != current.mod_revision => Err(Error::Conflict {
                key,
                expected,
                current: current.mod_revision,
            }),
            _ => Ok(current),
        },
    })
}

/// Stores `kv` (at the next revision) and records its event.
fn put(
    tables: &mut impl Tables,
    revisions: &mut Revisions,
    kv: KeyValue,
    prev: Option<KeyValue>,
    events: &mut Vec<Event>,
) -> Result<()> {
    debug_assert_eq!(kv.mod_revision, revisions.current + 1);
    tables.put(&kv)?;
    let event = Event::put(kv, prev);
    tables.record(&event)?;
    revisions.current = event.revision;
    events.push(event);
    Ok(())
}
