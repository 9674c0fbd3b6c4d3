//! `batch/v1` Job, with its pod failure and success policies.

use super::schema::{
    Field,
    Type::{Bool, I32, I64, Str},
    keep, list, msg, msgs,
};

/// `batch/v1` Job.
pub(crate) const JOB: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", JOB_SPEC),
    msg(3, "status", JOB_STATUS),
];

/// `batch/v1` JobSpec.
pub(crate) const JOB_SPEC: &[Field] = &[
    keep(1, "parallelism", I32),
    keep(2, "completions", I32),
    keep(3, "activeDeadlineSeconds", I64),
    msg(11, "podFailurePolicy", POD_FAILURE_POLICY),
    msg(16, "successPolicy", SUCCESS_POLICY),
    keep(7, "backoffLimit", I32),
    keep(12, "backoffLimitPerIndex", I32),
    keep(13, "maxFailedIndexes", I32),
    msg(4, "selector", super::meta::LABEL_SELECTOR),
    keep(5, "manualSelector", Bool),
    msg(6, "template", super::pod::POD_TEMPLATE_SPEC),
    keep(8, "ttlSecondsAfterFinished", I32),
    keep(9, "completionMode", Str),
    keep(10, "suspend", Bool),
    keep(14, "podReplacementPolicy", Str),
    keep(15, "managedBy", Str),
];

/// `batch/v1` PodFailurePolicy.
pub(crate) const POD_FAILURE_POLICY: &[Field] = &[msgs(1, "rules", POD_FAILURE_POLICY_RULE)];

/// `batch/v1` PodFailurePolicyRule.
pub(crate) const POD_FAILURE_POLICY_RULE: &[Field] = &[
    keep(1, "action", Str),
    msg(
        2,
        "onExitCodes",
        POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT,
    ),
    msgs(
        3,
        "onPodConditions",
        POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN,
    ),
];

/// `batch/v1` PodFailurePolicyOnExitCodesRequirement.
pub(crate) const POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: &[Field] = &[
    keep(1, "containerName", Str),
    keep(2, "operator", Str),
    list(3, "values", I32),
];

/// `batch/v1` PodFailurePolicyOnPodConditionsPattern.
pub(crate) const POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: &[Field] =
    &[keep(1, "type", Str), keep(2, "status", Str)];

/// `batch/v1` SuccessPolicy.
pub(crate) const SUCCESS_POLICY: &[Field] = &[msgs(1, "rules", SUCCESS_POLICY_RULE)];

/// `batch/v1` SuccessPolicyRule.
pub(crate) const SUCCESS_POLICY_RULE: &[Field] = &[
    keep(1, "succeededIndexes", Str),
    keep(2, "succeededCount", I32),
];

/// `batch/v1` JobStatus: dropped, as the API server does outside `/status`.
pub(crate) const JOB_STATUS: &[Field] = &[];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s};
    use k8s_openapi::api::batch::v1 as openapi;
    use k8s_pb::api::batch::v1 as pb;
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    #[test]
    fn job() {
        let object = pb::Job {
            metadata: Some(meta::ObjectMeta {
                generate_name: s("migrate-"),
                ..new_meta("")
            }),
            spec: Some(pb::JobSpec {
                parallelism: Some(1),
                completions: Some(1),
                backoff_limit: Some(0),
                ttl_seconds_after_finished: Some(300),
                suspend: Some(false),
                pod_failure_policy: Some(pb::PodFailurePolicy {
                    rules: vec![pb::PodFailurePolicyRule {
                        action: s("FailJob"),
                        on_exit_codes: Some(pb::PodFailurePolicyOnExitCodesRequirement {
                            container_name: None,
                            operator: s("In"),
                            values: vec![3, 42],
                        }),
                        on_pod_conditions: vec![],
                    }],
                }),
                template: Some(core::PodTemplateSpec {
                    metadata: Some(new_meta("")),
                    spec: Some(core::PodSpec {
                        containers: vec![core::Container {
                            name: s("migrate"),
                            image: s("registry.example/migrate:v3"),
                            args: vec!["--to=latest".to_owned()],
                            resources: Some(core::ResourceRequirements::default()),
                            ..Default::default()
                        }],
                        restart_policy: s("Never"),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }),
            status: Some(pb::JobStatus::default()),
        };
        check::<openapi::Job>(
            &body("batch/v1", "Job", &object),
            json!({
                "kind": "Job", "apiVersion": "batch/v1",
                "metadata": {"generateName": "migrate-", "creationTimestamp": null},
                "spec": {
                    "parallelism": 1,
                    "completions": 1,
                    "podFailurePolicy": {"rules": [{"action": "FailJob",
                        "onExitCodes": {"operator": "In", "values": [3, 42]}}]},
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"creationTimestamp": null},
                        "spec": {
                            "containers": [{"name": "migrate", "image": "registry.example/migrate:v3",
                                            "args": ["--to=latest"], "resources": {}}],
                            "restartPolicy": "Never"
                        }
                    },
                    "ttlSecondsAfterFinished": 300,
                    "suspend": false
                },
                "status": {}
            }),
        );
    }
}
