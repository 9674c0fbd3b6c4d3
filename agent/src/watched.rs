//! What the agent keeps of the objects it watches. `metadata.managedFields` is the API
//! server's record of who set which field — of no use to a node, and in a pod created by a
//! ReplicaSet a large nested map held once per pod. Every watch of the agent drops it on
//! arrival, as client-go users do with an informer transform.

use kube::Resource;

/// Drops `object`'s managedFields (pass to `WatchStreamExt::modify`).
pub(crate) fn drop_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}
