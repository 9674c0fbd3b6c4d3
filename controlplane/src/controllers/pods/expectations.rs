//! [`Expectations`]: the pod creations and deletions a controller has issued and not yet
//! seen in its informer, per controller key — client-go's `ControllerExpectations` with
//! deletions tracked by pod key (`UIDTrackingControllerExpectations`).
//!
//! A controller counts its pods from an informer that may lag behind its own writes. If it
//! acted again before seeing them it would create (or delete) the same pods twice; so after
//! issuing N writes it records them here, the informer's handlers tick them off as the
//! pods appear (or get a deletion timestamp, or vanish), and the controller leaves the key
//! alone until all are seen — or until [`EXPECTATIONS_TIMEOUT`], so that a lost write or
//! event cannot wedge it forever.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a controller waits for its writes to show before acting anyway. Long enough
/// for any healthy informer (in-process they show in milliseconds), short enough that a
/// missed event costs a pause, not an outage. Kubernetes waits 5 minutes.
pub(crate) const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes awaited per controller key. Cheap to clone (shared).
#[derive(Clone)]
pub(crate) struct Expectations {
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    timeout: Duration,
}

/// What one controller key waits for.
#[derive(Debug)]
struct Pending {
    /// Creations not yet seen.
    creations: i64,
    /// Keys of pods whose deletion is not yet seen.
    deletions: HashSet<String>,
    /// When they were issued.
    since: Instant,
}

impl Pending {
    fn fulfilled(&self) -> bool {
        self.creations <= 0 && self.deletions.is_empty()
    }
}

impl Expectations {
    /// No expectations; each expires after `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            pending: Arc::default(),
            timeout,
        }
    }

    /// `None` if the controller may act on `key` (everything it issued has been seen, or
    /// has expired); otherwise how long until the expectations expire.
    pub(crate) fn pending(&self, key: &str) -> Option<Duration> {
        let mut pending = self.lock();
        let entry = pending.get(key)?;
        let age = entry.since.elapsed();
        if entry.fulfilled() || age >= self.timeout {
            if !entry.fulfilled() {
                tracing::warn!(controller = %key, creations = entry.creations, deletions = entry.deletions.len(), "expected pod changes not seen in time; acting anyway");
            }
            pending.remove(key);
            return None;
        }
        Some(self.timeout - age)
    }

    /// Records that `creations` pods are being created for `key`.
    pub(crate) fn expect_creations(&self, key: &str, creations: usize) {
        self.set(key, creations as i64, HashSet::new());
    }

    /// Records that the pods with `pod_keys` are being deleted for `key`.
    pub(crate) fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        self.set(key, 0, pod_keys.into_iter().collect());
    }

    fn set(&self, key: &str, creations: i64, deletions: HashSet<String>) {
        self.lock().insert(
            key.to_string(),
            Pending {
                creations,
                deletions,
                since: Instant::now(),
            },
        );
    }

    /// One pod created for `key` was seen (or its creation failed, or was never issued).
    pub(crate) fn creation_observed(&self, key: &str) {
        self.lower_creations(key, 1);
    }

    /// `n` creations for `key` will never be seen (they failed or were skipped).
    pub(crate) fn lower_creations(&self, key: &str, n: usize) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.creations -= n as i64;
        }
    }

    /// The deletion of the pod `pod_key`, owned by `key`, was seen (or failed).
    pub(crate) fn deletion_observed(&self, key: &str, pod_key: &str) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.deletions.remove(pod_key);
        }
    }

    /// Drops `key`'s expectations (its controller object is gone).
    pub(crate) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_waits_until_every_creation_is_seen() {
        let e = Expectations::new(Duration::from_secs(60));
        assert_eq!(e.pending("rs"), None, "nothing issued");
        e.expect_creations("rs", 3);
        assert!(e.pending("rs").is_some());
        e.creation_observed("rs");
        e.creation_observed("rs");
        assert!(e.pending("rs").is_some());
        e.lower_creations("rs", 1);
        assert_eq!(e.pending("rs"), None);
        // Seen creations of a key with no expectations change nothing.
        e.creation_observed("rs");
        assert_eq!(e.pending("rs"), None);
    }

    #[test]
    fn a_key_waits_until_each_deleted_pod_is_seen() {
        let e = Expectations::new(Duration::from_secs(60));
        e.expect_deletions("rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("rs", "ns/a");
        e.deletion_observed("rs", "ns/a");
        e.deletion_observed("rs", "ns/other");
        assert!(e.pending("rs").is_some(), "b is not seen yet");
        e.deletion_observed("rs", "ns/b");
        assert_eq!(e.pending("rs"), None);
    }

    #[test]
    fn expectations_expire_and_can_be_forgotten() {
        let e = Expectations::new(Duration::ZERO);
        e.expect_creations("rs", 5);
        assert_eq!(e.pending("rs"), None, "expired at once");
        let e = Expectations::new(Duration::from_secs(60));
        e.expect_creations("rs", 5);
        let left = e.pending("rs").expect("pending");
        assert!(left <= Duration::from_secs(60));
        e.forget("rs");
        assert_eq!(e.pending("rs"), None);
    }
}
