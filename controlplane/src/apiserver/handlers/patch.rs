//! `PATCH`: the four patch types kubectl sends — JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), strategic merge patch (with `$patch`, `$setElementOrder`, `$retainKeys`
//! and `$deleteFromPrimitiveList` directives, lists merged by their Kubernetes merge keys)
//! and server-side apply.
//!
//! [`apply()`] applies a patch of the first three types to an object; [`server_side_apply`]
//! handles an apply patch, with field ownership ([`crate::apiserver::apply`]).
//!
//! Parts: [`strategic`] holds the strategic merge.

pub mod strategic;

use crate::apiserver::apply;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::write;
use crate::apiserver::request::body::MediaType;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::ApiState;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use skiff_model::field::FieldCause;

/// Applies a patch of `media` type to `current`.
pub fn apply(current: &Value, patch: &Value, media: MediaType) -> ApiResult<Value> {
    match media {
        MediaType::MergePatch => {
            let mut out = current.clone();
            json_patch::merge(&mut out, patch);
            Ok(out)
        }
        MediaType::JsonPatch => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            let mut out = current.clone();
            json_patch::patch(&mut out, &operations).map_err(|e| {
                ApiError::unprocessable(format!("the JSON patch could not be applied: {e}"))
            })?;
            Ok(out)
        }
        MediaType::StrategicMergePatch | MediaType::ApplyPatch => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be an object",
                ));
            }
            Ok(strategic::merge(current, patch))
        }
        MediaType::Json | MediaType::Yaml | MediaType::Protobuf => {
            Err(ApiError::unsupported_media_type(
                "PATCH needs application/merge-patch+json, application/json-patch+json, \
             application/strategic-merge-patch+json or application/apply-patch+yaml",
            ))
        }
    }
}

/// Server-side apply: merges the applied configuration into the object (creating it if
/// missing) under field ownership: a field another manager owns and the configuration
/// changes is a 409 conflict unless `force`; fields the manager dropped are removed.
pub async fn server_side_apply(
    state: &ApiState,
    target: &ResourcePath,
    query: &Query,
    config: Value,
) -> ApiResult<Response> {
    let Some(manager) = query.field_manager.as_deref().filter(|m| !m.is_empty()) else {
        return Err(ApiError::bad_request(
            "PATCH is missing the required query parameter fieldManager for apply patch",
        ));
    };
    let name = target.require_name()?;
    let now = skiff_model::time::now_rfc3339();
    match state.read(target.kind, &target.key()?, name).await {
        Ok(_) => Ok(write::modify_with(
            state,
            target,
            query,
            |current| {
                let mut current = current.clone();
                if let Some(meta) = current.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                }
                apply::apply(Some(&current), &config, manager, query.force, &now)
                    .map_err(apply_error)
            },
            false,
        )
        .await?
        .into_response()),
        Err(e) if e.reason == "NotFound" => {
            let collection = ResourcePath {
                kind: target.kind,
                namespace: target.namespace.clone(),
                name: None,
                subresource: None,
            };
            let mut config = config;
            if config.get("metadata").is_none_or(|m| !m.is_object()) {
                config["metadata"] = serde_json::json!({});
            }
            config["metadata"]["name"] = Value::String(name.to_string());
            let object =
                apply::apply(None, &config, manager, query.force, &now).map_err(apply_error)?;
            Ok(write::create_with(state, &collection, query, object, false)
                .await?
                .into_response())
        }
        Err(e) => Err(e),
    }
}

fn apply_error(error: apply::ApplyError) -> ApiError {
    match error {
        apply::ApplyError::Conflicts(conflicts) => {
            let message = apply::ApplyError::Conflicts(conflicts.clone()).to_string();
            ApiError::apply_conflict(
                message,
                conflicts
                    .iter()
                    .map(|c| FieldCause {
                        kind: "FieldManagerConflict",
                        field: c.field.clone(),
                        message: c.message(),
                    })
                    .collect(),
            )
        }
        apply::ApplyError::Invalid(message) => ApiError::bad_request(message),
    }
}
