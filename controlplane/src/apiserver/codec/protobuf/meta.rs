//! `meta/v1` tables shared by every kind: ObjectMeta with its owner references and
//! managed fields, and LabelSelector.

use super::schema::{
    Field,
    Type::{Bool, FieldsV1, I64, Str, Time},
    keep, list, map, msgs, opt,
};

/// `meta/v1` ObjectMeta.
pub(crate) const OBJECT_META: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "generateName", Str),
    opt(3, "namespace", Str),
    opt(4, "selfLink", Str),
    opt(5, "uid", Str),
    opt(6, "resourceVersion", Str),
    opt(7, "generation", I64),
    keep(8, "creationTimestamp", Time),
    keep(9, "deletionTimestamp", Time),
    keep(10, "deletionGracePeriodSeconds", I64),
    map(11, "labels", Str),
    map(12, "annotations", Str),
    msgs(13, "ownerReferences", OWNER_REFERENCE),
    list(14, "finalizers", Str),
    msgs(17, "managedFields", MANAGED_FIELDS_ENTRY),
];

/// `meta/v1` OwnerReference.
pub(crate) const OWNER_REFERENCE: &[Field] = &[
    keep(5, "apiVersion", Str),
    keep(1, "kind", Str),
    keep(3, "name", Str),
    keep(4, "uid", Str),
    keep(6, "controller", Bool),
    keep(7, "blockOwnerDeletion", Bool),
];

/// `meta/v1` LabelSelector.
pub(crate) const LABEL_SELECTOR: &[Field] = &[
    map(1, "matchLabels", Str),
    msgs(2, "matchExpressions", LABEL_SELECTOR_REQUIREMENT),
];

/// `meta/v1` LabelSelectorRequirement.
pub(crate) const LABEL_SELECTOR_REQUIREMENT: &[Field] = &[
    keep(1, "key", Str),
    keep(2, "operator", Str),
    list(3, "values", Str),
];

/// `meta/v1` ManagedFieldsEntry.
pub(crate) const MANAGED_FIELDS_ENTRY: &[Field] = &[
    opt(1, "manager", Str),
    opt(2, "operation", Str),
    opt(3, "apiVersion", Str),
    keep(4, "time", Time),
    opt(6, "fieldsType", Str),
    keep(7, "fieldsV1", FieldsV1),
    opt(8, "subresource", Str),
];
