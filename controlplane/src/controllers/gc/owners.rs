//! Whether a dependent's owners are still there, in the garbage collector's three
//! [`Verdict`]s. The informers answer first; an owner they do not show is read live before
//! it is called gone, since an informer may not have seen a newly created owner yet
//! (Kubernetes' GC verifies such "virtual" owners the same way).

use super::item::ObjectRef;
use super::object;
use super::sources::{Meta, Sources};
use crate::apiserver::error::ApiResult;
use crate::machinery::client::{Client, FOREGROUND_FINALIZER};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;

/// What became of one owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It exists and is not deleting its dependents: the dependent stays.
    Solid,
    /// It is gone (or is another object of the same name now).
    Dangling,
    /// It is being deleted in the foreground, waiting for its dependents to go.
    Waiting,
}

/// The verdict on `owner` from the informers alone; `None` if they do not show it.
pub(super) fn from_informers(sources: &Sources, owner: &ObjectRef) -> Option<Verdict> {
    let source = sources.of(owner.kind)?;
    let found = source.get(&owner.key())?;
    let meta = found.meta();
    if meta.uid.as_deref() != Some(owner.uid.as_str()) {
        return None;
    }
    Some(verdict_of(meta))
}

fn verdict_of(meta: &ObjectMeta) -> Verdict {
    let waiting = meta.deletion_timestamp.is_some()
        && meta
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == FOREGROUND_FINALIZER);
    if waiting {
        Verdict::Waiting
    } else {
        Verdict::Solid
    }
}

/// The verdict on the owner `reference` of a dependent in `namespace`: the informers'
/// if they show it, else a live read's.
pub(super) async fn verify(
    client: &Client,
    sources: &Sources,
    reference: &OwnerReference,
    namespace: Option<&str>,
) -> ApiResult<Verdict> {
    let Some(owner) = ObjectRef::owner(reference, namespace) else {
        // A kind this server does not serve cannot be looked up: never assume it gone.
        return Ok(Verdict::Solid);
    };
    if owner.kind.namespaced && namespace.is_none() {
        // A cluster-scoped object cannot be owned by a namespaced one; leave it be.
        return Ok(Verdict::Solid);
    }
    if let Some(verdict) = from_informers(sources, &owner) {
        return Ok(verdict);
    }
    let Some(live) = object::read(client, &owner).await? else {
        return Ok(Verdict::Dangling);
    };
    let meta: ObjectMeta = live
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    Ok(verdict_of(&meta))
}

/// The owner references of a JSON object.
pub(super) fn references(object: &Value) -> Vec<OwnerReference> {
    object
        .pointer("/metadata/ownerReferences")
        .cloned()
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default()
}

/// Whether every owner of `dependent` is solid in the informers (the common case, which
/// needs no live reads).
pub(super) fn all_solid(sources: &Sources, dependent: &dyn Meta) -> bool {
    let meta = dependent.meta();
    meta.owner_references.iter().flatten().all(|r| {
        ObjectRef::owner(r, meta.namespace.as_deref())
            .and_then(|owner| from_informers(sources, &owner))
            == Some(Verdict::Solid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ApiState;
    use crate::machinery::informers::Informers;
    use crate::store::{Config, MemoryStore};
    use k8s_openapi::api::core::v1::ConfigMap;
    use std::sync::Arc;

    #[tokio::test]
    async fn an_owner_the_informers_miss_is_read_live() {
        let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
        crate::bootstrap::ensure_namespaces(&state)
            .await
            .expect("namespaces");
        let client = Client::new(state.clone(), "test");
        let owner = client
            .create(&ConfigMap {
                metadata: ObjectMeta {
                    name: Some("owner".into()),
                    namespace: Some("default".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            })
            .await
            .expect("owner");
        // Informers that never started: they show nothing.
        let sources = Sources::new(&Informers::new());
        let reference = OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().expect("uid"),
            ..OwnerReference::default()
        };
        let verdict = verify(&client, &sources, &reference, Some("default")).await;
        assert_eq!(verdict.expect("read"), Verdict::Solid);
        let replaced = OwnerReference {
            uid: "another-uid".into(),
            ..reference.clone()
        };
        let verdict = verify(&client, &sources, &replaced, Some("default")).await;
        assert_eq!(verdict.expect("read"), Verdict::Dangling);
        let unknown = OwnerReference {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            ..reference
        };
        let verdict = verify(&client, &sources, &unknown, Some("default")).await;
        assert_eq!(verdict.expect("read"), Verdict::Solid);
    }
}
