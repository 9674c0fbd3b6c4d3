//! Admission of a written object: type and kind checks, defaults, the typed round trip
//! (which also drops or reports unknown fields per `fieldValidation`), and validation.
//! Every write path (create, update, patch, apply) goes through [`admit`], which also
//! turns an object written in a non-storage version into the storage version
//! ([`conversion`](crate::apiserver::conversion)) before defaults and validation.
//!
//! Parts: [`defaults`] (Kubernetes' defaults per kind), [`unknown`] (fields the type does
//! not have, for `fieldValidation`), [`validate`] (names and per-kind rules, with field
//! paths), and [`allocate`], which gives Services their cluster IPs and nodePorts and
//! keeps them across updates; the write handlers call it after [`admit`].

pub mod allocate;
pub mod defaults;
pub mod unknown;
pub mod validate;

use crate::apiserver::conversion;
use crate::apiserver::error::ApiError;
use crate::apiserver::request::query::FieldValidation;
use serde_json::{Value, json};
use skiff_model::kinds::ResourceKind;

/// Checks `apiVersion` and `kind` (filling them in when absent), applies defaults, round
/// trips through the Kubernetes type and validates. Returns the admitted object, in the
/// storage version, and the warnings to send (unknown fields under `Warn`).
///
/// Unknown fields are those of the version the client wrote; defaults and validation are
/// the storage version's (Kubernetes validates its internal version).
pub fn admit(
    kind: &'static ResourceKind,
    mut object: Value,
    validation: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let api_version = kind.api_version();
    match object.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => object["apiVersion"] = json!(api_version),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match object.get("kind").and_then(Value::as_str) {
        None | Some("") => object["kind"] = json!(kind.kind),
        Some(k) if k == kind.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                kind.kind
            )));
        }
    }
    if kind.is_storage_version() {
        defaults::apply(kind.kind, &mut object);
    }
    let typed = (kind.round_trip)(&object)
        .map_err(|why| ApiError::bad_request(format!("error decoding {}: {why}", kind.kind)))?;
    let mut warnings = Vec::new();
    let unknown = unknown::unknown_fields(&object, &typed);
    if !unknown.is_empty() {
        match validation {
            FieldValidation::Strict => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field {f:?}"))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "strict decoding error: {}",
                    list.join(", ")
                )));
            }
            FieldValidation::Warn => {
                warnings.extend(unknown.iter().map(|f| format!("unknown field {f:?}")));
            }
            FieldValidation::Ignore => {}
        }
    }
    let (kind, typed) = if conversion::converts(kind) {
        let storage = kind.storage();
        let mut converted = conversion::to_storage(kind, typed);
        defaults::apply(storage.kind, &mut converted);
        let typed = (storage.round_trip)(&converted)
            .map_err(|why| ApiError::bad_request(format!("error decoding {}: {why}", kind.kind)))?;
        (storage, typed)
    } else {
        (kind, typed)
    };
    let causes = validate::validate(kind, &typed);
    if !causes.is_empty() {
        let name = typed
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(ApiError::invalid(kind.kind, name, causes));
    }
    Ok((typed, warnings))
}
