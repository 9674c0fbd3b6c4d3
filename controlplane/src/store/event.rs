//! What a watch yields: an [`Event`] per write, of an [`EventKind`].

use super::KeyValue;

/// Whether a write put a value or deleted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A create or an update.
    Put,
    /// A delete.
    Delete,
}

/// One write, as a watch reports it.
///
/// Invariants: `kv.mod_revision == revision`; `prev` is `None` only for a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The revision of the write.
    pub revision: u64,
    /// For a put, the new value. For a delete, the deleted value with its `mod_revision` set
    /// to the delete's revision (what Kubernetes shows as the object of a DELETED event).
    pub kv: KeyValue,
    /// The value before the write: `None` for a create, the replaced value for an update,
    /// the deleted value (with its own `mod_revision`) for a delete.
    pub prev: Option<KeyValue>,
}

impl Event {
    /// The event of putting `kv`, which replaced `prev`.
    pub(crate) fn put(kv: KeyValue, prev: Option<KeyValue>) -> Self {
        Self {
            kind: EventKind::Put,
            revision: kv.mod_revision,
            kv,
            prev,
        }
    }

    /// The event of deleting `prev` at `revision`.
    pub(crate) fn delete(prev: KeyValue, revision: u64) -> Self {
        Self {
            kind: EventKind::Delete,
            revision,
            kv: KeyValue {
                mod_revision: revision,
                ..prev.clone()
            },
            prev: Some(prev),
        }
    }

    /// The key written.
    pub fn key(&self) -> &str {
        &self.kv.key
    }

    /// Whether this put created the key (rather than updating it).
    pub fn is_create(&self) -> bool {
        self.kind == EventKind::Put && self.prev.is_none()
    }
}
