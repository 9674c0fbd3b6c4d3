//! [`Allocator`], the lock that serializes the allocation of Services' cluster IPs and
//! nodePorts (one per API server, kept in its state), and the [`Reservation`] an
//! allocation holds until its object is written.

use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Serializes allocations; one per API server (shared by every clone of its state).
#[derive(Debug, Default)]
pub struct Allocator {
    lock: Arc<Mutex<()>>,
}

/// Held from allocation until the object is written (or the write failed); dropping it
/// lets the next allocation see the values as taken or free.
pub type Reservation = Option<OwnedMutexGuard<()>>;

impl Allocator {
    /// Waits for the allocations before to finish, and holds off those after until the
    /// returned guard is dropped.
    pub async fn reserve(&self) -> OwnedMutexGuard<()> {
        self.lock.clone().lock_owned().await
    }
}
