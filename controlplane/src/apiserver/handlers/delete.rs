//! Deletes: one object (preconditions, graceful deletion of bound pods, finalizers,
//! `propagationPolicy`, namespaces that wait for their contents) and deletecollection;
//! and finishing the deletion of an object whose last finalizer an update removed.

use crate::apiserver::conversion;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::read;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::{ApiState, Stored};
use serde_json::{Value, json};
use skiff_model::meta;

/// An object being deleted whose last finalizer was just removed is deleted for real.
pub(crate) async fn finish_deletion_if_done(
    state: &ApiState,
    path: &ResourcePath,
    key: &str,
    stored: Stored,
) -> ApiResult<Stored> {
    let deleting = stored
        .object
        .pointer("/metadata/deletionTimestamp")
        .is_some();
    let finalizers = has_finalizers(path.kind, &stored.object);
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

/// Whether anything still holds the object's deletion: `metadata.finalizers`, or for a
/// namespace `spec.finalizers` (the namespace controller's `kubernetes`, removed once the
/// namespace is empty).
fn has_finalizers(kind: &skiff_model::kinds::ResourceKind, object: &Value) -> bool {
    let non_empty = |pointer| {
        object
            .pointer(pointer)
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
    };
    non_empty("/metadata/finalizers") || (kind.kind == "Namespace" && non_empty("/spec/finalizers"))
}

/// The finalizer with which the garbage collector orphans an object's dependents before
/// the object goes (`propagationPolicy: Orphan`).
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer with which the garbage collector deletes an object's dependents before
/// the object goes (`propagationPolicy: Foreground`).
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// The finalizer a deletion adds for the garbage collector, if any: the requested
/// `propagationPolicy`, else the kind's default — background for every kind but
/// `batch/v1` Jobs, which orphan their pods (Kubernetes keeps that for compatibility;
/// kubectl always asks for background).
fn propagation_finalizer(
    kind: &skiff_model::kinds::ResourceKind,
    options: &DeleteOptions,
) -> Option<&'static str> {
    let default = if kind.kind == "Job" && kind.group == "batch" && kind.version == "v1" {
        "Orphan"
    } else {
        "Background"
    };
    match options.propagation.as_deref().unwrap_or(default) {
        "Orphan" => Some(ORPHAN_FINALIZER),
        "Foreground" => Some(FOREGROUND_FINALIZER),
        _ => None,
    }
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
    /// `propagationPolicy`: `Orphan`, `Background` or `Foreground` (`None`: the kind's
    /// default, background).
    pub propagation: Option<String>,
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
            if let Some(policy) = body.get("propagationPolicy").and_then(Value::as_str) {
                if !["Orphan", "Background", "Foreground"].contains(&policy) {
                    return Err(ApiError::bad_request(format!(
                        "propagationPolicy must be Orphan, Background or Foreground, got {policy:?}"
                    )));
                }
                options.propagation = Some(policy.to_string());
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
/// deletion must wait (finalizers, or a pod on a node within its grace period), in the
/// version the client addressed.
pub async fn delete(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    options: &DeleteOptions,
) -> ApiResult<Value> {
    let object = delete_stored(state, path, query, options).await?;
    Ok(conversion::from_storage(path.kind, object))
}

/// [`delete`], answering with the object as stored.
async fn delete_stored(
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
    if path.kind.kind == "Namespace" && skiff_model::namespaces::is_system(&name) {
        return Err(ApiError::forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    if query.dry_run {
        return Ok(current.object);
    }
    let propagation = propagation_finalizer(path.kind, options);
    let grace = graceful_period(path, &current.object, options);
    if has_finalizers(path.kind, &current.object) || propagation.is_some() || grace > 0 {
        if current
            .object
            .pointer("/metadata/deletionTimestamp")
            .is_some()
        {
            return shorten_grace(state, path, &key, current, grace).await;
        }
        let mut marked = current.object.clone();
        marked["metadata"]["deletionTimestamp"] = json!(skiff_model::time::now_rfc3339());
        if grace > 0 {
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        }
        if let Some(finalizer) = propagation {
            add_finalizer(&mut marked, finalizer);
        }
        if path.kind.kind == "Namespace" {
            // The namespace controller empties it, then removes its `kubernetes` finalizer.
            marked["status"]["phase"] = json!("Terminating");
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

/// A second deletion of an object already being deleted may shorten its grace period (the
/// node's agent confirms a pod's end with grace 0); once nothing holds it any more, the
/// object goes.
async fn shorten_grace(
    state: &ApiState,
    path: &ResourcePath,
    key: &str,
    current: Stored,
    grace: i64,
) -> ApiResult<Value> {
    let shorter = current
        .object
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|stored| grace < stored);
    if !shorter {
        return Ok(current.object);
    }
    let mut shortened = current.object.clone();
    shortened["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    let stored = state
        .update(path.kind, key, &shortened, current.revision)
        .await?;
    Ok(finish_deletion_if_done(state, path, key, stored)
        .await?
        .object)
}

/// Adds `finalizer` to `metadata.finalizers` unless it is there.
fn add_finalizer(object: &mut Value, finalizer: &str) {
    let finalizers = &mut object["metadata"]["finalizers"];
    if !finalizers.is_array() {
        *finalizers = json!([]);
    }
    if let Some(list) = finalizers.as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
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
