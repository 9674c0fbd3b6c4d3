//! The control plane's revisioned key-value store, in the etcd/kine mould.
//!
//! One global revision counts every write: the first write gets revision 1, each later
//! create, update or delete the next one (0 means "nothing written yet"). Every key carries
//! the revision that created it and the one that last modified it; updates and deletes can
//! be made conditional on the latter (optimistic concurrency, HTTP 409 in the API). Every
//! write is also appended to a history, from which [`Store::watch`] replays before streaming
//! live events; the history keeps a bounded window of revisions and older ones are compacted
//! away (HTTP 410 in the API). A Kubernetes object's `metadata.resourceVersion` is the store
//! revision.
//!
//! Parts:
//! - [`Store`]: the trait the API server holds as `Arc<dyn Store>`;
//! - [`KeyValue`], [`Deleted`], [`List`], [`ListOptions`], [`Revisions`] (`kv`): what reads
//!   and writes return;
//! - [`Event`], [`EventKind`] (`event`): what a watch yields;
//! - [`Watch`] (`watch`): a watch stream, replaying history then following live writes, or
//!   wrapping a [`WatchSource`] (the watch cache's);
//! - [`Error`] (`error`): everything that can fail at this boundary;
//! - [`Config`] and its `DEFAULT_*` tunables (`config`);
//! - [`RedbStore`] (`redb`): the durable implementation on one redb file, with group commit
//!   (`writer`) and its on-disk layout (`layout`);
//! - [`MemoryStore`] (`memory`): the same semantics in memory, for tests of the layers above;
//! - `apply` (the write operations and their preconditions, shared by both implementations)
//!   and `hub` (fan-out of live events to watchers).

mod apply;
mod config;
mod error;
mod event;
mod hub;
mod kv;
mod layout;
mod memory;
pub(crate) mod page;
mod redb;
mod watch;
mod writer;

pub use config::{
    Config, DEFAULT_HISTORY_PAGE, DEFAULT_HISTORY_WINDOW, DEFAULT_MAX_BATCH, DEFAULT_WATCH_BUFFER,
};
pub use error::{Error, Result};
pub use event::{Event, EventKind};
pub use kv::{Deleted, KeyValue, List, ListOptions, Revisions};
pub use memory::MemoryStore;
pub use redb::RedbStore;
pub use watch::{Watch, WatchSource};

use async_trait::async_trait;
use bytes::Bytes;

/// A revisioned key-value store: what the API server reads, writes and watches.
///
/// Keys are strings compared byte-wise (`/registry/pods/default/web-1`); prefixes select
/// ranges of them. A write is acknowledged (its future resolves `Ok`) only once it is durable
/// in the implementation's sense. A write whose future is dropped before it resolves may or
/// may not have been applied, as with any remote store.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates `key` with `value` at the next revision.
    ///
    /// Fails with [`Error::AlreadyExists`] if the key exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Replaces the value of `key` at the next revision, if its modification revision is
    /// still `expected_mod_revision`.
    ///
    /// Fails with [`Error::NotFound`] if the key is absent and [`Error::Conflict`] (carrying
    /// the current modification revision) if it was modified since.
    async fn update(&self, key: &str, value: Bytes, expected_mod_revision: u64)
    -> Result<KeyValue>;

    /// Deletes `key` at the next revision, if its modification revision is
    /// `expected_mod_revision` (any, when `None`). Returns the deleted value and the delete's
    /// revision.
    ///
    /// Fails with [`Error::NotFound`] or [`Error::Conflict`] as [`Store::update`] does.
    async fn delete(&self, key: &str, expected_mod_revision: Option<u64>) -> Result<Deleted>;

    /// The current value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// The keys starting with `prefix`, sorted, read from one consistent snapshot, with the
    /// revision of that snapshot; paginated by `options`.
    ///
    /// Each page is read at the then-current revision: pages of one listing are not one
    /// snapshot.
    async fn list_page(&self, prefix: &str, options: &ListOptions) -> Result<List>;

    /// All keys starting with `prefix`, sorted, and the revision they were read at.
    async fn list(&self, prefix: &str) -> Result<List> {
        self.list_page(prefix, &ListOptions::default()).await
    }

    /// Watches the keys starting with `prefix`: replays every event after `from_revision`
    /// from the history, then follows live writes, with no gap and no duplicate between the
    /// two. `from_revision` 0 means "from now" (so a listing of an empty store, at revision
    /// 0, cannot be followed by a gapless watch the way later revisions can: start such a
    /// watch before the first write, or treat its first events as a relist).
    ///
    /// Fails with [`Error::Compacted`] if `from_revision` is older than the compaction point.
    /// The watch's buffer of live events is bounded; a watcher that lets it fill catches up
    /// from the history, and ends with [`Error::Compacted`] only if compaction overtook it
    /// (see [`Watch`]). Other implementations may end slow watchers with
    /// [`Error::WatcherLagged`] (the watch cache, once one falls out of its window).
    async fn watch(&self, prefix: &str, from_revision: u64) -> Result<Watch>;

    /// The current revision and the compaction point.
    async fn revisions(&self) -> Result<Revisions>;

    /// Drops the history up to and including `revision` (current values are never dropped).
    /// A revision at or below the compaction point is a no-op.
    ///
    /// Fails with [`Error::FutureRevision`] if `revision` is above the current revision.
    async fn compact(&self, revision: u64) -> Result<()>;
}
