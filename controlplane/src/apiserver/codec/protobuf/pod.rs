//! `core/v1` Pod and PodTemplateSpec, and PodSpec with its pod-level parts: security
//! context, tolerations, host aliases, DNS config, topology spread, scheduling gates and resource
//! claims. Containers, volumes, affinity and security contexts have their own files.

use super::schema::{
    Field,
    Type::{Bool, I32, I64, Quantity, Str},
    keep, list, map, msg, msgs, opt, unsupported,
};

/// `core/v1` Pod.
pub(crate) const POD: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", POD_SPEC),
    msg(3, "status", POD_STATUS),
];

/// `core/v1` PodTemplateSpec.
pub(crate) const POD_TEMPLATE_SPEC: &[Field] = &[
    msg(1, "metadata", super::meta::OBJECT_META),
    msg(2, "spec", POD_SPEC),
];

/// `core/v1` PodSpec.
pub(crate) const POD_SPEC: &[Field] = &[
    msgs(1, "volumes", super::volume::VOLUME),
    msgs(20, "initContainers", super::container::CONTAINER),
    msgs(2, "containers", super::container::CONTAINER),
    unsupported(34, "ephemeralContainers"),
    opt(3, "restartPolicy", Str),
    keep(4, "terminationGracePeriodSeconds", I64),
    keep(5, "activeDeadlineSeconds", I64),
    opt(6, "dnsPolicy", Str),
    map(7, "nodeSelector", Str),
    opt(8, "serviceAccountName", Str),
    opt(9, "serviceAccount", Str),
    keep(21, "automountServiceAccountToken", Bool),
    opt(10, "nodeName", Str),
    opt(11, "hostNetwork", Bool),
    opt(12, "hostPID", Bool),
    opt(13, "hostIPC", Bool),
    keep(27, "shareProcessNamespace", Bool),
    msg(14, "securityContext", POD_SECURITY_CONTEXT),
    msgs(
        15,
        "imagePullSecrets",
        super::config::LOCAL_OBJECT_REFERENCE,
    ),
    opt(16, "hostname", Str),
    opt(17, "subdomain", Str),
    msg(18, "affinity", super::affinity::AFFINITY),
    opt(19, "schedulerName", Str),
    msgs(22, "tolerations", TOLERATION),
    msgs(23, "hostAliases", HOST_ALIAS),
    opt(24, "priorityClassName", Str),
    keep(25, "priority", I32),
    msg(26, "dnsConfig", POD_DNS_CONFIG),
    msgs(28, "readinessGates", POD_READINESS_GATE),
    keep(29, "runtimeClassName", Str),
    keep(30, "enableServiceLinks", Bool),
    keep(31, "preemptionPolicy", Str),
    map(32, "overhead", Quantity),
    msgs(33, "topologySpreadConstraints", TOPOLOGY_SPREAD_CONSTRAINT),
    keep(35, "setHostnameAsFQDN", Bool),
    msg(36, "os", POD_OS),
    keep(37, "hostUsers", Bool),
    msgs(38, "schedulingGates", POD_SCHEDULING_GATE),
    msgs(39, "resourceClaims", POD_RESOURCE_CLAIM),
    msg(40, "resources", super::container::RESOURCE_REQUIREMENTS),
];

/// `core/v1` PodSecurityContext.
pub(crate) const POD_SECURITY_CONTEXT: &[Field] = &[
    msg(1, "seLinuxOptions", super::security::SE_LINUX_OPTIONS),
    msg(
        8,
        "windowsOptions",
        super::security::WINDOWS_SECURITY_CONTEXT_OPTIONS,
    ),
    keep(2, "runAsUser", I64),
    keep(6, "runAsGroup", I64),
    keep(3, "runAsNonRoot", Bool),
    list(4, "supplementalGroups", I64),
    keep(12, "supplementalGroupsPolicy", Str),
    keep(5, "fsGroup", I64),
    msgs(7, "sysctls", SYSCTL),
    keep(9, "fsGroupChangePolicy", Str),
    msg(10, "seccompProfile", super::security::SECCOMP_PROFILE),
    msg(11, "appArmorProfile", super::security::APP_ARMOR_PROFILE),
    keep(13, "seLinuxChangePolicy", Str),
];

/// `core/v1` Sysctl.
pub(crate) const SYSCTL: &[Field] = &[keep(1, "name", Str), keep(2, "value", Str)];

/// `core/v1` Toleration.
pub(crate) const TOLERATION: &[Field] = &[
    opt(1, "key", Str),
    opt(2, "operator", Str),
    opt(3, "value", Str),
    opt(4, "effect", Str),
    keep(5, "tolerationSeconds", I64),
];

/// `core/v1` HostAlias.
pub(crate) const HOST_ALIAS: &[Field] = &[keep(1, "ip", Str), list(2, "hostnames", Str)];

/// `core/v1` PodDnsConfig.
pub(crate) const POD_DNS_CONFIG: &[Field] = &[
    list(1, "nameservers", Str),
    list(2, "searches", Str),
    msgs(3, "options", POD_DNS_CONFIG_OPTION),
];

/// `core/v1` PodDnsConfigOption.
pub(crate) const POD_DNS_CONFIG_OPTION: &[Field] = &[opt(1, "name", Str), keep(2, "value", Str)];

/// `core/v1` PodReadinessGate.
pub(crate) const POD_READINESS_GATE: &[Field] = &[keep(1, "conditionType", Str)];

/// `core/v1` TopologySpreadConstraint.
pub(crate) const TOPOLOGY_SPREAD_CONSTRAINT: &[Field] = &[
    keep(1, "maxSkew", I32),
    keep(2, "topologyKey", Str),
    keep(3, "whenUnsatisfiable", Str),
    msg(4, "labelSelector", super::meta::LABEL_SELECTOR),
    keep(5, "minDomains", I32),
    keep(6, "nodeAffinityPolicy", Str),
    keep(7, "nodeTaintsPolicy", Str),
    list(8, "matchLabelKeys", Str),
];

/// `core/v1` PodOs.
pub(crate) const POD_OS: &[Field] = &[keep(1, "name", Str)];

/// `core/v1` PodSchedulingGate.
pub(crate) const POD_SCHEDULING_GATE: &[Field] = &[keep(1, "name", Str)];

/// `core/v1` PodResourceClaim.
pub(crate) const POD_RESOURCE_CLAIM: &[Field] = &[
    keep(1, "name", Str),
    keep(3, "resourceClaimName", Str),
    keep(4, "resourceClaimTemplateName", Str),
];

/// `core/v1` PodStatus: dropped, as the API server does when a pod is created.
pub(crate) const POD_STATUS: &[Field] = &[];

#[cfg(test)]
mod tests {
    use crate::apiserver::codec::protobuf::tests::{body, check, new_meta, s, strings};
    use k8s_openapi::api::core::v1 as openapi;
    use k8s_pb::api::core::v1 as pb;
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    fn quantities(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Quantity { string: s(v) }))
            .collect()
    }

    fn app_container() -> pb::Container {
        pb::Container {
            name: s("app"),
            image: s("registry.example/app:v1"),
            command: vec!["/app".to_owned()],
            args: vec!["serve".to_owned(), "--port=8080".to_owned()],
            working_dir: s("/srv"),
            ports: vec![pb::ContainerPort {
                name: s("http"),
                host_port: Some(0),
                container_port: Some(8080),
                protocol: s("TCP"),
                host_ip: s(""),
            }],
            env_from: vec![pb::EnvFromSource {
                prefix: s(""),
                config_map_ref: Some(pb::ConfigMapEnvSource {
                    local_object_reference: Some(pb::LocalObjectReference { name: s("app-env") }),
                    optional: Some(true),
                }),
                secret_ref: None,
            }],
            env: vec![
                pb::EnvVar {
                    name: s("MODE"),
                    value: s("production"),
                    value_from: None,
                },
                pb::EnvVar {
                    name: s("TOKEN"),
                    value: s(""),
                    value_from: Some(pb::EnvVarSource {
                        secret_key_ref: Some(pb::SecretKeySelector {
                            local_object_reference: Some(pb::LocalObjectReference {
                                name: s("app-secret"),
                            }),
                            key: s("token"),
                            optional: None,
                        }),
                        ..Default::default()
                    }),
                },
                pb::EnvVar {
                    name: s("NODE"),
                    value: None,
                    value_from: Some(pb::EnvVarSource {
                        field_ref: Some(pb::ObjectFieldSelector {
                            api_version: s("v1"),
                            field_path: s("spec.nodeName"),
                        }),
                        ..Default::default()
                    }),
                },
            ],
            resources: Some(pb::ResourceRequirements {
                limits: quantities(&[("cpu", "500m"), ("memory", "256Mi")]),
                requests: quantities(&[("cpu", "100m")]),
                claims: vec![],
            }),
            volume_mounts: vec![
                pb::VolumeMount {
                    name: s("data"),
                    mount_path: s("/data"),
                    ..Default::default()
                },
                pb::VolumeMount {
                    name: s("config"),
                    read_only: Some(true),
                    mount_path: s("/etc/app"),
                    ..Default::default()
                },
            ],
            liveness_probe: Some(pb::Probe {
                handler: Some(pb::ProbeHandler {
                    http_get: Some(pb::HttpGetAction {
                        path: s("/healthz"),
                        port: Some(IntOrString {
                            r#type: Some(1),
                            int_val: Some(0),
                            str_val: s("http"),
                        }),
                        host: s(""),
                        scheme: s("HTTP"),
                        http_headers: vec![],
                    }),
                    ..Default::default()
                }),
                initial_delay_seconds: Some(5),
                timeout_seconds: Some(1),
                period_seconds: Some(10),
                success_threshold: Some(1),
                failure_threshold: Some(3),
                termination_grace_period_seconds: None,
            }),
            readiness_probe: Some(pb::Probe {
                handler: Some(pb::ProbeHandler {
                    tcp_socket: Some(pb::TcpSocketAction {
                        port: Some(IntOrString {
                            r#type: Some(0),
                            int_val: Some(8080),
                            str_val: s(""),
                        }),
                        host: s(""),
                    }),
                    ..Default::default()
                }),
                period_seconds: Some(2),
                ..Default::default()
            }),
            termination_message_path: s("/dev/termination-log"),
            termination_message_policy: s("File"),
            image_pull_policy: s("IfNotPresent"),
            security_context: Some(pb::SecurityContext {
                capabilities: Some(pb::Capabilities {
                    add: vec![],
                    drop: vec!["ALL".to_owned()],
                }),
                run_as_user: Some(0),
                read_only_root_filesystem: Some(true),
                ..Default::default()
            }),
            stdin: Some(false),
            stdin_once: Some(false),
            tty: Some(false),
            ..Default::default()
        }
    }

    fn volume(name: &str, source: pb::VolumeSource) -> pb::Volume {
        pb::Volume {
            name: s(name),
            volume_source: Some(source),
        }
    }

    #[test]
    fn pod() {
        let object = pb::Pod {
            metadata: Some(meta::ObjectMeta {
                namespace: s("default"),
                generate_name: s("web-"),
                labels: strings(&[("app", "web")]),
                annotations: strings(&[("skiff.dev/runtime", "wasm")]),
                owner_references: vec![meta::OwnerReference {
                    api_version: s("apps/v1"),
                    kind: s("ReplicaSet"),
                    name: s("web-7d9f"),
                    uid: s("9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }],
                finalizers: vec!["example.com/protect".to_owned()],
                deletion_grace_period_seconds: Some(0),
                ..new_meta("")
            }),
            spec: Some(pb::PodSpec {
                volumes: vec![
                    volume(
                        "data",
                        pb::VolumeSource {
                            empty_dir: Some(pb::EmptyDirVolumeSource {
                                medium: s(""),
                                size_limit: None,
                            }),
                            ..Default::default()
                        },
                    ),
                    volume(
                        "config",
                        pb::VolumeSource {
                            config_map: Some(pb::ConfigMapVolumeSource {
                                local_object_reference: Some(pb::LocalObjectReference {
                                    name: s("app-config"),
                                }),
                                items: vec![pb::KeyToPath {
                                    key: s("app.conf"),
                                    path: s("app.conf"),
                                    mode: None,
                                }],
                                default_mode: Some(420),
                                optional: None,
                            }),
                            ..Default::default()
                        },
                    ),
                    volume(
                        "tls",
                        pb::VolumeSource {
                            secret: Some(pb::SecretVolumeSource {
                                secret_name: s("web-tls"),
                                items: vec![],
                                default_mode: Some(0o400),
                                optional: Some(false),
                            }),
                            ..Default::default()
                        },
                    ),
                    volume(
                        "logs",
                        pb::VolumeSource {
                            host_path: Some(pb::HostPathVolumeSource {
                                path: s("/var/log/web"),
                                r#type: s("DirectoryOrCreate"),
                            }),
                            ..Default::default()
                        },
                    ),
                ],
                init_containers: vec![pb::Container {
                    name: s("init"),
                    image: s("busybox"),
                    command: vec!["sh".to_owned(), "-c".to_owned(), "true".to_owned()],
                    resources: Some(pb::ResourceRequirements::default()),
                    ..Default::default()
                }],
                containers: vec![app_container()],
                restart_policy: s("Always"),
                termination_grace_period_seconds: Some(0),
                active_deadline_seconds: Some(3600),
                dns_policy: s("ClusterFirst"),
                node_selector: strings(&[("kubernetes.io/os", "linux")]),
                service_account_name: s("web"),
                node_name: s("node-1"),
                host_network: Some(false),
                security_context: Some(pb::PodSecurityContext::default()),
                scheduler_name: s("default-scheduler"),
                tolerations: vec![pb::Toleration {
                    key: s("node.kubernetes.io/not-ready"),
                    operator: s("Exists"),
                    value: s(""),
                    effect: s("NoExecute"),
                    toleration_seconds: Some(300),
                }],
                affinity: Some(pb::Affinity {
                    node_affinity: Some(pb::NodeAffinity {
                        required_during_scheduling_ignored_during_execution: Some(
                            pb::NodeSelector {
                                node_selector_terms: vec![pb::NodeSelectorTerm {
                                    match_expressions: vec![pb::NodeSelectorRequirement {
                                        key: s("topology.kubernetes.io/zone"),
                                        operator: s("In"),
                                        values: vec!["a".to_owned(), "b".to_owned()],
                                    }],
                                    match_fields: vec![],
                                }],
                            },
                        ),
                        preferred_during_scheduling_ignored_during_execution: vec![],
                    }),
                    pod_affinity: None,
                    pod_anti_affinity: None,
                }),
                enable_service_links: Some(true),
                ..Default::default()
            }),
            status: Some(pb::PodStatus {
                phase: s("Pending"),
                ..Default::default()
            }),
        };
        check::<openapi::Pod>(
            &body("v1", "Pod", &object),
            json!({
                "kind": "Pod", "apiVersion": "v1",
                "metadata": {
                    "generateName": "web-", "namespace": "default", "creationTimestamp": null,
                    "deletionGracePeriodSeconds": 0,
                    "labels": {"app": "web"},
                    "annotations": {"skiff.dev/runtime": "wasm"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f",
                                         "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                                         "controller": true, "blockOwnerDeletion": true}],
                    "finalizers": ["example.com/protect"]
                },
                "spec": {
                    "volumes": [
                        {"name": "data", "emptyDir": {}},
                        {"name": "config", "configMap": {"name": "app-config",
                            "items": [{"key": "app.conf", "path": "app.conf"}], "defaultMode": 420}},
                        {"name": "tls", "secret": {"secretName": "web-tls", "defaultMode": 256, "optional": false}},
                        {"name": "logs", "hostPath": {"path": "/var/log/web", "type": "DirectoryOrCreate"}}
                    ],
                    "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"],
                                        "resources": {}}],
                    "containers": [{
                        "name": "app",
                        "image": "registry.example/app:v1",
                        "command": ["/app"],
                        "args": ["serve", "--port=8080"],
                        "workingDir": "/srv",
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "envFrom": [{"configMapRef": {"name": "app-env", "optional": true}}],
                        "env": [
                            {"name": "MODE", "value": "production"},
                            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "token"}}},
                            {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}
                        ],
                        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m"}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                         {"name": "config", "readOnly": true, "mountPath": "/etc/app"}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                          "initialDelaySeconds": 5, "timeoutSeconds": 1, "periodSeconds": 10,
                                          "successThreshold": 1, "failureThreshold": 3},
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 2},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent",
                        "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 0,
                                            "readOnlyRootFilesystem": true}
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 0,
                    "activeDeadlineSeconds": 3600,
                    "dnsPolicy": "ClusterFirst",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "serviceAccountName": "web",
                    "nodeName": "node-1",
                    "securityContext": {},
                    "schedulerName": "default-scheduler",
                    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                     "effect": "NoExecute", "tolerationSeconds": 300}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone",
                            "operator": "In", "values": ["a", "b"]}]}]}}},
                    "enableServiceLinks": true
                },
                "status": {}
            }),
        );
    }
}
