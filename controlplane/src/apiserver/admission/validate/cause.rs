//! The field causes validation reports, as Kubernetes words their kinds: a required
//! field that is missing ([`required`]) and a value that is not allowed ([`invalid`]).

use skiff_model::field::FieldCause;

/// A `FieldValueRequired` cause at `field`.
pub(super) fn required(field: &str, message: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueRequired",
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// A `FieldValueInvalid` cause at `field`.
pub(super) fn invalid(field: &str, message: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueInvalid",
        field: field.to_string(),
        message: message.to_string(),
    }
}
