//! The field causes validation reports, as Kubernetes words their kinds: a required
//! field that is missing ([`required`]), a value that is not allowed ([`invalid`]), and a
//! text value outside a fixed set ([`not_supported`]).

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

/// A `FieldValueNotSupported` cause at `field`:
/// `Unsupported value: "x": supported values: "a", "b"`.
pub(super) fn not_supported(field: &str, value: &str, supported: &[&str]) -> FieldCause {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    FieldCause {
        kind: "FieldValueNotSupported",
        field: field.to_string(),
        message: format!(
            "Unsupported value: {value:?}: supported values: {}",
            list.join(", ")
        ),
    }
}
