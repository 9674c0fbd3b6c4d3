//! [`FieldCause`]: what is wrong with one field of an object, by its path — the unit of
//! validation errors (k8s.io/apimachinery's `field.Error`), which the API answers with a
//! `422 Invalid` whose `details.causes` list them.

/// One cause of an `Invalid` error: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// The `StatusCause` type, e.g. `FieldValueRequired`, `FieldValueInvalid`.
    pub kind: &'static str,
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}
