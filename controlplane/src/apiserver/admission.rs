//! Admission of a written object: type and kind checks, defaults, the typed round trip
//! (which also drops or reports unknown fields per `fieldValidation`), and validation.
//! Every write path (create, update, patch, apply) goes through [`admit`].
//!
//! Parts: [`defaults`] (Kubernetes' defaults per kind), [`unknown`] (fields the type does
//! not have, for `fieldValidation`), [`validate`] (names and per-kind rules, with field
//! paths), and [`allocate`], which gives Services their cluster IPs and nodePorts and
//! keeps them across updates; the write handlers call it after [`admit`].

pub mod allocate;
pub mod defaults;
pub mod unknown;
pub mod validate;

use crate::apiserver::error::ApiError;
use crate::apiserver::request::query::FieldValidation;
use serde_json::{Value, json};
use skiff_model::kinds::ResourceKind;

/// Checks `apiVersion` and `kind` (filling them in when absent), applies defaults, round
/// trips through the Kubernetes type and validates. Returns the admitted object and the
/// warnings to send (unknown fields under `Warn`).
pub fn admit(
    kind: &ResourceKind,
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
    defaults::apply(kind.kind, &mut object);
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
