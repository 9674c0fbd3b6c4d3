//! `core/v1` container SecurityContext and the option messages it shares with
//! PodSecurityContext: capabilities, SELinux, Windows, seccomp and AppArmor.

use super::schema::{
    Field,
    Type::{Bool, I64, Str},
    keep, list, msg, opt,
};

/// `core/v1` SecurityContext.
pub(crate) const SECURITY_CONTEXT: &[Field] = &[
    msg(1, "capabilities", CAPABILITIES),
    keep(2, "privileged", Bool),
    msg(3, "seLinuxOptions", SE_LINUX_OPTIONS),
    msg(10, "windowsOptions", WINDOWS_SECURITY_CONTEXT_OPTIONS),
    keep(4, "runAsUser", I64),
    keep(8, "runAsGroup", I64),
    keep(5, "runAsNonRoot", Bool),
    keep(6, "readOnlyRootFilesystem", Bool),
    keep(7, "allowPrivilegeEscalation", Bool),
    keep(9, "procMount", Str),
    msg(11, "seccompProfile", SECCOMP_PROFILE),
    msg(12, "appArmorProfile", APP_ARMOR_PROFILE),
];

/// `core/v1` Capabilities.
pub(crate) const CAPABILITIES: &[Field] = &[list(1, "add", Str), list(2, "drop", Str)];

/// `core/v1` SeLinuxOptions.
pub(crate) const SE_LINUX_OPTIONS: &[Field] = &[
    opt(1, "user", Str),
    opt(2, "role", Str),
    opt(3, "type", Str),
    opt(4, "level", Str),
];

/// `core/v1` WindowsSecurityContextOptions.
pub(crate) const WINDOWS_SECURITY_CONTEXT_OPTIONS: &[Field] = &[
    keep(1, "gmsaCredentialSpecName", Str),
    keep(2, "gmsaCredentialSpec", Str),
    keep(3, "runAsUserName", Str),
    keep(4, "hostProcess", Bool),
];

/// `core/v1` SeccompProfile.
pub(crate) const SECCOMP_PROFILE: &[Field] =
    &[keep(1, "type", Str), keep(2, "localhostProfile", Str)];

/// `core/v1` AppArmorProfile.
pub(crate) const APP_ARMOR_PROFILE: &[Field] =
    &[keep(1, "type", Str), keep(2, "localhostProfile", Str)];
