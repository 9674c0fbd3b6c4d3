//! What reads and writes return: stored [`KeyValue`]s, a [`Deleted`] value, a [`List`] page
//! (asked for with [`ListOptions`]) and the store's [`Revisions`].

use bytes::Bytes;

/// One key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value (opaque bytes: a serialized API object).
    pub value: Bytes,
    /// The revision of the write that created the key (kept by updates).
    pub create_revision: u64,
    /// The revision of the write that last created or updated the key; the
    /// `resourceVersion` of the object.
    pub mod_revision: u64,
}

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The key's value as it was just before the delete.
    pub kv: KeyValue,
    /// The revision of the delete itself.
    pub revision: u64,
}

/// Which page of a listing to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Start after this key (the last key of the previous page); `None` starts at the prefix.
    pub after: Option<String>,
    /// At most this many items; 0 means no limit (as Kubernetes' `limit`).
    pub limit: usize,
    /// The revision to read the keys as of; 0 reads the current ones. A past revision must
    /// not be compacted ([`Error::Compacted`](super::Error::Compacted)) and a later one
    /// must have been reached ([`Error::FutureRevision`](super::Error::FutureRevision)).
    pub revision: u64,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// The items, sorted by key.
    pub items: Vec<KeyValue>,
    /// The revision the page was read at.
    pub revision: u64,
    /// Whether more keys with the prefix follow the last item.
    pub more: bool,
}

/// Where the store's revision counter and history stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revisions {
    /// The revision of the latest write (0 before the first).
    pub current: u64,
    /// The compaction point: history up to and including this revision is gone, so a watch
    /// can start after any revision from here on (0: nothing compacted).
    pub compacted: u64,
}
