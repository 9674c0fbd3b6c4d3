//! `core/v1` Container and its parts: ports, env and envFrom with their selectors,
//! resources, resize policy, volume mounts and devices. Probes, lifecycle hooks and the
//! security context have their own files.

use super::schema::{
    Field,
    Type::{Bool, I32, Quantity, Str},
    inline, keep, list, map, msg, msgs, opt,
};

/// `core/v1` Container.
pub(crate) const CONTAINER: &[Field] = &[
    keep(1, "name", Str),
    opt(2, "image", Str),
    list(3, "command", Str),
    list(4, "args", Str),
    opt(5, "workingDir", Str),
    msgs(6, "ports", CONTAINER_PORT),
    msgs(19, "envFrom", ENV_FROM_SOURCE),
    msgs(7, "env", ENV_VAR),
    msg(8, "resources", RESOURCE_REQUIREMENTS),
    msgs(23, "resizePolicy", CONTAINER_RESIZE_POLICY),
    keep(24, "restartPolicy", Str),
    msgs(9, "volumeMounts", VOLUME_MOUNT),
    msgs(21, "volumeDevices", VOLUME_DEVICE),
    msg(10, "livenessProbe", super::probe::PROBE),
    msg(11, "readinessProbe", super::probe::PROBE),
    msg(22, "startupProbe", super::probe::PROBE),
    msg(12, "lifecycle", super::probe::LIFECYCLE),
    opt(13, "terminationMessagePath", Str),
    opt(20, "terminationMessagePolicy", Str),
    opt(14, "imagePullPolicy", Str),
    msg(15, "securityContext", super::security::SECURITY_CONTEXT),
    opt(16, "stdin", Bool),
    opt(17, "stdinOnce", Bool),
    opt(18, "tty", Bool),
];

/// `core/v1` ContainerPort.
pub(crate) const CONTAINER_PORT: &[Field] = &[
    opt(1, "name", Str),
    opt(2, "hostPort", I32),
    keep(3, "containerPort", I32),
    opt(4, "protocol", Str),
    opt(5, "hostIP", Str),
];

/// `core/v1` EnvFromSource.
pub(crate) const ENV_FROM_SOURCE: &[Field] = &[
    opt(1, "prefix", Str),
    msg(2, "configMapRef", CONFIG_MAP_ENV_SOURCE),
    msg(3, "secretRef", SECRET_ENV_SOURCE),
];

/// `core/v1` ConfigMapEnvSource.
pub(crate) const CONFIG_MAP_ENV_SOURCE: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    keep(2, "optional", Bool),
];

/// `core/v1` SecretEnvSource.
pub(crate) const SECRET_ENV_SOURCE: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    keep(2, "optional", Bool),
];

/// `core/v1` EnvVar.
pub(crate) const ENV_VAR: &[Field] = &[
    keep(1, "name", Str),
    opt(2, "value", Str),
    msg(3, "valueFrom", ENV_VAR_SOURCE),
];

/// `core/v1` EnvVarSource.
pub(crate) const ENV_VAR_SOURCE: &[Field] = &[
    msg(1, "fieldRef", OBJECT_FIELD_SELECTOR),
    msg(2, "resourceFieldRef", RESOURCE_FIELD_SELECTOR),
    msg(3, "configMapKeyRef", CONFIG_MAP_KEY_SELECTOR),
    msg(4, "secretKeyRef", SECRET_KEY_SELECTOR),
];

/// `core/v1` ConfigMapKeySelector.
pub(crate) const CONFIG_MAP_KEY_SELECTOR: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    keep(2, "key", Str),
    keep(3, "optional", Bool),
];

/// `core/v1` SecretKeySelector.
pub(crate) const SECRET_KEY_SELECTOR: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    keep(2, "key", Str),
    keep(3, "optional", Bool),
];

/// `core/v1` ObjectFieldSelector.
pub(crate) const OBJECT_FIELD_SELECTOR: &[Field] =
    &[opt(1, "apiVersion", Str), keep(2, "fieldPath", Str)];

/// `core/v1` ResourceFieldSelector.
pub(crate) const RESOURCE_FIELD_SELECTOR: &[Field] = &[
    opt(1, "containerName", Str),
    keep(2, "resource", Str),
    keep(3, "divisor", Quantity),
];

/// `core/v1` ResourceRequirements.
pub(crate) const RESOURCE_REQUIREMENTS: &[Field] = &[
    map(1, "limits", Quantity),
    map(2, "requests", Quantity),
    msgs(3, "claims", RESOURCE_CLAIM),
];

/// `core/v1` ResourceClaim.
pub(crate) const RESOURCE_CLAIM: &[Field] = &[keep(1, "name", Str), opt(2, "request", Str)];

/// `core/v1` ContainerResizePolicy.
pub(crate) const CONTAINER_RESIZE_POLICY: &[Field] =
    &[keep(1, "resourceName", Str), keep(2, "restartPolicy", Str)];

/// `core/v1` VolumeMount.
pub(crate) const VOLUME_MOUNT: &[Field] = &[
    keep(1, "name", Str),
    opt(2, "readOnly", Bool),
    keep(7, "recursiveReadOnly", Str),
    keep(3, "mountPath", Str),
    opt(4, "subPath", Str),
    keep(5, "mountPropagation", Str),
    opt(6, "subPathExpr", Str),
];

/// `core/v1` VolumeDevice.
pub(crate) const VOLUME_DEVICE: &[Field] = &[keep(1, "name", Str), keep(2, "devicePath", Str)];
