//! Reads and writes of objects of any kind, as JSON through the client's dynamic
//! operations: the live read that confirms an owner is really gone (an informer may not have
//! seen a new owner yet), removing owner references and finalizers, and deleting with a
//! UID precondition.

use super::item::ObjectRef;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::machinery::client::{Client, DeleteParams, Propagation};
use serde_json::Value;
use skiff_model::meta;

/// The object as stored now, if it exists with its UID.
pub(super) async fn read(client: &Client, object: &ObjectRef) -> ApiResult<Option<Value>> {
    let namespace = object.namespace.as_deref();
    match client
        .get_dynamic(object.kind, namespace, &object.name)
        .await
    {
        Ok(stored) if meta::meta_str(&stored, "uid") == Some(object.uid.as_str()) => {
            Ok(Some(stored))
        }
        Ok(_) => Ok(None),
        Err(e) if e.reason == "NotFound" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes the object's metadata with `change` (which says whether it changed anything),
/// unless it is gone or is another object of the same name by now.
pub(super) async fn update_metadata(
    client: &Client,
    object: &ObjectRef,
    mut change: impl FnMut(&mut serde_json::Map<String, Value>) -> bool,
) -> ApiResult<()> {
    let Some(mut current) = read(client, object).await? else {
        return Ok(());
    };
    if !change(metadata(&mut current)?) {
        return Ok(());
    }
    let namespace = object.namespace.as_deref();
    let result = client
        .update_dynamic(object.kind, namespace, &object.name, |current| {
            if meta::meta_str(current, "uid") != Some(object.uid.as_str()) {
                return Err(ApiError::not_found(&object.kind.qualified(), &object.name));
            }
            let mut next = current.clone();
            change(metadata(&mut next)?);
            Ok(next)
        })
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "NotFound" => Ok(()),
        Err(e) => Err(e),
    }
}
fn metadata(object: &mut Value) -> ApiResult<&mut serde_json::Map<String, Value>> {
    meta::metadata(object).map_err(ApiError::from)
}

/// Removes `finalizer` from the object's `metadata.finalizers` (the object goes if it was
/// the last one and it is being deleted).
pub(super) async fn remove_finalizer(
    client: &Client,
    object: &ObjectRef,
    finalizer: &str,
) -> ApiResult<()> {
    update_metadata(client, object, |meta| {
        let Some(list) = meta.get_mut("finalizers").and_then(Value::as_array_mut) else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f != finalizer);
        let changed = list.len() != before;
        if list.is_empty() {
            meta.remove("finalizers");
        }
        changed
    })
    .await
}

/// Removes the owner references to any of `owners` (UIDs) from the object.
pub(super) async fn remove_owner_references(
    client: &Client,
    object: &ObjectRef,
    owners: &[String],
) -> ApiResult<()> {
    update_metadata(client, object, |meta| {
        let Some(list) = meta
            .get_mut("ownerReferences")
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let before = list.len();
        list.retain(|r| {
            r.get("uid")
                .and_then(Value::as_str)
                .is_none_or(|uid| !owners.iter().any(|o| o == uid))
        });
        let changed = list.len() != before;
        if list.is_empty() {
            meta.remove("ownerReferences");
        }
        changed
    })
    .await
}

/// Deletes the object (only if it still has its UID) with `propagation`; an object
/// already gone is not an error. (A conflict is: the caller reads the object again.)
pub(super) async fn delete(
    client: &Client,
    object: &ObjectRef,
    propagation: Propagation,
) -> ApiResult<()> {
    let params = DeleteParams {
        uid: Some(object.uid.clone()),
        propagation: Some(propagation),
        ..DeleteParams::default()
    };
    let namespace = object.namespace.as_deref();
    match client
        .delete_dynamic(object.kind, namespace, &object.name, &params)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "NotFound" => Ok(()),
        Err(e) => Err(e),
    }
}
