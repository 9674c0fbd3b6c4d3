//! The garbage collector (after Kubernetes' `pkg/controller/garbagecollector`): deletes
//! objects whose owners are all gone, and carries out deletions that asked for their
//! dependents to be orphaned (`propagationPolicy: Orphan`, the `orphan` finalizer) or
//! deleted first (`Foreground`, the `foregroundDeletion` finalizer). A `Background`
//! deletion removes the owner at once; its dependents follow here.
//!
//! It watches every informer of the manager: an object with owner references is looked at
//! as a dependent when it appears or its references change; an object that goes, or is
//! being deleted with one of the two finalizers, is looked at as an owner. Dependents are
//! found through the informers' owner index, owners by kind and name in their informer —
//! and read live before being called gone, so that an owner too new for its informer
//! never loses its dependents. Deletions carry a UID precondition.
//!
//! Parts: `item` (what the queue holds), `sources` (the informers, of any kind, behind one
//! trait), `owners` (judging an owner solid, gone or waiting), `dependent` (deleting a
//! dependent whose owners are gone), `owner` (orphaning or deleting the dependents of an
//! owner being deleted), `object` (reads and writes of any kind), `error`.

mod dependent;
mod error;
mod item;
mod object;
mod owner;
mod owners;
mod sources;

pub use error::Error;

use crate::machinery::client::{Client, FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::workqueue::WorkQueue;
use item::{Item, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::kinds::ResourceKind;
use sources::Sources;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Items looked at concurrently.
pub const WORKERS: usize = 4;

/// The field manager of the collector's writes.
const MANAGER: &str = "garbage-collector";

/// The garbage collector.
pub struct GarbageCollector {
    controller: Controller<Item>,
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    sources: Sources,
    /// The collector's own queue: an owner that goes queues its dependents.
    queue: WorkQueue<Item>,
}

impl GarbageCollector {
    /// Builds the collector, watching every informer.
    pub fn new(ctx: &Context) -> Self {
        let sources = Sources::new(&ctx.informers);
        let controller = Controller::new("garbage-collector", WORKERS);
        for source in sources.iter() {
            let queue = controller.queue();
            source.subscribe(Arc::new(move |kind, old, new| {
                for item in items(kind, old, new) {
                    queue.add(item);
                }
            }));
        }
        let inner = Arc::new(Inner {
            client: ctx.client(MANAGER),
            queue: controller.queue(),
            sources,
        });
        Self { controller, inner }
    }

    /// Collects until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.inner, shutdown).await;
    }
}

impl Reconciler for Inner {
    type Key = Item;
    type Error = Error;

    async fn reconcile(&self, item: &Item) -> Result<Action, Error> {
        match item {
            Item::Dependent(r) => self.attempt_to_delete(r).await,
            Item::Owner(r) => self.process_owner(r).await,
        }
    }
}

/// What a change of an object of `kind` gives to look at.
fn items(
    kind: &'static ResourceKind,
    old: Option<&ObjectMeta>,
    new: Option<&ObjectMeta>,
) -> Vec<Item> {
    let mut items = Vec::new();
    match (old, new) {
        (_, Some(new)) => {
            let gc_finalizer = new
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER);
            if new.deletion_timestamp.is_some() && gc_finalizer {
                items.push(Item::Owner(ObjectRef::of(kind, new)));
            }
            let references_changed =
                old.is_none_or(|old| old.owner_references != new.owner_references);
            if new.owner_references.as_ref().is_some_and(|r| !r.is_empty()) && references_changed {
                items.push(Item::Dependent(ObjectRef::of(kind, new)));
            }
        }
        (Some(old), None) => {
            // Its dependents may have lost their last owner.
            items.push(Item::Owner(ObjectRef::of(kind, old)));
            // Its owners may be waiting for it to go.
            for reference in old.owner_references.iter().flatten() {
                if let Some(owner) = ObjectRef::owner(reference, old.namespace.as_deref()) {
                    items.push(Item::Owner(owner));
                }
            }
        }
        (None, None) => {}
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

    fn pod(owner: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some("p".into()),
            namespace: Some("ns".into()),
            uid: Some("pod-uid".into()),
            owner_references: owner.map(|uid| {
                vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: "rs".into(),
                    uid: uid.into(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    fn kind() -> &'static ResourceKind {
        skiff_model::kinds::by_kind("v1", "Pod").expect("pods")
    }

    #[test]
    fn new_dependents_and_changed_references_are_looked_at() {
        let added = items(kind(), None, Some(&pod(Some("rs-uid"))));
        assert!(matches!(added.as_slice(), [Item::Dependent(r)] if r.uid == "pod-uid"));
        let same = items(
            kind(),
            Some(&pod(Some("rs-uid"))),
            Some(&pod(Some("rs-uid"))),
        );
        assert!(same.is_empty(), "a status change is not a new question");
        let changed = items(
            kind(),
            Some(&pod(Some("rs-uid"))),
            Some(&pod(Some("other"))),
        );
        assert_eq!(changed.len(), 1);
        assert!(items(kind(), None, Some(&pod(None))).is_empty());
    }

    #[test]
    fn a_deletion_asks_about_its_dependents_and_its_owners() {
        let gone = items(kind(), Some(&pod(Some("rs-uid"))), None);
        let owners: Vec<String> = gone
            .iter()
            .map(|i| match i {
                Item::Owner(r) => format!("{} {}", r.kind.kind, r.uid),
                Item::Dependent(r) => format!("dependent {}", r.uid),
            })
            .collect();
        assert_eq!(owners, vec!["Pod pod-uid", "ReplicaSet rs-uid"]);
    }

    #[test]
    fn an_owner_deleting_with_a_gc_finalizer_is_looked_at() {
        let mut deleting = pod(None);
        deleting.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(items(kind(), None, Some(&deleting)).is_empty());
        deleting.finalizers = Some(vec![FOREGROUND_FINALIZER.into()]);
        let found = items(kind(), None, Some(&deleting));
        assert!(matches!(found.as_slice(), [Item::Owner(r)] if r.uid == "pod-uid"));
    }
}
