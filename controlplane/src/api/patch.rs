//! `PATCH`: the four patch types kubectl sends — JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), strategic merge patch (with `$patch`, `$setElementOrder`, `$retainKeys`
//! and `$deleteFromPrimitiveList` directives, lists merged by their Kubernetes merge keys)
//! and server-side apply.
//!
//! Parts: [`strategic`] holds the strategic merge.

pub mod strategic;

use super::body::MediaType;
use super::error::{ApiError, ApiResult};
use serde_json::Value;

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
