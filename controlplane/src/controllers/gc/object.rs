//! Reads and writes of objects of any kind, as JSON through the API's own read and write
//! paths: the live read that confirms an owner is really gone (an informer may not have
//! seen a new owner yet), removing owner references and finalizers, and deleting with a
//! UID precondition.

use super::item::ObjectRef;
use crate::apiserver::ApiState;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::write::{self, DeleteOptions};
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::objects::meta;
use serde_json::Value;

/// The field manager of the collector's writes.
const MANAGER: &str = "garbage-collector";

fn path(object: &ObjectRef) -> ResourcePath {
    ResourcePath {
        kind: object.kind,
        namespace: object.namespace.clone(),
        name: Some(object.name.clone()),
        subresource: None,
    }
}

fn query() -> Query {
    Query {
        field_manager: Some(MANAGER.to_string()),
        ..Query::default()
    }
}

/// The object as stored now, if it exists with its UID.
pub(super) async fn read(state: &ApiState, object: &ObjectRef) -> ApiResult<Option<Value>> {
    let path = path(object);
    match state.read(object.kind, &path.key()?, &object.name).await {
        Ok(stored) if meta::meta_str(&stored.object, "uid") == Some(object.uid.as_str()) => {
            Ok(Some(stored.object))
        }
        Ok(_) => Ok(None),
        Err(e) if e.reason == "NotFound" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes the object's metadata with `change` (which says whether it changed anything),
/// unless it is gone or is another object of the same name by now.
pub(super) async fn update_metadata(
    state: &ApiState,
    object: &ObjectRef,
    mut change: impl FnMut(&mut serde_json::Map<String, Value>) -> bool,
) -> ApiResult<()> {
    let Some(mut current) = read(state, object).await? else {
        return Ok(());
    };
    if !change(metadata(&mut current)?) {
        return Ok(());
    }
    let result = write::modify(state, &path(object), &query(), |current| {
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
    state: &ApiState,
    object: &ObjectRef,
    finalizer: &str,
) -> ApiResult<()> {
    update_metadata(state, object, |meta| {
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
    state: &ApiState,
    object: &ObjectRef,
    owners: &[String],
) -> ApiResult<()> {
    update_metadata(state, object, |meta| {
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
    state: &ApiState,
    object: &ObjectRef,
    propagation: &'static str,
) -> ApiResult<()> {
    let options = DeleteOptions {
        uid: Some(object.uid.clone()),
        propagation: Some(propagation.to_string()),
        ..DeleteOptions::default()
    };
    match write::delete(state, &path(object), &query(), &options).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "NotFound" => Ok(()),
        Err(e) => Err(e),
    }
}
