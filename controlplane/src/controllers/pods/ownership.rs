//! Controller references: which object controls which (`ownerReferences` with
//! `controller: true`), and claiming — a controller owns the objects its selector selects,
//! adopts matching orphans and releases owned objects that no longer match, as client-go's
//! `ControllerRefManager` does. Works for any kind: ReplicaSets claim pods, Deployments
//! claim ReplicaSets.

use super::{is_deleting, labels};
use crate::apiserver::error::ApiResult;
use crate::machinery::client::Client;
use crate::machinery::informer::Object;
use k8s_openapi::Resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Serialize;
use skiff_model::selector::LabelSelector;

/// The controller reference (`controller: true`) among an object's owners.
pub(crate) fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// Whether `meta` is controlled by the object with `uid`.
pub(crate) fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// A controller reference to `owner`, of kind `K`, as owned objects carry it: with
/// `blockOwnerDeletion`, so that a foreground deletion of the owner waits for them.
pub(crate) fn controller_ref<K: Resource>(owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: K::API_VERSION.to_string(),
        kind: K::KIND.to_string(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What a controller does with an object in its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// It is the controller's and matches its selector.
    Owned,
    /// An orphan that matches: the controller adopts it.
    Adopt,
    /// The controller's, but no longer matching: the controller lets it go.
    Release,
    /// Someone else's, or nothing to do with this controller.
    Ignore,
}

/// What `owner`, selecting by `selector`, does with `object` (Kubernetes'
/// `ClaimObject`): owners being deleted neither adopt nor release, and objects being
/// deleted are not adopted.
pub(crate) fn claim(owner: &ObjectMeta, selector: &LabelSelector, object: &ObjectMeta) -> Claim {
    let owner_uid = owner.uid.as_deref().unwrap_or_default();
    let matches = selector.matches(labels(object));
    match controller_of(object) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if matches => Claim::Owned,
        Some(_) if is_deleting(owner) => Claim::Ignore,
        Some(_) => Claim::Release,
        None if !matches || is_deleting(owner) || is_deleting(object) => Claim::Ignore,
        None if owner.namespace != object.namespace => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// Makes `reference`'s owner the controller of `object` — unless, by the latest version,
/// it was replaced, has a controller, is being deleted or no longer matches `selector`.
/// Returns the adopted object, or `None` if it could not be adopted.
pub(crate) async fn adopt<K>(
    client: &Client,
    object: &ObjectMeta,
    reference: &OwnerReference,
    selector: &LabelSelector,
) -> ApiResult<Option<K>>
where
    K: Object + Resource + Serialize,
{
    let uid = object.uid.clone();
    let result = client
        .update::<K>(
            object.namespace.as_deref(),
            object.name.as_deref().unwrap_or_default(),
            |latest| {
                let meta = latest.metadata_mut();
                if meta.uid != uid
                    || controller_of(meta).is_some()
                    || is_deleting(meta)
                    || !selector.matches(labels(meta))
                {
                    return false;
                }
                meta.owner_references
                    .get_or_insert_with(Vec::new)
                    .push(reference.clone());
                true
            },
        )
        .await;
    match result {
        Ok(adopted) if is_controlled_by(adopted.metadata(), &reference.uid) => Ok(Some(adopted)),
        Ok(_) => Ok(None),
        Err(e) if e.reason == "NotFound" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes the owner with `owner_uid` from `object`'s owners (if it is still the same
/// object). An object already gone is released.
pub(crate) async fn release<K>(
    client: &Client,
    object: &ObjectMeta,
    owner_uid: &str,
) -> ApiResult<()>
where
    K: Object + Resource + Serialize,
{
    let uid = object.uid.clone();
    let result = client
        .update::<K>(
            object.namespace.as_deref(),
            object.name.as_deref().unwrap_or_default(),
            |latest| {
                let meta = latest.metadata_mut();
                let Some(owners) = meta.owner_references.as_mut().filter(|_| meta.uid == uid)
                else {
                    return false;
                };
                let before = owners.len();
                owners.retain(|r| r.uid != owner_uid);
                owners.len() != before
            },
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "NotFound" => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn meta(uid: &str, app: &str, controller: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(format!("o-{uid}")),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            labels: Some([("app".to_string(), app.to_string())].into()),
            owner_references: controller.map(|c| {
                vec![OwnerReference {
                    uid: c.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn claims_follow_controller_ref_and_selector() {
        let owner = meta("rs", "web", None);
        let web = LabelSelector::parse("app=web").expect("selector");
        assert_eq!(
            claim(&owner, &web, &meta("p", "web", Some("rs"))),
            Claim::Owned
        );
        assert_eq!(
            claim(&owner, &web, &meta("p", "db", Some("rs"))),
            Claim::Release
        );
        assert_eq!(claim(&owner, &web, &meta("p", "web", None)), Claim::Adopt);
        assert_eq!(claim(&owner, &web, &meta("p", "db", None)), Claim::Ignore);
        assert_eq!(
            claim(&owner, &web, &meta("p", "web", Some("other"))),
            Claim::Ignore
        );

        let mut deleting_orphan = meta("p", "web", None);
        deleting_orphan.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(claim(&owner, &web, &deleting_orphan), Claim::Ignore);

        let mut deleting_owner = owner.clone();
        deleting_owner.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(
            claim(&deleting_owner, &web, &meta("p", "db", Some("rs"))),
            Claim::Ignore
        );
        assert_eq!(
            claim(&deleting_owner, &web, &meta("p", "web", None)),
            Claim::Ignore
        );

        let mut elsewhere = meta("p", "web", None);
        elsewhere.namespace = Some("other".into());
        assert_eq!(claim(&owner, &web, &elsewhere), Claim::Ignore);
    }

    #[test]
    fn controller_refs_name_the_owner_and_block_its_deletion() {
        let r = controller_ref::<ReplicaSet>(&meta("rs-uid", "web", None));
        assert_eq!(r.api_version, "apps/v1");
        assert_eq!(r.kind, "ReplicaSet");
        assert_eq!(r.name, "o-rs-uid");
        assert_eq!(r.uid, "rs-uid");
        assert_eq!(r.controller, Some(true));
        assert_eq!(r.block_owner_deletion, Some(true));
        let owned = meta("p", "web", Some("rs-uid"));
        assert!(is_controlled_by(&owned, "rs-uid"));
        assert!(!is_controlled_by(&owned, "other"));
    }
}
