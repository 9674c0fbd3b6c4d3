//! [`RedbStore`](super::RedbStore)'s on-disk layout: its tables and how records are encoded.
//!
//! Three tables in one redb file:
//! - `kv`: key → current value, encoded as `create_revision u64 LE | mod_revision u64 LE |
//!   value bytes`;
//! - `history`: revision → the event of that write (see [`encode_event`]), for the
//!   revisions above the compaction point;
//! - `meta`: `"revision"` → the current revision, `"compacted"` → the compaction point.
//!
//! All three change in the same transaction, so any snapshot is consistent.

use super::{Error, Event, EventKind, KeyValue, Result, Revisions};
use bytes::Bytes;
use redb::{ReadableTable, TableDefinition};

/// Current values.
pub(crate) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// One event per revision above the compaction point.
pub(crate) const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");
/// The revision counter and the compaction point.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const META_REVISION: &str = "revision";
const META_COMPACTED: &str = "compacted";

const KIND_PUT: u8 = 0;
const KIND_DELETE: u8 = 1;

/// Maps any redb error into the store's [`Error::Storage`].
pub(crate) trait StorageResult<T> {
    /// This result, with a redb error as [`Error::Storage`].
    fn storage(self) -> Result<T>;
}

impl<T, E: Into<redb::Error>> StorageResult<T> for std::result::Result<T, E> {
    fn storage(self) -> Result<T> {
        self.map_err(|e| Error::storage(e.into()))
    }
}

/// Reads the revisions from the `meta` table (zero in a new file).
pub(crate) fn read_revisions(meta: &impl ReadableTable<&'static str, u64>) -> Result<Revisions> {
    let get = |name| -> Result<u64> { Ok(meta.get(name).storage()?.map_or(0, |v| v.value())) };
    Ok(Revisions {
        current: get(META_REVISION)?,
        compacted: get(META_COMPACTED)?,
    })
}

/// Writes the revisions to the `meta` table.
pub(crate) fn write_revisions(
    meta: &mut redb::Table<'_, &'static str, u64>,
    revisions: Revisions,
) -> Result<()> {
    meta.insert(META_REVISION, revisions.current).storage()?;
    meta.insert(META_COMPACTED, revisions.compacted).storage()?;
    Ok(())
}

/// Encodes a current value for the `kv` table.
pub(crate) fn encode_value(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + kv.value.len());
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.mod_revision.to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

/// Decodes `key`'s current value from the `kv` table.
pub(crate) fn decode_value(key: &str, bytes: &[u8]) -> Result<KeyValue> {
    let mut reader = Reader(bytes);
    let create_revision = reader.u64()?;
    let mod_revision = reader.u64()?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(reader.0),
        create_revision,
        mod_revision,
    })
}

/// Encodes an event for the `history` table (its revision is the table key):
/// `kind u8 | create_revision u64 | prev_mod_revision u64 (0: none) | key_len u32 | key |
/// value_len u32 | value | prev_value`.
///
/// A delete's value is the deleted value, so its `prev_value` is empty; an update keeps the
/// create revision, so the previous value needs only its bytes and its mod revision.
pub(crate) fn encode_event(event: &Event) -> Vec<u8> {
    let (kind, prev_value) = match (event.kind, &event.prev) {
        (EventKind::Delete, _) => (KIND_DELETE, &[][..]),
        (EventKind::Put, Some(prev)) => (KIND_PUT, &prev.value[..]),
        (EventKind::Put, None) => (KIND_PUT, &[][..]),
    };
    let prev_mod_revision = event.prev.as_ref().map_or(0, |p| p.mod_revision);
    let kv = &event.kv;
    let mut out = Vec::with_capacity(29 + kv.key.len() + kv.value.len() + prev_value.len());
    out.push(kind);
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&prev_mod_revision.to_le_bytes());
    put_bytes(&mut out, kv.key.as_bytes());
    put_bytes(&mut out, &kv.value);
    out.extend_from_slice(prev_value);
    out
}

/// Decodes the event at `revision` from the `history` table.
pub(crate) fn decode_event(revision: u64, bytes: &[u8]) -> Result<Event> {
    let mut reader = Reader(bytes);
    let kind = reader.u8()?;
    let create_revision = reader.u64()?;
    let prev_mod_revision = reader.u64()?;
    let key = reader.str()?.to_owned();
    let value = Bytes::copy_from_slice(reader.bytes()?);
    let prev_value = reader.0;
    let kv = |value, mod_revision| KeyValue {
        key: key.clone(),
        value,
        create_revision,
        mod_revision,
    };
    match kind {
        KIND_PUT => {
            let prev = (prev_mod_revision != 0)
                .then(|| kv(Bytes::copy_from_slice(prev_value), prev_mod_revision));
            Ok(Event::put(kv(value, revision), prev))
        }
        KIND_DELETE => Ok(Event::delete(kv(value, prev_mod_revision), revision)),
        _ => Err(Error::Corrupt("unknown history event kind")),
    }
}

/// The key of an encoded event, without decoding the rest.
pub(crate) fn event_key(bytes: &[u8]) -> Result<&str> {
    let mut reader = Reader(bytes);
    reader.u8()?;
    reader.u64()?;
    reader.u64()?;
    reader.str()
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // A length that does not fit cannot be stored anyway: redb refuses values over 3 GiB,
    // and the record holds all the bytes, so its insert fails before anything is committed.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A cursor over an encoded record.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::Corrupt("record is truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64> {
        let mut buf = [0; 8];
        buf.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(buf))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let mut buf = [0; 4];
        buf.copy_from_slice(self.take(4)?);
        self.take(u32::from_le_bytes(buf) as usize)
    }

    fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Error::Corrupt("key is not UTF-8"))
    }
}
