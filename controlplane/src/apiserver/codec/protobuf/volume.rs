//! `core/v1` Volume and the volume sources a Skiff pod can use: hostPath, emptyDir,
//! secret, persistentVolumeClaim, downwardAPI, configMap and projected. The other in-tree and
//! CSI sources are refused rather than dropped.

use super::schema::{
    Field,
    Type::{Bool, I32, I64, Quantity, Str},
    inline, keep, msg, msgs, opt, unsupported,
};

/// `core/v1` Volume.
pub(crate) const VOLUME: &[Field] = &[keep(1, "name", Str), inline(2, VOLUME_SOURCE)];

/// `core/v1` VolumeSource.
pub(crate) const VOLUME_SOURCE: &[Field] = &[
    msg(1, "hostPath", HOST_PATH_VOLUME_SOURCE),
    msg(2, "emptyDir", EMPTY_DIR_VOLUME_SOURCE),
    unsupported(3, "gcePersistentDisk"),
    unsupported(4, "awsElasticBlockStore"),
    unsupported(5, "gitRepo"),
    msg(6, "secret", SECRET_VOLUME_SOURCE),
    unsupported(7, "nfs"),
    unsupported(8, "iscsi"),
    unsupported(9, "glusterfs"),
    msg(
        10,
        "persistentVolumeClaim",
        PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE,
    ),
    unsupported(11, "rbd"),
    unsupported(12, "flexVolume"),
    unsupported(13, "cinder"),
    unsupported(14, "cephfs"),
    unsupported(15, "flocker"),
    msg(16, "downwardAPI", DOWNWARD_API_VOLUME_SOURCE),
    unsupported(17, "fc"),
    unsupported(18, "azureFile"),
    msg(19, "configMap", CONFIG_MAP_VOLUME_SOURCE),
    unsupported(20, "vsphereVolume"),
    unsupported(21, "quobyte"),
    unsupported(22, "azureDisk"),
    unsupported(23, "photonPersistentDisk"),
    msg(26, "projected", PROJECTED_VOLUME_SOURCE),
    unsupported(24, "portworxVolume"),
    unsupported(25, "scaleIO"),
    unsupported(27, "storageos"),
    unsupported(28, "csi"),
    unsupported(29, "ephemeral"),
    unsupported(30, "image"),
];

/// `core/v1` HostPathVolumeSource.
pub(crate) const HOST_PATH_VOLUME_SOURCE: &[Field] = &[keep(1, "path", Str), keep(2, "type", Str)];

/// `core/v1` EmptyDirVolumeSource.
pub(crate) const EMPTY_DIR_VOLUME_SOURCE: &[Field] =
    &[opt(1, "medium", Str), keep(2, "sizeLimit", Quantity)];

/// `core/v1` SecretVolumeSource.
pub(crate) const SECRET_VOLUME_SOURCE: &[Field] = &[
    opt(1, "secretName", Str),
    msgs(2, "items", KEY_TO_PATH),
    keep(3, "defaultMode", I32),
    keep(4, "optional", Bool),
];

/// `core/v1` KeyToPath.
pub(crate) const KEY_TO_PATH: &[Field] = &[
    keep(1, "key", Str),
    keep(2, "path", Str),
    keep(3, "mode", I32),
];

/// `core/v1` PersistentVolumeClaimVolumeSource.
pub(crate) const PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: &[Field] =
    &[keep(1, "claimName", Str), opt(2, "readOnly", Bool)];

/// `core/v1` DownwardAPIVolumeSource.
pub(crate) const DOWNWARD_API_VOLUME_SOURCE: &[Field] = &[
    msgs(1, "items", DOWNWARD_API_VOLUME_FILE),
    keep(2, "defaultMode", I32),
];

/// `core/v1` DownwardAPIVolumeFile.
pub(crate) const DOWNWARD_API_VOLUME_FILE: &[Field] = &[
    keep(1, "path", Str),
    msg(2, "fieldRef", super::container::OBJECT_FIELD_SELECTOR),
    msg(
        3,
        "resourceFieldRef",
        super::container::RESOURCE_FIELD_SELECTOR,
    ),
    keep(4, "mode", I32),
];

/// `core/v1` ConfigMapVolumeSource.
pub(crate) const CONFIG_MAP_VOLUME_SOURCE: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    msgs(2, "items", KEY_TO_PATH),
    keep(3, "defaultMode", I32),
    keep(4, "optional", Bool),
];

/// `core/v1` ProjectedVolumeSource.
pub(crate) const PROJECTED_VOLUME_SOURCE: &[Field] = &[
    msgs(1, "sources", VOLUME_PROJECTION),
    keep(2, "defaultMode", I32),
];

/// `core/v1` VolumeProjection.
pub(crate) const VOLUME_PROJECTION: &[Field] = &[
    msg(1, "secret", SECRET_PROJECTION),
    msg(2, "downwardAPI", DOWNWARD_API_PROJECTION),
    msg(3, "configMap", CONFIG_MAP_PROJECTION),
    msg(4, "serviceAccountToken", SERVICE_ACCOUNT_TOKEN_PROJECTION),
    msg(5, "clusterTrustBundle", CLUSTER_TRUST_BUNDLE_PROJECTION),
];

/// `core/v1` SecretProjection.
pub(crate) const SECRET_PROJECTION: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    msgs(2, "items", KEY_TO_PATH),
    keep(4, "optional", Bool),
];

/// `core/v1` DownwardAPIProjection.
pub(crate) const DOWNWARD_API_PROJECTION: &[Field] = &[msgs(1, "items", DOWNWARD_API_VOLUME_FILE)];

/// `core/v1` ConfigMapProjection.
pub(crate) const CONFIG_MAP_PROJECTION: &[Field] = &[
    inline(1, super::config::LOCAL_OBJECT_REFERENCE),
    msgs(2, "items", KEY_TO_PATH),
    keep(4, "optional", Bool),
];

/// `core/v1` ServiceAccountTokenProjection.
pub(crate) const SERVICE_ACCOUNT_TOKEN_PROJECTION: &[Field] = &[
    opt(1, "audience", Str),
    keep(2, "expirationSeconds", I64),
    keep(3, "path", Str),
];

/// `core/v1` ClusterTrustBundleProjection.
pub(crate) const CLUSTER_TRUST_BUNDLE_PROJECTION: &[Field] = &[
    keep(1, "name", Str),
    keep(2, "signerName", Str),
    msg(3, "labelSelector", super::meta::LABEL_SELECTOR),
    keep(5, "optional", Bool),
    keep(4, "path", Str),
];
