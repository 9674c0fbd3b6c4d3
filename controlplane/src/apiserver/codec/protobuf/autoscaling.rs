//! `autoscaling/v1` and `autoscaling/v2` HorizontalPodAutoscaler; both versions
//! share CrossVersionObjectReference.

use super::schema::{
    Field,
    Type::{I32, Quantity, Str},
    keep, msg, msgs, opt,
};

/// `autoscaling/v1` HorizontalPodAutoscaler.
pub(crate) const HPA_V1: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", HPA_V1_SPEC),
    msg(3, "status", HPA_V1_STATUS),
];

/// `autoscaling/v1` HorizontalPodAutoscalerSpec.
pub(crate) const HPA_V1_SPEC: &[Field] = &[
    msg(1, "scaleTargetRef", CROSS_VERSION_OBJECT_REFERENCE),
    keep(2, "minReplicas", I32),
    keep(3, "maxReplicas", I32),
    keep(4, "targetCPUUtilizationPercentage", I32),
];

/// `autoscaling/v1` CrossVersionObjectReference.
pub(crate) const CROSS_VERSION_OBJECT_REFERENCE: &[Field] = &[
    keep(1, "kind", Str),
    keep(2, "name", Str),
    opt(3, "apiVersion", Str),
];

/// `autoscaling/v2` HorizontalPodAutoscaler.
pub(crate) const HPA_V2: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", HPA_V2_SPEC),
    msg(3, "status", HPA_V2_STATUS),
];

/// `autoscaling/v2` HorizontalPodAutoscalerSpec.
pub(crate) const HPA_V2_SPEC: &[Field] = &[
    msg(1, "scaleTargetRef", CROSS_VERSION_OBJECT_REFERENCE),
    keep(2, "minReplicas", I32),
    keep(3, "maxReplicas", I32),
    msgs(4, "metrics", METRIC_SPEC),
    msg(5, "behavior", HPA_BEHAVIOR),
];

/// `autoscaling/v2` MetricSpec.
pub(crate) const METRIC_SPEC: &[Field] = &[
    keep(1, "type", Str),
    msg(2, "object", OBJECT_METRIC_SOURCE),
    msg(3, "pods", PODS_METRIC_SOURCE),
    msg(4, "resource", RESOURCE_METRIC_SOURCE),
    msg(7, "containerResource", CONTAINER_RESOURCE_METRIC_SOURCE),
    msg(5, "external", EXTERNAL_METRIC_SOURCE),
];

/// `autoscaling/v2` ObjectMetricSource.
pub(crate) const OBJECT_METRIC_SOURCE: &[Field] = &[
    msg(1, "describedObject", CROSS_VERSION_OBJECT_REFERENCE),
    msg(2, "target", METRIC_TARGET),
    msg(3, "metric", METRIC_IDENTIFIER),
];

/// `autoscaling/v2` MetricTarget.
pub(crate) const METRIC_TARGET: &[Field] = &[
    keep(1, "type", Str),
    keep(2, "value", Quantity),
    keep(3, "averageValue", Quantity),
    keep(4, "averageUtilization", I32),
];

/// `autoscaling/v2` MetricIdentifier.
pub(crate) const METRIC_IDENTIFIER: &[Field] = &[
    keep(1, "name", Str),
    msg(2, "selector", super::meta::LABEL_SELECTOR),
];

/// `autoscaling/v2` PodsMetricSource.
pub(crate) const PODS_METRIC_SOURCE: &[Field] = &[
    msg(1, "metric", METRIC_IDENTIFIER),
    msg(2, "target", METRIC_TARGET),
];

/// `autoscaling/v2` ResourceMetricSource.
pub(crate) const RESOURCE_METRIC_SOURCE: &[Field] =
    &[keep(1, "name", Str), msg(2, "target", METRIC_TARGET)];

/// `autoscaling/v2` ContainerResourceMetricSource.
pub(crate) const CONTAINER_RESOURCE_METRIC_SOURCE: &[Field] = &[
    keep(1, "name", Str),
    msg(2, "target", METRIC_TARGET),
    keep(3, "container", Str),
];

/// `autoscaling/v2` ExternalMetricSource.
pub(crate) const EXTERNAL_METRIC_SOURCE: &[Field] = &[
    msg(1, "metric", METRIC_IDENTIFIER),
    msg(2, "target", METRIC_TARGET),
];

/// `autoscaling/v2` HorizontalPodAutoscalerBehavior.
pub(crate) const HPA_BEHAVIOR: &[Field] = &[
    msg(1, "scaleUp", HPA_SCALING_RULES),
    msg(2, "scaleDown", HPA_SCALING_RULES),
];

/// `autoscaling/v2` HpaScalingRules.
pub(crate) const HPA_SCALING_RULES: &[Field] = &[
    keep(3, "stabilizationWindowSeconds", I32),
    keep(1, "selectPolicy", Str),
    msgs(2, "policies", HPA_SCALING_POLICY),
    keep(4, "tolerance", Quantity),
];

/// `autoscaling/v2` HpaScalingPolicy.
pub(crate) const HPA_SCALING_POLICY: &[Field] = &[
    keep(1, "type", Str),
    keep(2, "value", I32),
    keep(3, "periodSeconds", I32),
];

/// `autoscaling/v1` HorizontalPodAutoscalerStatus, reduced to the replica counts Go always
/// writes.
pub(crate) const HPA_V1_STATUS: &[Field] = &[
    keep(3, "currentReplicas", I32),
    keep(4, "desiredReplicas", I32),
];

/// `autoscaling/v2` HorizontalPodAutoscalerStatus, reduced to its replica counts.
pub(crate) const HPA_V2_STATUS: &[Field] = &[
    opt(3, "currentReplicas", I32),
    keep(4, "desiredReplicas", I32),
];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s};
    use k8s_openapi::api::autoscaling::{v1 as openapi_v1, v2 as openapi_v2};
    use k8s_pb::api::autoscaling::{v1 as pb_v1, v2 as pb_v2};
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use serde_json::json;

    #[test]
    fn horizontal_pod_autoscaler_v1() {
        let object = pb_v1::HorizontalPodAutoscaler {
            metadata: Some(new_meta("web")),
            spec: Some(pb_v1::HorizontalPodAutoscalerSpec {
                scale_target_ref: Some(pb_v1::CrossVersionObjectReference {
                    kind: s("Deployment"),
                    name: s("web"),
                    api_version: s("apps/v1"),
                }),
                min_replicas: Some(1),
                max_replicas: Some(10),
                target_cpu_utilization_percentage: Some(75),
            }),
            status: Some(pb_v1::HorizontalPodAutoscalerStatus {
                observed_generation: Some(0),
                current_replicas: Some(0),
                desired_replicas: Some(0),
                ..Default::default()
            }),
        };
        check::<openapi_v1::HorizontalPodAutoscaler>(
            &body("autoscaling/v1", "HorizontalPodAutoscaler", &object),
            json!({
                "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "web", "creationTimestamp": null},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                         "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 75},
                "status": {"currentReplicas": 0, "desiredReplicas": 0}
            }),
        );
    }

    #[test]
    fn horizontal_pod_autoscaler_v2() {
        let quantity = |q: &str| Some(Quantity { string: s(q) });
        let object = pb_v2::HorizontalPodAutoscaler {
            metadata: Some(new_meta("web")),
            spec: Some(pb_v2::HorizontalPodAutoscalerSpec {
                scale_target_ref: Some(pb_v2::CrossVersionObjectReference {
                    kind: s("Deployment"),
                    name: s("web"),
                    api_version: s("apps/v1"),
                }),
                min_replicas: Some(2),
                max_replicas: Some(8),
                metrics: vec![
                    pb_v2::MetricSpec {
                        r#type: s("Resource"),
                        resource: Some(pb_v2::ResourceMetricSource {
                            name: s("cpu"),
                            target: Some(pb_v2::MetricTarget {
                                r#type: s("Utilization"),
                                average_utilization: Some(60),
                                ..Default::default()
                            }),
                        }),
                        ..Default::default()
                    },
                    pb_v2::MetricSpec {
                        r#type: s("Pods"),
                        pods: Some(pb_v2::PodsMetricSource {
                            metric: Some(pb_v2::MetricIdentifier {
                                name: s("requests_per_second"),
                                selector: None,
                            }),
                            target: Some(pb_v2::MetricTarget {
                                r#type: s("AverageValue"),
                                average_value: quantity("1k"),
                                ..Default::default()
                            }),
                        }),
                        ..Default::default()
                    },
                ],
                behavior: Some(pb_v2::HorizontalPodAutoscalerBehavior {
                    scale_up: None,
                    scale_down: Some(pb_v2::HpaScalingRules {
                        stabilization_window_seconds: Some(0),
                        select_policy: s("Min"),
                        policies: vec![pb_v2::HpaScalingPolicy {
                            r#type: s("Percent"),
                            value: Some(10),
                            period_seconds: Some(60),
                        }],
                        tolerance: None,
                    }),
                }),
            }),
            status: Some(pb_v2::HorizontalPodAutoscalerStatus {
                current_replicas: Some(0),
                desired_replicas: Some(0),
                ..Default::default()
            }),
        };
        check::<openapi_v2::HorizontalPodAutoscaler>(
            &body("autoscaling/v2", "HorizontalPodAutoscaler", &object),
            json!({
                "kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                "metadata": {"name": "web", "creationTimestamp": null},
                "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                    "minReplicas": 2, "maxReplicas": 8,
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 60}}},
                        {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                            "target": {"type": "AverageValue", "averageValue": "1k"}}}
                    ],
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Min",
                        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}
                },
                "status": {"desiredReplicas": 0}
            }),
        );
    }
}
