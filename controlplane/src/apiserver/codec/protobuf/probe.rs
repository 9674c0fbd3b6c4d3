//! `core/v1` probes and lifecycle hooks: Probe, Lifecycle, and the exec, HTTP GET, TCP,
//! gRPC and sleep actions they run.

use super::schema::{
    Field,
    Type::{I32, I64, IntOrString, Str},
    inline, keep, list, msg, msgs, opt,
};

/// `core/v1` Probe.
pub(crate) const PROBE: &[Field] = &[
    inline(1, PROBE_HANDLER),
    opt(2, "initialDelaySeconds", I32),
    opt(3, "timeoutSeconds", I32),
    opt(4, "periodSeconds", I32),
    opt(5, "successThreshold", I32),
    opt(6, "failureThreshold", I32),
    keep(7, "terminationGracePeriodSeconds", I64),
];

/// `core/v1` ProbeHandler.
pub(crate) const PROBE_HANDLER: &[Field] = &[
    msg(1, "exec", EXEC_ACTION),
    msg(2, "httpGet", HTTP_GET_ACTION),
    msg(3, "tcpSocket", TCP_SOCKET_ACTION),
    msg(4, "grpc", GRPC_ACTION),
];

/// `core/v1` ExecAction.
pub(crate) const EXEC_ACTION: &[Field] = &[list(1, "command", Str)];

/// `core/v1` HttpGetAction.
pub(crate) const HTTP_GET_ACTION: &[Field] = &[
    opt(1, "path", Str),
    keep(2, "port", IntOrString),
    opt(3, "host", Str),
    opt(4, "scheme", Str),
    msgs(5, "httpHeaders", HTTP_HEADER),
];

/// `core/v1` HttpHeader.
pub(crate) const HTTP_HEADER: &[Field] = &[keep(1, "name", Str), keep(2, "value", Str)];

/// `core/v1` TcpSocketAction.
pub(crate) const TCP_SOCKET_ACTION: &[Field] = &[keep(1, "port", IntOrString), opt(2, "host", Str)];

/// `core/v1` GrpcAction.
pub(crate) const GRPC_ACTION: &[Field] = &[keep(1, "port", I32), keep(2, "service", Str)];

/// `core/v1` Lifecycle.
pub(crate) const LIFECYCLE: &[Field] = &[
    msg(1, "postStart", LIFECYCLE_HANDLER),
    msg(2, "preStop", LIFECYCLE_HANDLER),
    keep(3, "stopSignal", Str),
];

/// `core/v1` LifecycleHandler.
pub(crate) const LIFECYCLE_HANDLER: &[Field] = &[
    msg(1, "exec", EXEC_ACTION),
    msg(2, "httpGet", HTTP_GET_ACTION),
    msg(3, "tcpSocket", TCP_SOCKET_ACTION),
    msg(4, "sleep", SLEEP_ACTION),
];

/// `core/v1` SleepAction.
pub(crate) const SLEEP_ACTION: &[Field] = &[keep(1, "seconds", I64)];
