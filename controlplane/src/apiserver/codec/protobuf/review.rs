//! The create-only review kinds kubectl sends (1.32+) as protobuf: `kubectl auth can-i`
//! (SelfSubjectAccessReview, and SelfSubjectRulesReview for `--list`), `kubectl auth
//! whoami` (SelfSubjectReview), SubjectAccessReview and LocalSubjectAccessReview, and
//! `kubectl create token` (TokenRequest). Only their specs are read; their statuses are
//! the server's to write.

use super::schema::{
    Field,
    Type::{I64, Str},
    keep, list, msg, opt, unsupported,
};

/// `authorization/v1` ResourceAttributes (the selector attributes are not read).
pub(crate) const RESOURCE_ATTRIBUTES: &[Field] = &[
    opt(1, "namespace", Str),
    opt(2, "verb", Str),
    opt(3, "group", Str),
    opt(4, "version", Str),
    opt(5, "resource", Str),
    opt(6, "subresource", Str),
    opt(7, "name", Str),
    unsupported(8, "fieldSelector"),
    unsupported(9, "labelSelector"),
];

/// `authorization/v1` NonResourceAttributes.
pub(crate) const NON_RESOURCE_ATTRIBUTES: &[Field] = &[opt(1, "path", Str), opt(2, "verb", Str)];

/// `authorization/v1` SelfSubjectAccessReviewSpec.
const SELF_SUBJECT_ACCESS_REVIEW_SPEC: &[Field] = &[
    msg(1, "resourceAttributes", RESOURCE_ATTRIBUTES),
    msg(2, "nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
];

/// `authorization/v1` SubjectAccessReviewSpec (`extra` is refused: kubectl never sends it).
const SUBJECT_ACCESS_REVIEW_SPEC: &[Field] = &[
    msg(1, "resourceAttributes", RESOURCE_ATTRIBUTES),
    msg(2, "nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
    opt(3, "user", Str),
    list(4, "groups", Str),
    unsupported(5, "extra"),
    opt(6, "uid", Str),
];

/// `authorization/v1` SelfSubjectAccessReview.
pub(crate) const SELF_SUBJECT_ACCESS_REVIEW: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", SELF_SUBJECT_ACCESS_REVIEW_SPEC),
];

/// `authorization/v1` SubjectAccessReview and LocalSubjectAccessReview.
pub(crate) const SUBJECT_ACCESS_REVIEW: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", SUBJECT_ACCESS_REVIEW_SPEC),
];

/// `authorization/v1` SelfSubjectRulesReview.
pub(crate) const SELF_SUBJECT_RULES_REVIEW: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", &[opt(1, "namespace", Str)]),
];

/// `authentication/v1` SelfSubjectReview (no spec: it asks about the caller).
pub(crate) const SELF_SUBJECT_REVIEW: &[Field] = &[msg(1, "metadata", super::meta::OBJECT_META)];

/// `authentication/v1` BoundObjectReference.
const BOUND_OBJECT_REFERENCE: &[Field] = &[
    opt(1, "kind", Str),
    opt(2, "apiVersion", Str),
    opt(3, "name", Str),
    opt(4, "uid", Str),
];

/// `authentication/v1` TokenRequest.
pub(crate) const TOKEN_REQUEST: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(
        2,
        "spec",
        &[
            list(1, "audiences", Str),
            msg(3, "boundObjectRef", BOUND_OBJECT_REFERENCE),
            keep(4, "expirationSeconds", I64),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, s};
    use k8s_openapi::api::authorization::v1 as openapi;
    use k8s_pb::api::authorization::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    /// `kubectl auth can-i list pods -n team-b`.
    #[test]
    fn can_i() {
        let object = pb::SelfSubjectAccessReview {
            metadata: Some(meta::ObjectMeta::default()),
            spec: Some(pb::SelfSubjectAccessReviewSpec {
                resource_attributes: Some(pb::ResourceAttributes {
                    namespace: s("team-b"),
                    verb: s("list"),
                    group: s(""),
                    resource: s("pods"),
                    ..Default::default()
                }),
                non_resource_attributes: None,
            }),
            status: None,
        };
        check::<openapi::SelfSubjectAccessReview>(
            &body(
                "authorization.k8s.io/v1",
                "SelfSubjectAccessReview",
                &object,
            ),
            json!({
                "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {},
                "spec": {"resourceAttributes": {"namespace": "team-b", "verb": "list", "resource": "pods"}},
            }),
        );
    }
}
