//! [`Informer`]: an in-memory, typed copy of every object of one kind, kept in step with
//! the store by one list and one watch — what client-go calls a shared informer. The
//! scheduler and the controllers read from informers (never from the store) and are told
//! of every change through handlers — for a controller, the watches its runner declares,
//! which put keys on its [`WorkQueue`](crate::machinery::workqueue::WorkQueue).
//!
//! Objects are keyed as Kubernetes keys them: `namespace/name`, or `name` for cluster-scoped
//! kinds. Indexes (by node, by owner, ...) are declared before the informer starts and kept
//! with every change. Handlers are registered before [`Informer::start`] and see the initial
//! listing as additions; when the watch breaks (compaction, a lagging watcher), the informer
//! lists again and reports the difference as changes, so a handler sees every object's
//! latest state even if it misses intermediate ones.

use crate::store::{EventKind, KeyValue, Store};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use serde::de::DeserializeOwned;
use skiff_model::kinds::ResourceKind;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What an informer holds: a Kubernetes object type (or [`MetaOnly`]).
pub trait Object: DeserializeOwned + Send + Sync + 'static {
    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The object's metadata, to change.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
}

impl<K> Object for K
where
    K: Metadata<Ty = ObjectMeta> + DeserializeOwned + Send + Sync + 'static,
{
    fn metadata(&self) -> &ObjectMeta {
        Metadata::metadata(self)
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        Metadata::metadata_mut(self)
    }
}

/// Any object, read for its metadata only: for informers over every kind (the garbage
/// collector's), built with [`Informer::builder_for`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MetaOnly {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl Object for MetaOnly {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// One change an informer saw: `old` is `None` for an addition, `new` is `None` for a
/// deletion.
#[derive(Debug)]
pub struct Change<'a, K> {
    /// The object's key (`namespace/name` or `name`).
    pub key: &'a str,
    /// The object before the change.
    pub old: Option<&'a K>,
    /// The object after it.
    pub new: Option<&'a K>,
}

impl<K> Change<'_, K> {
    /// The object as it is now, or as it was when deleted.
    pub fn object(&self) -> &K {
        self.new.or(self.old).expect("a change has an object")
    }
}

type Handler<K> = Box<dyn Fn(&Change<'_, K>) + Send + Sync>;
type IndexFn<K> = Box<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// A typed, indexed copy of every object of one kind. Cheap to clone (shared).
pub struct Informer<K: Object> {
    inner: Arc<Inner<K>>,
}

impl<K: Object> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K> {
    kind: &'static ResourceKind,
    prefix: String,
    state: RwLock<State<K>>,
    index_fns: Vec<(&'static str, IndexFn<K>)>,
    handlers: Mutex<Vec<Handler<K>>>,
    synced: watch::Sender<bool>,
    /// The revision the contents are at, for [`Informer::wait_for_revision`].
    seen: watch::Sender<u64>,
}

struct State<K> {
    objects: BTreeMap<String, Arc<K>>,
    /// index name → indexed value → the objects found under it, by key (so an index
    /// lookup is one map lookup and its result comes out sorted by key).
    indexes: HashMap<&'static str, HashMap<String, BTreeMap<String, Arc<K>>>>,
    revision: u64,
}

/// Declares an informer's indexes before it starts.
pub struct Builder<K: Object> {
    kind: &'static ResourceKind,
    index_fns: Vec<(&'static str, IndexFn<K>)>,
}

impl<K: Object> Builder<K> {
    /// Adds an index: `f` gives the values an object is found under by
    /// [`Informer::indexed`]`(name, value)`.
    pub fn index(
        mut self,
        name: &'static str,
        f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.index_fns.push((name, Box::new(f)));
        self
    }

    /// The informer, not yet started: register handlers, then [`Informer::start`] it.
    pub fn build(self) -> Informer<K> {
        let (synced, _) = watch::channel(false);
        let (seen, _) = watch::channel(0);
        let indexes = self.index_fns.iter().map(|(n, _)| (*n, HashMap::new()));
        Informer {
            inner: Arc::new(Inner {
                kind: self.kind,
                prefix: self.kind.key_prefix(None),
                state: RwLock::new(State {
                    objects: BTreeMap::new(),
                    indexes: indexes.collect(),
                    revision: 0,
                }),
                index_fns: self.index_fns,
                handlers: Mutex::new(Vec::new()),
                synced,
                seen,
            }),
        }
    }
}

/// The served kind of `K`.
pub fn kind_of<K: Resource>() -> &'static ResourceKind {
    skiff_model::kinds::by_kind(K::API_VERSION, K::KIND)
        .unwrap_or_else(|| panic!("{} {} is not a served kind", K::API_VERSION, K::KIND))
}

/// The informer key of an object: `namespace/name` or `name`.
pub fn key_of(meta: &ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Splits an informer key into namespace (if any) and name.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

/// How long the informer waits before listing again after its watch failed.
const RELIST_DELAY: Duration = Duration::from_millis(100);

impl<K: Object + Resource> Informer<K> {
    /// An informer of `K`, to declare indexes on.
    pub fn builder() -> Builder<K> {
        Self::builder_for(kind_of::<K>())
    }

    /// An informer of `K` without indexes.
    pub fn new() -> Self {
        Self::builder().build()
    }
}

impl<K: Object> Informer<K> {
    /// An informer of the objects of `kind`, read as `K` (e.g. [`MetaOnly`]).
    pub fn builder_for(kind: &'static ResourceKind) -> Builder<K> {
        Builder {
            kind,
            index_fns: Vec::new(),
        }
    }

    /// The kind this informer holds.
    pub fn kind(&self) -> &'static ResourceKind {
        self.inner.kind
    }

    /// Calls `handler` with every change from now on (the initial listing included, if
    /// the informer has not started). Handlers run one at a time on the informer's task,
    /// outside its lock: they may read the informer, and should be quick.
    pub fn subscribe(&self, handler: impl Fn(&Change<'_, K>) + Send + Sync + 'static) {
        self.inner
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(handler));
    }

    /// Lists and starts following the store, until `shutdown`. Returns once the first
    /// listing is loaded (and its additions handled); fails if that listing fails.
    pub async fn start(
        &self,
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
    ) -> crate::store::Result<()> {
        let list = store.list(&self.inner.prefix).await?;
        self.replace(list.items, list.revision);
        self.inner.synced.send_replace(true);
        let this = self.clone();
        tokio::spawn(async move { this.follow(store, shutdown).await });
        Ok(())
    }

    /// Whether the first listing is loaded.
    pub fn is_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    /// The revision the informer's contents are at.
    pub fn revision(&self) -> u64 {
        self.read().revision
    }

    /// Waits until the informer has seen `revision` (or `timeout` passes); returns whether
    /// it has. Lets a writer read its own write back.
    pub async fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        let mut seen = self.inner.seen.subscribe();
        tokio::time::timeout(timeout, seen.wait_for(|r| *r >= revision))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The object at `key`.
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().objects.get(key).cloned()
    }

    /// The object `name` in `namespace` (`None` for cluster-scoped kinds).
    pub fn get_named(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        match namespace {
            Some(ns) => self.get(&format!("{ns}/{name}")),
            None => self.get(name),
        }
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().objects.values().cloned().collect()
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every object in `namespace` (keys are sorted, so this is a range).
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let start = format!("{namespace}/");
        self.read()
            .objects
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The objects an index finds under `value`, in key order.
    pub fn indexed(&self, index: &str, value: &str) -> Vec<Arc<K>> {
        let state = self.read();
        state
            .indexes
            .get(index)
            .and_then(|i| i.get(value))
            .map(|found| found.values().cloned().collect())
            .unwrap_or_default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<K>> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<K>> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn follow(self, store: Arc<dyn Store>, shutdown: CancellationToken) {
        loop {
            let from = self.revision();
            let watch = tokio::select! {
                () = shutdown.cancelled() => return,
                watch = store.watch(&self.inner.prefix, from) => watch,
            };
            match watch {
                Ok(mut watch) => loop {
                    let event = tokio::select! {
                        () = shutdown.cancelled() => return,
                        event = watch.next() => event,
                    };
                    match event {
                        Some(Ok(event)) => {
                            let deleted = event.kind == EventKind::Delete;
                            self.apply(&event.kv, deleted);
                        }
                        Some(Err(e)) => {
                            tracing::debug!(kind = self.inner.kind.kind, error = %e, "informer watch ended; listing again");
                            break;
                        }
                        None => break,
                    }
                },
                Err(e) => {
                    tracing::debug!(kind = self.inner.kind.kind, error = %e, "informer watch refused; listing again");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RELIST_DELAY) => {}
            }
            match store.list(&self.inner.prefix).await {
                Ok(list) => self.replace(list.items, list.revision),
                Err(e) => {
                    tracing::warn!(kind = self.inner.kind.kind, error = %e, "informer cannot list")
                }
            }
        }
    }

    /// Applies one event.
    fn apply(&self, kv: &KeyValue, deleted: bool) {
        let key = self.object_key(&kv.key);
        let new = if deleted { None } else { self.decode(kv) };
        if !deleted && new.is_none() {
            // Skipped, but seen: a writer waiting for this revision is not held up.
            self.advance(kv.mod_revision);
            return;
        }
        let old = {
            let mut state = self.write();
            state.revision = state.revision.max(kv.mod_revision);
            self.inner.seen.send_replace(state.revision);
            let old = match &new {
                Some(obj) => state.objects.insert(key.clone(), obj.clone()),
                None => state.objects.remove(&key),
            };
            self.reindex(&mut state, &key, old.as_deref(), new.as_ref());
            old
        };
        self.notify(&key, old.as_deref(), new.as_deref());
    }

    /// Moves the revision the contents are at to `revision` (if later).
    fn advance(&self, revision: u64) {
        let mut state = self.write();
        state.revision = state.revision.max(revision);
        self.inner.seen.send_replace(state.revision);
    }

    /// Replaces the contents with a fresh listing, reporting the differences.
    fn replace(&self, items: Vec<KeyValue>, revision: u64) {
        let mut changes = Vec::new();
        {
            let mut state = self.write();
            let mut seen = HashSet::new();
            for kv in &items {
                let key = self.object_key(&kv.key);
                seen.insert(key.clone());
                let Some(new) = self.decode(kv) else { continue };
                let old = state.objects.get(&key).cloned();
                let same = old.as_ref().is_some_and(|o| {
                    o.metadata().resource_version == new.metadata().resource_version
                });
                if same {
                    continue;
                }
                state.objects.insert(key.clone(), new.clone());
                self.reindex(&mut state, &key, old.as_deref(), Some(&new));
                changes.push((key, old, Some(new)));
            }
            let gone: Vec<String> = state
                .objects
                .keys()
                .filter(|k| !seen.contains(*k))
                .cloned()
                .collect();
            for key in gone {
                let old = state.objects.remove(&key);
                self.reindex(&mut state, &key, old.as_deref(), None);
                changes.push((key, old, None));
            }
            state.revision = state.revision.max(revision);
            self.inner.seen.send_replace(state.revision);
        }
        for (key, old, new) in changes {
            self.notify(&key, old.as_deref(), new.as_deref());
        }
    }

    fn reindex(&self, state: &mut State<K>, key: &str, old: Option<&K>, new: Option<&Arc<K>>) {
        for (name, f) in &self.inner.index_fns {
            let index = state.indexes.entry(name).or_default();
            if let Some(old) = old {
                for value in f(old) {
                    if let Some(keys) = index.get_mut(&value) {
                        keys.remove(key);
                        if keys.is_empty() {
                            index.remove(&value);
                        }
                    }
                }
            }
            if let Some(new) = new {
                for value in f(new) {
                    index
                        .entry(value)
                        .or_default()
                        .insert(key.to_string(), new.clone());
                }
            }
        }
    }

    fn notify(&self, key: &str, old: Option<&K>, new: Option<&K>) {
        let change = Change { key, old, new };
        let handlers = self
            .inner
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for handler in handlers.iter() {
            handler(&change);
        }
    }

    fn object_key(&self, store_key: &str) -> String {
        store_key
            .strip_prefix(&self.inner.prefix)
            .unwrap_or(store_key)
            .to_string()
    }

    fn decode(&self, kv: &KeyValue) -> Option<Arc<K>> {
        match serde_json::from_slice::<K>(&kv.value) {
            Ok(mut object) => {
                object.metadata_mut().resource_version = Some(kv.mod_revision.to_string());
                Some(Arc::new(object))
            }
            Err(e) => {
                tracing::warn!(key = %kv.key, error = %e, "informer cannot decode object; skipped");
                None
            }
        }
    }
}

impl<K: Object + Resource> Default for Informer<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
