//! The store's error type: everything that can fail at the [`Store`](super::Store) boundary.
//!
//! Precondition failures ([`Error::AlreadyExists`], [`Error::NotFound`], [`Error::Conflict`])
//! and [`Error::Compacted`] are answers for the client (HTTP 409, 404, 410); the rest are
//! failures of the store itself.

use std::sync::Arc;

/// A result whose error is the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What failed at the store boundary.
///
/// Cloneable, because one failed commit is the answer to every write in its batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A create found its key already present.
    #[error("key {key:?} already exists")]
    AlreadyExists {
        /// The key that exists.
        key: String,
    },
    /// An update or delete found no such key.
    #[error("key {key:?} not found")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// An update or delete expected another modification revision than the key has.
    #[error("key {key:?} is at revision {current}, not {expected}")]
    Conflict {
        /// The contended key.
        key: String,
        /// The modification revision the caller expected.
        expected: u64,
        /// The key's modification revision.
        current: u64,
    },
    /// A watch asked for history that compaction has already dropped; the client must relist.
    #[error("revision {requested} is compacted; the oldest watchable revision is {compacted}")]
    Compacted {
        /// The revision the watch wanted to start after.
        requested: u64,
        /// The compaction point: history up to and including it is gone.
        compacted: u64,
    },
    /// A compaction asked for a revision the store has not reached.
    #[error("revision {requested} is in the future; the current revision is {current}")]
    FutureRevision {
        /// The requested revision.
        requested: u64,
        /// The current revision.
        current: u64,
    },
    /// A watcher fell so far behind that it can no longer be caught up (or the watch cache
    /// relisted and can no longer vouch for its history); the watch is over and the client
    /// must relist.
    #[error("watcher fell too far behind and was closed")]
    WatcherLagged,
    /// The store is shut down (or its writer thread died).
    #[error("store is closed")]
    Closed,
    /// Reading or writing the underlying storage failed.
    #[error("storage failed")]
    Storage(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// A stored record could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(&'static str),
}

impl Error {
    /// Whether this is a client-side answer (a failed precondition or a compacted revision)
    /// rather than a failure of the store.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::AlreadyExists { .. }
                | Self::NotFound { .. }
                | Self::Conflict { .. }
                | Self::Compacted { .. }
                | Self::FutureRevision { .. }
        )
    }

    /// Wraps any error from the storage layer.
    pub(crate) fn storage(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage(Arc::new(error))
    }
}
