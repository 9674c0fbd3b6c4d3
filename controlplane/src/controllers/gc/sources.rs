//! [`Sources`]: every informer the garbage collector reads, behind one object-safe
//! [`Source`] trait, so that owners and dependents of any kind are found the same way:
//! an object by key, and the dependents of an owner UID through the informer's
//! [`BY_OWNER`] index.

use crate::machinery::informer::{Change, Informer, Object};
use crate::machinery::informers::{BY_OWNER, Informers};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_model::kinds::ResourceKind;
use std::sync::Arc;

/// Anything with metadata (every informer's objects).
pub(super) trait Meta: Send + Sync {
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
}

impl<K: Object> Meta for K {
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }
}

/// What the collector is told of a change: the object before and after (`None` for an
/// addition or a deletion).
pub(super) type Handler =
    Arc<dyn Fn(&'static ResourceKind, Option<&ObjectMeta>, Option<&ObjectMeta>) + Send + Sync>;

/// One informer, seen for metadata only.
pub(super) trait Source: Send + Sync {
    /// The kind it holds.
    fn kind(&self) -> &'static ResourceKind;
    /// The object at `key` (`namespace/name` or `name`).
    fn get(&self, key: &str) -> Option<Arc<dyn Meta>>;
    /// The objects with an owner reference to `uid` (none if the informer has no owner
    /// index).
    fn dependents(&self, uid: &str) -> Vec<Arc<dyn Meta>>;
    /// Calls `handler` with every change.
    fn subscribe(&self, handler: Handler);
}

impl<K: Object> Source for Informer<K> {
    fn kind(&self) -> &'static ResourceKind {
        Informer::kind(self)
    }

    fn get(&self, key: &str) -> Option<Arc<dyn Meta>> {
        Informer::get(self, key).map(|o| o as Arc<dyn Meta>)
    }

    fn dependents(&self, uid: &str) -> Vec<Arc<dyn Meta>> {
        self.indexed(BY_OWNER, uid)
            .into_iter()
            .map(|o| o as Arc<dyn Meta>)
            .collect()
    }

    fn subscribe(&self, handler: Handler) {
        let kind = Informer::kind(self);
        Informer::subscribe(self, move |change: &Change<'_, K>| {
            handler(
                kind,
                change.old.map(Object::metadata),
                change.new.map(Object::metadata),
            );
        });
    }
}

/// Every informer of the manager.
#[derive(Clone)]
pub(super) struct Sources {
    all: Vec<Arc<dyn Source>>,
}

impl Sources {
    /// The manager's informers.
    pub(super) fn new(informers: &Informers) -> Self {
        let mut all: Vec<Arc<dyn Source>> = vec![
            Arc::new(informers.pods.clone()),
            Arc::new(informers.nodes.clone()),
            Arc::new(informers.leases.clone()),
            Arc::new(informers.namespaces.clone()),
            Arc::new(informers.replicasets.clone()),
            Arc::new(informers.deployments.clone()),
            Arc::new(informers.jobs.clone()),
            Arc::new(informers.services.clone()),
            Arc::new(informers.endpoints.clone()),
            Arc::new(informers.endpointslices.clone()),
            Arc::new(informers.hpas.clone()),
            Arc::new(informers.service_accounts.clone()),
        ];
        for other in &informers.others {
            all.push(Arc::new(other.clone()));
        }
        Self { all }
    }

    /// Every source.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Source>> {
        self.all.iter()
    }

    /// The source of `kind`, if the manager has an informer of it.
    pub(super) fn of(&self, kind: &ResourceKind) -> Option<&dyn Source> {
        self.all
            .iter()
            .find(|s| std::ptr::eq(s.kind(), kind))
            .map(|s| s.as_ref())
    }

    /// The dependents of `uid`, of every kind, with their kinds.
    pub(super) fn dependents(&self, uid: &str) -> Vec<(&'static ResourceKind, Arc<dyn Meta>)> {
        self.all
            .iter()
            .flat_map(|s| {
                let kind = s.kind();
                s.dependents(uid).into_iter().map(move |d| (kind, d))
            })
            .collect()
    }
}
