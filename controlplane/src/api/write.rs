//! Writes: create, update (whole object or its `status`), delete (preconditions,
//! graceful deletion of bound pods, finalizers) and deletecollection.

use super::admit::admit;
use super::apply;
use super::error::{ApiError, ApiResult};
use super::path::ResourcePath;
use super::query::Query;
use super::read;
use super::state::{ApiState, Stored};
use crate::objects::meta;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// A written object and the warnings to send with it.
pub struct Written {
    /// HTTP status: 201 for creates, 200 otherwise.
    pub status: StatusCode,
    /// The object as stored (or as it would be, for a dry run).
    pub object: Value,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

/// Checks that the namespace of a namespaced write exists.
async fn require_namespace(state: &ApiState, path: &ResourcePath) -> ApiResult<()> {
    let Some(ns) = path.namespace.as_deref().filter(|_| path.kind.namespaced) else {
        return Ok(());
    };
    let namespaces = crate::kinds::find("", "v1", "namespaces").expect("namespaces are served");
    match state.read(namespaces, &namespaces.key(None, ns), ns).await {
        Ok(stored)
            if stored
                .object
                .pointer("/metadata/deletionTimestamp")
                .is_some() =>
        {
            Err(ApiError::forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            )))
        }
        Ok(_) => Ok(()),
        Err(_) => Err(ApiError::not_found("namespaces", ns)),
    }
}

/// The field manager of a write: the client's `fieldManager`, else a generic one.
fn manager(query: &Query) -> &str {
    query
        .field_manager
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or(DEFAULT_MANAGER)
}

/// Field manager of writes that name none.
const DEFAULT_MANAGER: &str = "skiff-api";

/// `POST` to a collection; the writer becomes the manager of every field it set.
pub async fn create(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    object: Value,
) -> ApiResult<Written> {
    create_with(state, path, query, object, true).await
}

/// Creates an object; `tracked` records the writer's fields in `managedFields` (false
/// for server-side apply, which has recorded its own).
pub async fn create_with(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    mut object: Value,
    tracked: bool,
) -> ApiResult<Written> {
    if path.kind.namespaced && path.namespace.is_none() {
        return Err(ApiError::bad_request(format!(
            "{} is namespaced: create it under /namespaces/{{namespace}}/{}",
            path.kind.qualified(),
            path.kind.plural
        )));
    }
    meta::on_create(&mut object, path.namespace.as_deref())?;
    let (object, warnings) = admit(path.kind, object, query.field_validation)?;
    let object = if tracked {
        apply::record_update(None, &object, manager(query), &meta::now())
    } else {
        object
    };
    require_namespace(state, path).await?;
    let name = meta::meta_str(&object, "name")
        .unwrap_or_default()
        .to_string();
    let key = path.kind.key(path.namespace.as_deref(), &name);
    let object = if query.dry_run {
        object
    } else {
        state.create(path.kind, &key, &object).await?.object
    };
    Ok(Written {
        status: StatusCode::CREATED,
        object,
        warnings,
    })
}

/// Applies a change computed from the current object and stores it, retrying when the
/// object changed underneath (as the API server does for patches). `change` gets the
/// current object and returns the new one; `precondition` is the client's
/// `resourceVersion`, if it gave one (then a mismatch is a 409, not a retry).
pub async fn modify(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    change: impl FnMut(&Value) -> ApiResult<Value>,
) -> ApiResult<Written> {
    modify_with(state, path, query, change, true).await
}

/// [`modify`], with `tracked` saying whether to record the writer's changed fields in
/// `managedFields` (false for server-side apply, which records its own).
pub async fn modify_with(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    mut change: impl FnMut(&Value) -> ApiResult<Value>,
    tracked: bool,
) -> ApiResult<Written> {
    let name = path.require_name()?.to_string();
    let key = path.key()?;
    for _ in 0..MAX_RETRIES {
        let current = state.read(path.kind, &key, &name).await?;
        let mut next = change(&current.object)?;
        if meta::meta_str(&next, "name").is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::meta_str(&next, "name").unwrap_or_default()
            )));
        }
        if let Some(rv) = meta::meta_str(&next, "resourceVersion")
            && rv != current.revision.to_string()
        {
            return Err(ApiError::conflict(
                &path.kind.qualified(),
                &name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        keep_other_half(path, &current.object, &mut next);
        meta::on_update(&mut next, &current.object)?;
        let (next, warnings) = admit(path.kind, next, query.field_validation)?;
        let next = if tracked {
            apply::record_update(Some(&current.object), &next, manager(query), &meta::now())
        } else {
            next
        };
        if query.dry_run {
            return Ok(Written {
                status: StatusCode::OK,
                object: next,
                warnings,
            });
        }
        match state.update(path.kind, &key, &next, current.revision).await {
            Ok(stored) => {
                let stored = finish_deletion_if_done(state, path, &key, stored).await?;
                return Ok(Written {
                    status: StatusCode::OK,
                    object: stored.object,
                    warnings,
                });
            }
            Err(e) if e.reason == "Conflict" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(
        &path.kind.qualified(),
        &name,
        "the object kept changing; please try again",
    ))
}

/// Retries of a read-modify-write that lost a race to another writer.
const MAX_RETRIES: usize = 8;

/// A write to the main resource keeps the stored `status`; a write to `/status` keeps
/// everything but `status` (for kinds that have the status subresource).
fn keep_other_half(path: &ResourcePath, current: &Value, next: &mut Value) {
    if !path.kind.has_subresource("status") {
        return;
    }
    match path.subresource.as_deref() {
        Some("status") => {
            let status = next.get("status").cloned();
            let mut merged = current.clone();
            match status {
                Some(status) => merged["status"] = status,
                None => {
                    if let Some(map) = merged.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            if let Some(rv) = next.pointer("/metadata/resourceVersion").cloned() {
                merged["metadata"]["resourceVersion"] = rv;
            }
            *next = merged;
        }
        _ => match current.get("status") {
            Some(status) => next["status"] = status.clone(),
            None => {
                if let Some(map) = next.as_object_mut() {
                    map.remove("status");
                }
            }
        },
    }
}

/// An object being deleted whose last finalizer was just removed is deleted for real.
async fn finish_deletion_if_done(
    state: &ApiState,
    path: &ResourcePath,
    key: &str,
    stored: Stored,
) -> ApiResult<Stored> {
    let deleting = stored
        .object
        .pointer("/metadata/deletionTimestamp")
        .is_some();
    let finalizers = stored
        .object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let graceful = stored
        .object
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g > 0);
    if deleting && !finalizers && !graceful {
        let name = path.require_name()?;
        return state
            .remove(path.kind, key, name, Some(stored.revision))
            .await;
    }
    Ok(stored)
}

/// The `DeleteOptions` a client may send.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// Reads options from a body (may be empty) and the query (`gracePeriodSeconds`).
    pub fn parse(body: Option<&Value>, grace_query: Option<&str>) -> ApiResult<Self> {
        let mut options = Self::default();
        if let Some(body) = body {
            options.grace_period_seconds = body.get("gracePeriodSeconds").and_then(Value::as_i64);
            options.uid = body
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from);
            options.resource_version = body
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
            if let Some(policy) = body.get("propagationPolicy").and_then(Value::as_str)
                && !["Orphan", "Background", "Foreground"].contains(&policy)
            {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy must be Orphan, Background or Foreground, got {policy:?}"
                )));
            }
        }
        if let Some(grace) = grace_query {
            options.grace_period_seconds = Some(grace.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "gracePeriodSeconds must be an integer, got {grace:?}"
                ))
            })?);
        }
        Ok(options)
    }
}

/// `DELETE` of one object. Returns the object as deleted, or as marked for deletion when
/// deletion must wait (finalizers, or a pod on a node within its grace period).
pub async fn delete(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    options: &DeleteOptions,
) -> ApiResult<Value> {
    let name = path.require_name()?.to_string();
    let key = path.key()?;
    let current = state.read(path.kind, &key, &name).await?;
    if let Some(uid) = &options.uid
        && meta::meta_str(&current.object, "uid") != Some(uid.as_str())
    {
        return Err(ApiError::conflict(
            &path.kind.qualified(),
            &name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::meta_str(&current.object, "uid").unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &options.resource_version
        && *rv != current.revision.to_string()
    {
        return Err(ApiError::conflict(
            &path.kind.qualified(),
            &name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current.revision
            ),
        ));
    }
    if query.dry_run {
        return Ok(current.object);
    }
    if path.kind.kind == "Namespace" {
        delete_namespace_contents(state, &name).await?;
    }
    let has_finalizers = current
        .object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    let grace = graceful_period(path, &current.object, options);
    if has_finalizers || grace > 0 {
        if current
            .object
            .pointer("/metadata/deletionTimestamp")
            .is_some()
        {
            return Ok(current.object);
        }
        let mut marked = current.object.clone();
        marked["metadata"]["deletionTimestamp"] = json!(meta::now());
        if grace > 0 {
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        }
        let stored = state
            .update(path.kind, &key, &marked, current.revision)
            .await?;
        return Ok(stored.object);
    }
    Ok(state
        .remove(path.kind, &key, &name, Some(current.revision))
        .await?
        .object)
}

/// The grace period of a deletion: only pods bound to a node wait for it (the node's agent
/// confirms with a deletion of grace 0); everything else goes at once.
fn graceful_period(path: &ResourcePath, object: &Value, options: &DeleteOptions) -> i64 {
    if path.kind.kind != "Pod" || object.pointer("/spec/nodeName").is_none() {
        return 0;
    }
    if object
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .is_some_and(|p| p == "Succeeded" || p == "Failed")
    {
        return options.grace_period_seconds.unwrap_or(0).max(0);
    }
    options
        .grace_period_seconds
        .or_else(|| {
            object
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0)
}

/// Deletes everything in a namespace (before the namespace itself).
async fn delete_namespace_contents(state: &ApiState, namespace: &str) -> ApiResult<()> {
    for kind in crate::kinds::KINDS.iter().filter(|k| k.namespaced) {
        let prefix = kind.key_prefix(Some(namespace));
        let list = state
            .store
            .list(&prefix)
            .await
            .map_err(super::state::store_error)?;
        for kv in list.items {
            let name = kv.key.rsplit('/').next().unwrap_or_default().to_string();
            match state.remove(kind, &kv.key, &name, None).await {
                Ok(_) => {}
                Err(e) if e.reason == "NotFound" => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// `DELETE` of a collection: deletes every matching object; returns them as a list.
pub async fn delete_collection(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    options: &DeleteOptions,
) -> ApiResult<Value> {
    let mut everything = query.clone();
    everything.limit = 0;
    everything.continue_token = None;
    let page = read::page(state, path, &everything).await?;
    let mut deleted = Vec::new();
    for object in page.items {
        let name = meta::meta_str(&object, "name")
            .unwrap_or_default()
            .to_string();
        let namespace = meta::meta_str(&object, "namespace").map(String::from);
        let one = ResourcePath {
            kind: path.kind,
            namespace,
            name: Some(name),
            subresource: None,
        };
        match delete(state, &one, query, options).await {
            Ok(object) => deleted.push(object),
            Err(e) if e.reason == "NotFound" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json!({
        "kind": format!("{}List", path.kind.kind),
        "apiVersion": path.kind.api_version(),
        "metadata": {"resourceVersion": page.revision.to_string()},
        "items": deleted,
    }))
}
