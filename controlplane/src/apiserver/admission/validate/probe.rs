//! Validation of a container's probes: one handler each, Kubernetes' bounds on the timings,
//! and no `exec` or `grpc` handler — a wasm container has no processes to exec and its
//! HTTP server is probed in-process, so only `httpGet` and `tcpSocket` can be honoured.

use super::cause::invalid;
use serde_json::Value;
use skiff_model::field::FieldCause;

/// The probes a container may have.
const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];

/// Checks the probes of the container at `at` (e.g. `spec.containers[0]`).
pub(super) fn check(at: &str, container: &Value, causes: &mut Vec<FieldCause>) {
    for name in PROBES {
        let Some(probe) = container.get(*name).filter(|p| p.is_object()) else {
            continue;
        };
        let path = format!("{at}.{name}");
        let present = |handler: &str| probe.get(handler).is_some_and(|h| !h.is_null());
        if present("exec") {
            causes.push(forbidden(
                &format!("{path}.exec"),
                "exec probes are not supported: a wasm container has no processes to exec; \
                 use httpGet or tcpSocket",
            ));
        }
        if present("grpc") {
            causes.push(forbidden(
                &format!("{path}.grpc"),
                "grpc probes are not supported in Skiff; use httpGet or tcpSocket",
            ));
        }
        let handlers = ["exec", "grpc", "httpGet", "tcpSocket"]
            .iter()
            .filter(|h| present(h))
            .count();
        if handlers == 0 {
            causes.push(FieldCause {
                kind: "FieldValueRequired",
                field: path.clone(),
                message: "Required value: must specify a handler type".into(),
            });
        } else if handlers > 1 {
            causes.push(forbidden(&path, "may not specify more than 1 handler type"));
        }
        let int = |field: &str| probe.get(field).and_then(Value::as_i64);
        if let Some(n) = int("initialDelaySeconds").filter(|n| *n < 0) {
            causes.push(invalid(
                &format!("{path}.initialDelaySeconds"),
                &format!("Invalid value: {n}: must be greater than or equal to 0"),
            ));
        }
        for field in [
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            if let Some(n) = int(field).filter(|n| *n < 1) {
                causes.push(invalid(
                    &format!("{path}.{field}"),
                    &format!("Invalid value: {n}: must be greater than or equal to 1"),
                ));
            }
        }
        if *name != "readinessProbe"
            && let Some(n) = int("successThreshold").filter(|n| *n > 1)
        {
            causes.push(invalid(
                &format!("{path}.successThreshold"),
                &format!("Invalid value: {n}: must be 1"),
            ));
        }
    }
}

fn forbidden(field: &str, why: &str) -> FieldCause {
    FieldCause {
        kind: "FieldValueForbidden",
        field: field.to_string(),
        message: format!("Forbidden: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(container: Value) -> Vec<String> {
        let mut causes = Vec::new();
        check("spec.containers[0]", &container, &mut causes);
        causes.into_iter().map(|c| c.field).collect()
    }

    #[test]
    fn exec_and_grpc_probes_are_refused() {
        assert_eq!(
            fields(json!({"livenessProbe": {"exec": {"command": ["true"]}}})),
            ["spec.containers[0].livenessProbe.exec"]
        );
        assert_eq!(
            fields(json!({"readinessProbe": {"grpc": {"port": 9000}}})),
            ["spec.containers[0].readinessProbe.grpc"]
        );
    }

    #[test]
    fn http_and_tcp_probes_pass_with_sane_timings() {
        assert!(
            fields(json!({
                "livenessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5},
                "readinessProbe": {"tcpSocket": {"port": "http"}, "successThreshold": 2},
            }))
            .is_empty()
        );
        assert_eq!(
            fields(
                json!({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2,
                           "periodSeconds": 0}})
            ),
            [
                "spec.containers[0].livenessProbe.periodSeconds",
                "spec.containers[0].livenessProbe.successThreshold"
            ]
        );
        assert_eq!(
            fields(json!({"startupProbe": {}})),
            ["spec.containers[0].startupProbe"]
        );
    }
}
