//! A dependent whose owners may be gone (Kubernetes' `attemptToDeleteItem`). Its owners
//! are judged on the live object: if any is still solid, references to gone owners (and
//! to owners deleting in the foreground) are removed and the dependent stays; otherwise it
//! is deleted — in the foreground when an owner waits for it and it has dependents of
//! its own, so that the wait reaches down the whole chain.

use super::item::{Item, ObjectRef};
use super::owners::{self, Verdict};
use super::{Error, Inner, object};
use crate::machinery::client::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER, Propagation};
use crate::machinery::controller::Action;
use serde_json::Value;

impl Inner {
    /// Looks at the dependent `item`.
    pub(super) async fn attempt_to_delete(&self, item: &ObjectRef) -> Result<Action, Error> {
        let Some(source) = self.sources.of(item.kind) else {
            return Ok(Action::await_change());
        };
        let Some(cached) = source.get(&item.key()) else {
            return Ok(Action::await_change());
        };
        let cached_meta = cached.meta();
        if cached_meta.uid.as_deref() != Some(item.uid.as_str())
            || cached_meta
                .owner_references
                .as_ref()
                .is_none_or(Vec::is_empty)
            || owners::all_solid(&self.sources, cached.as_ref())
        {
            return Ok(Action::await_change());
        }
        // Some owner looks gone: decide on the object as it is now.
        let Some(live) = object::read(&self.client, item)
            .await
            .map_err(Error::of("read", item))?
        else {
            return Ok(Action::await_change());
        };
        if live.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Action::await_change());
        }
        let namespace = item.namespace.as_deref();
        let (mut solid, mut gone, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for reference in owners::references(&live) {
            let verdict = owners::verify(&self.client, &self.sources, &reference, namespace)
                .await
                .map_err(Error::of("look up the owners of", item))?;
            match verdict {
                Verdict::Solid => solid.push(reference.uid),
                Verdict::Dangling => gone.push(reference.uid),
                Verdict::Waiting => waiting.push(reference.uid),
            }
        }
        if !solid.is_empty() {
            let stale: Vec<String> = gone.into_iter().chain(waiting).collect();
            if !stale.is_empty() {
                object::remove_owner_references(&self.client, item, &stale)
                    .await
                    .map_err(Error::of("remove gone owners from", item))?;
                tracing::debug!(object = %item, "removed references to gone owners");
            }
            return Ok(Action::await_change());
        }
        if gone.is_empty() && waiting.is_empty() {
            // No owners left at all (removed meanwhile): nothing to decide.
            return Ok(Action::await_change());
        }
        let propagation = if !waiting.is_empty() && !self.sources.dependents(&item.uid).is_empty() {
            Propagation::Foreground
        } else {
            own_policy(&live)
        };
        tracing::info!(object = %item, propagation = propagation.as_str(), "owners gone; deleting");
        object::delete(&self.client, item, propagation)
            .await
            .map_err(Error::of("delete", item))?;
        // Its owners waiting in the foreground look again once it is gone; its own
        // dependents are looked at when its deletion is seen.
        Ok(Action::await_change())
    }

    /// Queues the dependents of the owner `owner` (gone, or deleting them).
    pub(super) fn queue_dependents(&self, owner: &ObjectRef) {
        for (kind, dependent) in self.sources.dependents(&owner.uid) {
            self.queue
                .add(Item::Dependent(ObjectRef::of(kind, dependent.meta())));
        }
    }
}

/// How a dependent is deleted when nothing says otherwise: as its own finalizers ask
/// (an object already asked to orphan or delete its own dependents keeps that).
fn own_policy(object: &Value) -> Propagation {
    let has = |finalizer: &str| {
        object
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|f| f == finalizer))
    };
    if has(ORPHAN_FINALIZER) {
        Propagation::Orphan
    } else if has(FOREGROUND_FINALIZER) {
        Propagation::Foreground
    } else {
        Propagation::Background
    }
}
