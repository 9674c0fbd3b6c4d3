//! Writes: create and update (whole object or its `status`); deletes are in `delete`.
//! Services get their cluster IP and nodePorts here
//! ([`allocate`](crate::apiserver::admission::allocate)), and keep them across updates
//! that leave them out.

use crate::apiserver::admission::allocate::allocate;
use crate::apiserver::admission::allocate::service;
use crate::apiserver::admission::{self, admit, escalation};
use crate::apiserver::apply;
use crate::apiserver::conversion;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::delete::finish_deletion_if_done;
use crate::apiserver::lifecycle;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::ApiState;
use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use skiff_model::meta;

/// A written object and the warnings to send with it.
pub struct Written {
    /// HTTP status: 201 for creates, 200 otherwise.
    pub status: StatusCode,
    /// The object as stored (or as it would be, for a dry run).
    pub object: Value,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

/// The object with its status code, and each warning as a `Warning: 299` header.
impl IntoResponse for Written {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.object)).into_response();
        for warning in self.warnings {
            if let Ok(value) =
                HeaderValue::from_str(&format!("299 - \"{}\"", warning.replace('"', "'")))
            {
                response.headers_mut().append("Warning", value);
            }
        }
        response
    }
}

/// Checks that the namespace of a namespaced write exists.
async fn require_namespace(state: &ApiState, path: &ResourcePath) -> ApiResult<()> {
    let Some(ns) = path.namespace.as_deref().filter(|_| path.kind.namespaced) else {
        return Ok(());
    };
    let namespaces =
        skiff_model::kinds::find("", "v1", "namespaces").expect("namespaces are served");
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
    let prefix = lifecycle::name_prefix(&object);
    lifecycle::on_create(&mut object, path.namespace.as_deref())?;
    let (object, warnings) = admit(path.kind, object, query.field_validation)?;
    escalation::check(
        state,
        query.user.as_deref(),
        path.kind,
        path.namespace.as_deref(),
        None,
        &object,
    )?;
    let mut object = if tracked {
        apply::record_update(
            None,
            &object,
            manager(query),
            &skiff_model::time::now_rfc3339(),
        )
    } else {
        object
    };
    require_namespace(state, path).await?;
    if path.kind.kind == "Pod"
        && path.kind.group.is_empty()
        && let Some(namespace) = path.namespace.as_deref()
    {
        admission::service_account::admit_pod(state, namespace, &mut object).await?;
    }
    let mut attempt = 1;
    loop {
        let name = meta::meta_str(&object, "name")
            .unwrap_or_default()
            .to_string();
        let key = path.kind.key(path.namespace.as_deref(), &name);
        // Held until the object is stored, so that no other write takes what it allocated.
        // (After a collision the next attempt asks for what this one allocated, released
        // by then.)
        let _reservation = allocate(state, path.kind, &key, None, &mut object).await?;
        let stored = if query.dry_run {
            Ok(object)
        } else {
            match state.create(path.kind, &key, &object).await {
                Ok(stored) => Ok(stored.object),
                Err(error) => Err((error, object)),
            }
        };
        match (stored, &prefix) {
            // A generated name that is taken is generated again, as Kubernetes does.
            (Err((error, taken)), Some(prefix))
                if error.reason == "AlreadyExists" && attempt < GENERATE_NAME_ATTEMPTS =>
            {
                attempt += 1;
                object = taken;
                lifecycle::rename(&mut object, prefix)?;
            }
            (Err((error, _)), _) => return Err(error),
            (Ok(stored), _) => {
                return Ok(Written {
                    status: StatusCode::CREATED,
                    object: conversion::from_storage(path.kind, stored),
                    warnings,
                });
            }
        }
    }
}

/// How many names a create from `generateName` tries before a collision is the client's
/// 409 (Kubernetes tries 8).
const GENERATE_NAME_ATTEMPTS: u32 = 8;

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
        // The change sees (and returns) the object in the version the client addressed.
        let view = conversion::from_storage(path.kind, current.object.clone());
        let mut next = change(&view)?;
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
        keep_other_half(path, &view, &mut next);
        let main = path.subresource.is_none();
        // A status write in the storage version: everything but `status` is the stored
        // object, so admission and managedFields look at `status` only.
        let status_only = path.subresource.as_deref() == Some("status")
            && path.kind.has_subresource("status")
            && !conversion::converts(path.kind);
        if main && path.kind.kind == "Service" && path.kind.group.is_empty() {
            let causes = service::carry_over(&current.object, &mut next);
            if !causes.is_empty() {
                return Err(ApiError::invalid("Service", &name, causes));
            }
        }
        lifecycle::on_update(&mut next, &view)?;
        let (mut next, warnings) = if status_only {
            admission::admit_status(path.kind, next, query.field_validation)?
        } else {
            admit(path.kind, next, query.field_validation)?
        };
        if conversion::converts(path.kind) {
            // What the addressed version cannot express of the other half is kept too.
            keep_other_half(path, &current.object, &mut next);
        }
        if main {
            escalation::check(
                state,
                query.user.as_deref(),
                path.kind,
                path.namespace.as_deref(),
                Some(&current.object),
                &next,
            )?;
        }
        // `status` is never in a field set (see `apply::schema::ignored`) and a status
        // write keeps the stored managedFields with the rest: nothing to record.
        let mut next = if tracked && !status_only {
            apply::record_update(
                Some(&current.object),
                &next,
                manager(query),
                &skiff_model::time::now_rfc3339(),
            )
        } else {
            next
        };
        // Held until the object is stored, so that no other write takes what it allocated.
        let _reservation = if main {
            allocate(state, path.kind, &key, Some(&current.object), &mut next).await?
        } else {
            None
        };
        if query.dry_run {
            return Ok(Written {
                status: StatusCode::OK,
                object: conversion::from_storage(path.kind, next),
                warnings,
            });
        }
        match state.update(path.kind, &key, &next, current.revision).await {
            Ok(stored) => {
                let stored = finish_deletion_if_done(state, path, &key, stored).await?;
                return Ok(Written {
                    status: StatusCode::OK,
                    object: conversion::from_storage(path.kind, stored.object),
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
        // A binding sets `spec.nodeName` and the `PodScheduled` condition both.
        Some("binding") => {}
        Some("status") => {
            let status = next.as_object_mut().and_then(|map| map.remove("status"));
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
