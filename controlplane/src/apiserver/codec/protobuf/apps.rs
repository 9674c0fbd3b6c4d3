//! `apps/v1` Deployment and ReplicaSet.

use super::schema::{
    Field,
    Type::{Bool, I32, IntOrString, Str},
    keep, msg, opt,
};

/// `apps/v1` Deployment.
pub(crate) const DEPLOYMENT: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", DEPLOYMENT_SPEC),
    msg(3, "status", DEPLOYMENT_STATUS),
];

/// `apps/v1` DeploymentSpec.
pub(crate) const DEPLOYMENT_SPEC: &[Field] = &[
    keep(1, "replicas", I32),
    msg(2, "selector", super::meta::LABEL_SELECTOR),
    msg(3, "template", super::pod::POD_TEMPLATE_SPEC),
    msg(4, "strategy", DEPLOYMENT_STRATEGY),
    opt(5, "minReadySeconds", I32),
    keep(6, "revisionHistoryLimit", I32),
    opt(7, "paused", Bool),
    keep(9, "progressDeadlineSeconds", I32),
];

/// `apps/v1` DeploymentStrategy.
pub(crate) const DEPLOYMENT_STRATEGY: &[Field] = &[
    opt(1, "type", Str),
    msg(2, "rollingUpdate", ROLLING_UPDATE_DEPLOYMENT),
];

/// `apps/v1` RollingUpdateDeployment.
pub(crate) const ROLLING_UPDATE_DEPLOYMENT: &[Field] = &[
    keep(1, "maxUnavailable", IntOrString),
    keep(2, "maxSurge", IntOrString),
];

/// `apps/v1` ReplicaSet.
pub(crate) const REPLICA_SET: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", REPLICA_SET_SPEC),
    msg(3, "status", REPLICA_SET_STATUS),
];

/// `apps/v1` ReplicaSetSpec.
pub(crate) const REPLICA_SET_SPEC: &[Field] = &[
    keep(1, "replicas", I32),
    opt(4, "minReadySeconds", I32),
    msg(2, "selector", super::meta::LABEL_SELECTOR),
    msg(3, "template", super::pod::POD_TEMPLATE_SPEC),
];

/// `apps/v1` DeploymentStatus: dropped, as the API server does outside `/status`.
pub(crate) const DEPLOYMENT_STATUS: &[Field] = &[];

/// `apps/v1` ReplicaSetStatus, reduced to `replicas`, which Go always writes.
pub(crate) const REPLICA_SET_STATUS: &[Field] = &[keep(1, "replicas", I32)];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s, strings};
    use k8s_openapi::api::apps::v1 as openapi;
    use k8s_pb::api::apps::v1 as pb;
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    fn template(app: &str) -> core::PodTemplateSpec {
        core::PodTemplateSpec {
            metadata: Some(meta::ObjectMeta {
                labels: strings(&[("app", app)]),
                ..new_meta("")
            }),
            spec: Some(core::PodSpec {
                containers: vec![core::Container {
                    name: s("app"),
                    image: s("registry.example/app:v2"),
                    resources: Some(core::ResourceRequirements::default()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    fn selector(app: &str) -> meta::LabelSelector {
        meta::LabelSelector {
            match_labels: strings(&[("app", app)]),
            match_expressions: vec![meta::LabelSelectorRequirement {
                key: s("tier"),
                operator: s("NotIn"),
                values: vec!["cache".to_owned()],
            }],
        }
    }

    #[test]
    fn deployment() {
        let object = pb::Deployment {
            metadata: Some(new_meta("web")),
            spec: Some(pb::DeploymentSpec {
                replicas: Some(0),
                selector: Some(selector("web")),
                template: Some(template("web")),
                strategy: Some(pb::DeploymentStrategy {
                    r#type: s("RollingUpdate"),
                    rolling_update: Some(pb::RollingUpdateDeployment {
                        max_unavailable: Some(IntOrString {
                            r#type: Some(0),
                            int_val: Some(0),
                            str_val: s(""),
                        }),
                        max_surge: Some(IntOrString {
                            r#type: Some(1),
                            int_val: Some(0),
                            str_val: s("25%"),
                        }),
                    }),
                }),
                min_ready_seconds: Some(0),
                revision_history_limit: Some(0),
                paused: Some(false),
                progress_deadline_seconds: Some(600),
            }),
            status: Some(pb::DeploymentStatus {
                replicas: Some(0),
                ..Default::default()
            }),
        };
        check::<openapi::Deployment>(
            &body("apps/v1", "Deployment", &object),
            json!({
                "kind": "Deployment", "apiVersion": "apps/v1",
                "metadata": {"name": "web", "creationTimestamp": null},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": {"app": "web"},
                                 "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cache"]}]},
                    "template": {
                        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "registry.example/app:v2", "resources": {}}]}
                    },
                    "strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                    "revisionHistoryLimit": 0,
                    "progressDeadlineSeconds": 600
                },
                "status": {}
            }),
        );
    }

    #[test]
    fn replica_set() {
        let object = pb::ReplicaSet {
            metadata: Some(meta::ObjectMeta {
                namespace: s("default"),
                labels: strings(&[("app", "web"), ("pod-template-hash", "7d9f")]),
                owner_references: vec![meta::OwnerReference {
                    api_version: s("apps/v1"),
                    kind: s("Deployment"),
                    name: s("web"),
                    uid: s("3f9a0e1c-5b2d-4e6f-8a7b-9c0d1e2f3a4b"),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }],
                annotations: strings(&[("deployment.kubernetes.io/revision", "1")]),
                ..new_meta("web-7d9f")
            }),
            spec: Some(pb::ReplicaSetSpec {
                replicas: Some(2),
                min_ready_seconds: Some(5),
                selector: Some(selector("web")),
                template: Some(template("web")),
            }),
            status: Some(pb::ReplicaSetStatus {
                replicas: Some(0),
                ..Default::default()
            }),
        };
        check::<openapi::ReplicaSet>(
            &body("apps/v1", "ReplicaSet", &object),
            json!({
                "kind": "ReplicaSet", "apiVersion": "apps/v1",
                "metadata": {
                    "name": "web-7d9f", "namespace": "default", "creationTimestamp": null,
                    "labels": {"app": "web", "pod-template-hash": "7d9f"},
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                         "uid": "3f9a0e1c-5b2d-4e6f-8a7b-9c0d1e2f3a4b",
                                         "controller": true, "blockOwnerDeletion": true}]
                },
                "spec": {
                    "replicas": 2,
                    "minReadySeconds": 5,
                    "selector": {"matchLabels": {"app": "web"},
                                 "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cache"]}]},
                    "template": {
                        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "registry.example/app:v2", "resources": {}}]}
                    }
                },
                "status": {"replicas": 0}
            }),
        );
    }
}
