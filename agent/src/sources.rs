//! The cluster's ConfigMaps and Secrets as the agent sees them: an in-memory mirror kept by
//! watches, read when a container's environment is built and when volumes are written.
//!
//! Parts: [`Sources`] (the mirror: lookups, readiness, a change feed), [`SourceRef`] and
//! [`SourceKind`] (what changed), and a per-kind mirror task that applies `kube::runtime`
//! watcher events. After a re-list (the watch was lost, e.g. while the API server was down)
//! the task compares the fresh list with the mirror and reports every object that changed
//! or vanished meanwhile, so no change is missed.

use crate::watched::drop_managed_fields;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// How many change notifications a slow receiver may fall behind before it sees
/// `RecvError::Lagged`: a few thousand covers a burst of edits (a `kubectl apply` of a whole
/// directory) while costing little memory; a lagged receiver should refresh everything.
pub const DEFAULT_CHANGES_CAPACITY: usize = 4096;

/// Pause before a watch stream that ended is started again (the watcher's own backoff
/// handles errors; an ended stream is unexpected and must not spin).
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// Which kind of object a [`SourceRef`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A `v1` ConfigMap.
    ConfigMap,
    /// A `v1` Secret.
    Secret,
}

/// A ConfigMap or Secret, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceRef {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

/// The cluster's ConfigMaps and Secrets, mirrored in memory by watches (all namespaces).
/// Cloning is cheap: clones share the mirror.
#[derive(Clone)]
pub struct Sources {
    config_maps: Arc<Mirror<ConfigMap>>,
    secrets: Arc<Mirror<Secret>>,
    changes: broadcast::Sender<SourceRef>,
}

impl Sources {
    /// Starts one watch per kind; they run until `shutdown` is cancelled, re-listing and
    /// re-watching after errors with the watcher's backoff (never giving up: the API server
    /// may be down for a while). Must be called inside a Tokio runtime.
    pub fn start(client: Client, shutdown: CancellationToken) -> Self {
        let sources = Self::empty();
        tokio::spawn(mirror(
            Api::<ConfigMap>::all(client.clone()),
            SourceKind::ConfigMap,
            sources.config_maps.clone(),
            sources.changes.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(mirror(
            Api::<Secret>::all(client),
            SourceKind::Secret,
            sources.secrets.clone(),
            sources.changes.clone(),
            shutdown,
        ));
        sources
    }

    /// A `Sources` filled by hand, with no watches (for tests of code that only reads it).
    /// It is ready at once.
    pub fn from_objects(config_maps: Vec<ConfigMap>, secrets: Vec<Secret>) -> Self {
        let sources = Self::empty();
        sources
            .config_maps
            .relist(config_maps.into_iter().map(keyed).collect());
        sources
            .secrets
            .relist(secrets.into_iter().map(keyed).collect());
        sources.config_maps.ready.send_replace(true);
        sources.secrets.ready.send_replace(true);
        sources
    }

    fn empty() -> Self {
        Self {
            config_maps: Arc::new(Mirror::new()),
            secrets: Arc::new(Mirror::new()),
            changes: broadcast::channel(DEFAULT_CHANGES_CAPACITY).0,
        }
    }

    /// Waits until both kinds have been listed once. Never returns if the API server is
    /// never reached: callers that must stop meanwhile should `select!` on their shutdown.
    pub async fn ready(&self) {
        // `wait_for` fails only when the sender is dropped; `self` holds both senders.
        let _ = self.config_maps.ready.subscribe().wait_for(|r| *r).await;
        let _ = self.secrets.ready.subscribe().wait_for(|r| *r).await;
    }

    /// The ConfigMap `namespace/name`, if the mirror has it.
    pub fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMap>> {
        self.config_maps.get(namespace, name)
    }

    /// The Secret `namespace/name`, if the mirror has it.
    pub fn secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>> {
        self.secrets.get(namespace, name)
    }

    /// Notifies on every change (applied or deleted) of a ConfigMap or Secret, after the
    /// mirror is updated. Objects found by the first listing are announced before
    /// [`ready`](Self::ready) resolves, so a receiver made after it sees only later
    /// changes; after a re-list, the objects that differ are announced. A receiver that falls more than [`DEFAULT_CHANGES_CAPACITY`] behind
    /// gets `Lagged` and should treat every source as changed.
    pub fn changes(&self) -> broadcast::Receiver<SourceRef> {
        self.changes.subscribe()
    }
}

/// A Secret's entries as bytes: `data`, overlaid with `stringData` (which a real API server
/// folds into `data` on write, but a store may hand back as written).
pub(crate) fn secret_entries(secret: &Secret) -> BTreeMap<&str, &[u8]> {
    let mut entries: BTreeMap<&str, &[u8]> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.0.as_slice()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        entries.insert(k.as_str(), v.as_bytes());
    }
    entries
}

/// `(namespace, name)`.
type Key = (String, String);

fn keyed<K: ResourceExt>(object: K) -> (Key, Arc<K>) {
    let key = (object.namespace().unwrap_or_default(), object.name_any());
    (key, Arc::new(object))
}

/// The mirrored objects of one kind, and whether they have been listed once.
struct Mirror<K> {
    objects: RwLock<HashMap<Key, Arc<K>>>,
    ready: watch::Sender<bool>,
}

impl<K> Mirror<K> {
    fn new() -> Self {
        Self {
            objects: RwLock::new(HashMap::new()),
            ready: watch::Sender::new(false),
        }
    }

    fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read()
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Swaps in a complete listing; returns the keys of the objects that changed, appeared
    /// or vanished.
    fn relist(&self, fresh: HashMap<Key, Arc<K>>) -> Vec<Key>
    where
        K: PartialEq,
    {
        let mut objects = self.write();
        let old = std::mem::replace(&mut *objects, fresh);
        let mut changed: Vec<Key> = objects
            .iter()
            .filter(|(key, object)| old.get(*key).is_none_or(|was| was != *object))
            .map(|(key, _)| key.clone())
            .collect();
        changed.extend(old.into_keys().filter(|key| !objects.contains_key(key)));
        changed
    }

    // The map is only ever replaced or edited in one step, so a panic elsewhere while the
    // lock was held cannot leave it half-written: a poisoned lock is safe to use.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<Key, Arc<K>>> {
        self.objects.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Key, Arc<K>>> {
        self.objects.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps `mirror` equal to the cluster's objects of one kind until `shutdown`.
async fn mirror<K>(
    api: Api<K>,
    kind: SourceKind,
    mirror: Arc<Mirror<K>>,
    changes: broadcast::Sender<SourceRef>,
    shutdown: CancellationToken,
) where
    K: Resource<DynamicType = ()> + Clone + PartialEq + DeserializeOwned + Debug,
    K: Send + Sync + 'static,
{
    let notify = |(namespace, name): Key| {
        // No receiver is not an error: nobody needs to hear about it.
        let _ = changes.send(SourceRef {
            kind,
            namespace,
            name,
        });
    };
    loop {
        let stream = watcher(api.clone(), watcher::Config::default())
            .modify(drop_managed_fields)
            .default_backoff();
        let mut stream = std::pin::pin!(stream);
        // Objects of a re-list in progress, swapped in whole at `InitDone`.
        let mut listing: Option<HashMap<Key, Arc<K>>> = None;
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = stream.next() => event,
            };
            match event {
                None => break,
                Some(Err(error)) => {
                    tracing::warn!(?kind, %error, "watch failed; retrying");
                }
                Some(Ok(watcher::Event::Apply(object))) => {
                    let (key, object) = keyed(object);
                    mirror.write().insert(key.clone(), object);
                    notify(key);
                }
                Some(Ok(watcher::Event::Delete(object))) => {
                    let (key, _) = keyed(object);
                    mirror.write().remove(&key);
                    notify(key);
                }
                Some(Ok(watcher::Event::Init)) => listing = Some(HashMap::new()),
                Some(Ok(watcher::Event::InitApply(object))) => {
                    let (key, object) = keyed(object);
                    listing.get_or_insert_default().insert(key, object);
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    let changed = mirror.relist(listing.take().unwrap_or_default());
                    changed.into_iter().for_each(notify);
                    // After the notifications: a receiver made once ready sees only later ones.
                    mirror.ready.send_replace(true);
                }
            }
        }
        tracing::warn!(?kind, "watch stream ended; starting again");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RESTART_DELAY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(namespace: &str, name: &str) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..ObjectMeta::default()
        }
    }

    #[tokio::test]
    async fn from_objects_is_ready_and_finds_by_namespace_and_name() {
        let cm = ConfigMap {
            metadata: meta("ns", "cm"),
            ..ConfigMap::default()
        };
        let secret = Secret {
            metadata: meta("ns", "s"),
            ..Secret::default()
        };
        let sources = Sources::from_objects(vec![cm], vec![secret]);
        tokio::time::timeout(Duration::from_secs(5), sources.ready())
            .await
            .expect("ready at once");
        assert!(sources.config_map("ns", "cm").is_some());
        assert!(sources.config_map("other", "cm").is_none());
        assert!(sources.secret("ns", "cm").is_none());
        assert!(sources.secret("ns", "s").is_some());
    }

    #[test]
    fn secret_entries_overlay_string_data_on_data() {
        let secret = Secret {
            data: Some(BTreeMap::from([
                ("a".into(), ByteString(b"1".to_vec())),
                ("b".into(), ByteString(vec![0xff])),
            ])),
            string_data: Some(BTreeMap::from([("a".into(), "2".into())])),
            ..Secret::default()
        };
        let entries = secret_entries(&secret);
        assert_eq!(entries.get("a"), Some(&&b"2"[..]));
        assert_eq!(entries.get("b"), Some(&&[0xff][..]));
    }

    #[test]
    fn relist_reports_changed_new_and_vanished_objects_only() {
        let cm = |name: &str, value: &str| {
            keyed(ConfigMap {
                metadata: meta("ns", name),
                data: Some(BTreeMap::from([("k".into(), value.into())])),
                ..ConfigMap::default()
            })
        };
        let mirror = Mirror::new();
        let first = mirror.relist([cm("same", "1"), cm("edited", "1"), cm("gone", "1")].into());
        assert_eq!(first.len(), 3, "a first listing reports everything");
        let mut changed =
            mirror.relist([cm("same", "1"), cm("edited", "2"), cm("new", "1")].into());
        changed.sort();
        let key = |name: &str| ("ns".to_owned(), name.to_owned());
        assert_eq!(changed, [key("edited"), key("gone"), key("new")]);
        assert!(mirror.get("ns", "gone").is_none());
        assert!(mirror.get("ns", "new").is_some());
    }
}
