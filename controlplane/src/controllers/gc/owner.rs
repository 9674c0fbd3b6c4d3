//! An object others may depend on:
//! - gone: its dependents are queued, to be deleted if it was their last owner;
//! - deleting with the `orphan` finalizer (`propagationPolicy: Orphan`): its owner
//!   reference is removed from every dependent, then the finalizer, and it goes;
//! - deleting with the `foregroundDeletion` finalizer (`propagationPolicy: Foreground`):
//!   its dependents are deleted, and once none that blocks it (`blockOwnerDeletion`)
//!   remains, the finalizer is removed and it goes.

use super::item::ObjectRef;
use super::{Error, Inner, object};
use crate::machinery::client::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use crate::machinery::controller::Action;

impl Inner {
    /// Looks at the owner `item`.
    pub(super) async fn process_owner(&self, item: &ObjectRef) -> Result<Action, Error> {
        let current = self
            .sources
            .of(item.kind)
            .and_then(|s| s.get(&item.key()))
            .filter(|o| o.meta().uid.as_deref() == Some(item.uid.as_str()));
        let Some(current) = current else {
            self.queue_dependents(item);
            return Ok(Action::await_change());
        };
        let meta = current.meta();
        if meta.deletion_timestamp.is_none() {
            return Ok(Action::await_change());
        }
        let finalizers: Vec<&str> = meta
            .finalizers
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if finalizers.contains(&ORPHAN_FINALIZER) {
            self.orphan_dependents(item).await?;
        } else if finalizers.contains(&FOREGROUND_FINALIZER) {
            self.delete_dependents(item).await?;
        }
        Ok(Action::await_change())
    }

    async fn orphan_dependents(&self, owner: &ObjectRef) -> Result<(), Error> {
        let uid = [owner.uid.clone()];
        for (kind, dependent) in self.sources.dependents(&owner.uid) {
            let dependent = ObjectRef::of(kind, dependent.meta());
            object::remove_owner_references(&self.client, &dependent, &uid)
                .await
                .map_err(Error::of("orphan", &dependent))?;
        }
        tracing::info!(object = %owner, "dependents orphaned");
        object::remove_finalizer(&self.client, owner, ORPHAN_FINALIZER)
            .await
            .map_err(Error::of("remove the orphan finalizer of", owner))
    }

    async fn delete_dependents(&self, owner: &ObjectRef) -> Result<(), Error> {
        let mut blocking = 0;
        for (kind, dependent) in self.sources.dependents(&owner.uid) {
            let meta = dependent.meta();
            let blocks = meta
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.uid == owner.uid && r.block_owner_deletion == Some(true));
            if blocks {
                blocking += 1;
            }
            if meta.deletion_timestamp.is_none() {
                self.attempt_to_delete(&ObjectRef::of(kind, meta)).await?;
            }
        }
        if blocking > 0 {
            tracing::debug!(object = %owner, blocking, "waiting for dependents to go");
            return Ok(());
        }
        tracing::info!(object = %owner, "dependents gone; deleting");
        object::remove_finalizer(&self.client, owner, FOREGROUND_FINALIZER)
            .await
            .map_err(Error::of(
                "remove the foregroundDeletion finalizer of",
                owner,
            ))
    }
}
