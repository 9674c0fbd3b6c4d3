//! `core/v1` configuration and identity kinds: ConfigMap, Secret, Namespace and
//! ServiceAccount, plus the ObjectReference and LocalObjectReference other tables share.

use super::schema::{
    Field,
    Type::{Bool, Bytes, Str},
    keep, list, map, msg, msgs, opt,
};

/// `core/v1` ConfigMap.
pub(crate) const CONFIG_MAP: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    keep(4, "immutable", Bool),
    map(2, "data", Str),
    map(3, "binaryData", Bytes),
];

/// `core/v1` Secret.
pub(crate) const SECRET: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    keep(5, "immutable", Bool),
    map(2, "data", Bytes),
    map(4, "stringData", Str),
    opt(3, "type", Str),
];

/// `core/v1` Namespace.
pub(crate) const NAMESPACE: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", NAMESPACE_SPEC),
    msg(3, "status", NAMESPACE_STATUS),
];

/// `core/v1` NamespaceSpec.
pub(crate) const NAMESPACE_SPEC: &[Field] = &[list(1, "finalizers", Str)];

/// `core/v1` ServiceAccount.
pub(crate) const SERVICE_ACCOUNT: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msgs(2, "secrets", OBJECT_REFERENCE),
    msgs(3, "imagePullSecrets", LOCAL_OBJECT_REFERENCE),
    keep(4, "automountServiceAccountToken", Bool),
];

/// `core/v1` ObjectReference.
pub(crate) const OBJECT_REFERENCE: &[Field] = &[
    opt(1, "kind", Str),
    opt(2, "namespace", Str),
    opt(3, "name", Str),
    opt(4, "uid", Str),
    opt(5, "apiVersion", Str),
    opt(6, "resourceVersion", Str),
    opt(7, "fieldPath", Str),
];

/// `core/v1` LocalObjectReference.
pub(crate) const LOCAL_OBJECT_REFERENCE: &[Field] = &[opt(1, "name", Str)];

/// `core/v1` NamespaceStatus, reduced to its phase.
pub(crate) const NAMESPACE_STATUS: &[Field] = &[opt(1, "phase", Str)];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s, strings};
    use k8s_openapi::api::core::v1 as openapi;
    use k8s_pb::api::core::v1 as pb;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    #[test]
    fn config_map() {
        let object = pb::ConfigMap {
            metadata: Some(meta::ObjectMeta {
                namespace: s("team-a"),
                labels: strings(&[("app", "web")]),
                annotations: strings(&[("note", "x")]),
                ..new_meta("web-config")
            }),
            immutable: Some(false),
            data: strings(&[("app.conf", "port = 80\n"), ("empty", "")]),
            binary_data: [("logo".to_owned(), vec![0u8, 1, 0xfe, 0xff])].into(),
        };
        check::<openapi::ConfigMap>(
            &body("v1", "ConfigMap", &object),
            json!({
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "web-config", "namespace": "team-a", "creationTimestamp": null,
                             "labels": {"app": "web"}, "annotations": {"note": "x"}},
                "immutable": false,
                "data": {"app.conf": "port = 80\n", "empty": ""},
                "binaryData": {"logo": "AAH+/w=="}
            }),
        );
    }

    #[test]
    fn secret() {
        let object = pb::Secret {
            metadata: Some(new_meta("db-credentials")),
            immutable: Some(true),
            data: [("password".to_owned(), b"s3cr3t".to_vec())].into(),
            string_data: strings(&[("user", "admin")]),
            r#type: s("Opaque"),
        };
        check::<openapi::Secret>(
            &body("v1", "Secret", &object),
            json!({
                "kind": "Secret", "apiVersion": "v1",
                "metadata": {"name": "db-credentials", "creationTimestamp": null},
                "immutable": true,
                "data": {"password": "czNjcjN0"},
                "stringData": {"user": "admin"},
                "type": "Opaque"
            }),
        );
    }

    #[test]
    fn namespace() {
        let object = pb::Namespace {
            metadata: Some(meta::ObjectMeta {
                finalizers: vec!["example.com/cleanup".to_owned()],
                ..new_meta("team-a")
            }),
            spec: Some(pb::NamespaceSpec {
                finalizers: vec!["kubernetes".to_owned()],
            }),
            status: Some(pb::NamespaceStatus {
                phase: s("Active"),
                conditions: vec![],
            }),
        };
        check::<openapi::Namespace>(
            &body("v1", "Namespace", &object),
            json!({
                "kind": "Namespace", "apiVersion": "v1",
                "metadata": {"name": "team-a", "creationTimestamp": null,
                             "finalizers": ["example.com/cleanup"]},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            }),
        );
    }

    #[test]
    fn service_account() {
        let object = pb::ServiceAccount {
            metadata: Some(meta::ObjectMeta {
                namespace: s("ci"),
                ..new_meta("builder")
            }),
            secrets: vec![pb::ObjectReference {
                kind: s("Secret"),
                name: s("builder-token"),
                namespace: s(""),
                ..Default::default()
            }],
            image_pull_secrets: vec![pb::LocalObjectReference { name: s("regcred") }],
            automount_service_account_token: Some(false),
        };
        check::<openapi::ServiceAccount>(
            &body("v1", "ServiceAccount", &object),
            json!({
                "kind": "ServiceAccount", "apiVersion": "v1",
                "metadata": {"name": "builder", "namespace": "ci", "creationTimestamp": null},
                "secrets": [{"kind": "Secret", "name": "builder-token"}],
                "imagePullSecrets": [{"name": "regcred"}],
                "automountServiceAccountToken": false
            }),
        );
    }
}
