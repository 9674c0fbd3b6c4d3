//! Helpers over an object's `metadata` as JSON, for code that handles objects of any kind
//! without their types: [`metadata`] (the map, created if missing), [`meta_str`] (one
//! string field) and [`MetadataError`] (why an object has no usable metadata).

use serde_json::{Map, Value};

/// What is wrong with an object that its metadata cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The object is not a JSON object.
    #[error("the object must be a JSON object")]
    NotAnObject,
    /// `metadata` is there but not an object.
    #[error("metadata must be an object")]
    MetadataNotAnObject,
    /// The object names another namespace than the request.
    #[error(
        "the namespace of the provided object does not match the namespace sent on the request"
    )]
    NamespaceMismatch,
}

/// The object's `metadata` map, created if missing. Fails if `metadata` is not an object.
pub fn metadata(object: &mut Value) -> Result<&mut Map<String, Value>, MetadataError> {
    let Some(root) = object.as_object_mut() else {
        return Err(MetadataError::NotAnObject);
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    meta.as_object_mut()
        .ok_or(MetadataError::MetadataNotAnObject)
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}
