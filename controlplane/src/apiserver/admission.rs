//! Admission of a written object: type and kind checks, defaults, the typed round trip
//! (which also drops or reports unknown fields per `fieldValidation`), and validation.
//! Every write path (create, update, patch, apply) goes through [`admit`], which also
//! turns an object written in a non-storage version into the storage version
//! ([`conversion`](crate::apiserver::conversion)) before defaults and validation.
//!
//! Parts: [`defaults`] (Kubernetes' defaults per kind), [`unknown`] (fields the type does
//! not have, for `fieldValidation`), [`validate`] (names and per-kind rules, with field
//! paths), and [`allocate`], which gives Services their cluster IPs and nodePorts and
//! keeps them across updates; the write handlers call it after [`admit`], and
//! [`escalation`], which keeps a requester from granting through RBAC what they do not
//! hold, and [`service_account`], which gives a new pod its ServiceAccount.

pub mod allocate;
pub mod defaults;
pub mod escalation;
pub mod service_account;
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
    check_type(kind, &mut object)?;
    if kind.is_storage_version() {
        defaults::apply(kind.kind, &mut object);
    }
    let typed = (kind.round_trip)(&object)
        .map_err(|why| ApiError::bad_request(format!("error decoding {}: {why}", kind.kind)))?;
    let warnings = unknown_fields(&object, &typed, validation)?;
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
    validated(kind, typed, warnings)
}

/// [`admit`] for a write through the `status` subresource of a kind stored in the version
/// written (no conversion), where everything but `status` is the stored object, admitted
/// when it was written: defaults as [`admit`], but only `status` goes through the typed
/// round trip and the unknown-field check (as Kubernetes' status strategies care only for
/// status); validation sees the whole object.
pub fn admit_status(
    kind: &'static ResourceKind,
    mut object: Value,
    validation: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    debug_assert!(!conversion::converts(kind), "{} converts", kind.kind);
    check_type(kind, &mut object)?;
    if kind.is_storage_version() {
        defaults::apply(kind.kind, &mut object);
    }
    let Some(fields) = object.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "error decoding {}: expected an object",
            kind.kind
        )));
    };
    let mut part = serde_json::Map::new();
    for field in ["apiVersion", "kind"] {
        if let Some(value) = fields.get(field) {
            part.insert(field.to_string(), value.clone());
        }
    }
    if let Some(status) = fields.remove("status") {
        part.insert("status".to_string(), status);
    }
    let part = Value::Object(part);
    let typed = (kind.round_trip)(&part)
        .map_err(|why| ApiError::bad_request(format!("error decoding {}: {why}", kind.kind)))?;
    let warnings = unknown_fields(&part, &typed, validation)?;
    if let Some(status) = typed.get("status") {
        fields.insert("status".to_string(), status.clone());
    }
    validated(kind, object, warnings)
}

/// Checks `apiVersion` and `kind`, filling them in when absent.
fn check_type(kind: &'static ResourceKind, object: &mut Value) -> Result<(), ApiError> {
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
    Ok(())
}

/// The fields of `object` its typed form `typed` does not have, refused or returned as
/// warnings per `validation`.
fn unknown_fields(
    object: &Value,
    typed: &Value,
    validation: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let mut warnings = Vec::new();
    let unknown = unknown::unknown_fields(object, typed);
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
    Ok(warnings)
}

/// `typed` with `warnings` if it is valid, else the 422 naming every cause.
fn validated(
    kind: &'static ResourceKind,
    typed: Value,
    warnings: Vec<String>,
) -> Result<(Value, Vec<String>), ApiError> {
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
