//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's log, streamed from the
//! agent of the pod's node, as the kube-apiserver proxies it from the kubelet.
//!
//! Parts: [`log`] (the handler) picks the container ([`pick_container`], with the
//! apiserver's defaulting and messages), checks and forwards the log parameters
//! ([`forward_query`]), finds the node's agent ([`address`](crate::agents::address)) and relays its answer —
//! status, content type and body, unbuffered, so `kubectl logs -f` sees lines live.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::state::ApiState;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

/// How long connecting to a node's agent may take before the node counts as unreachable
/// (an agent on a live node accepts at once; a dead address should fail fast).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the agent may take to start answering (it answers before reading any file).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The annotation naming the container `kubectl logs` and `exec` use by default.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Log parameters passed on to the agent, in the order they are forwarded.
const FORWARDED: [&str; 7] = [
    "follow",
    "previous",
    "timestamps",
    "tailLines",
    "sinceSeconds",
    "sinceTime",
    "limitBytes",
];

type AgentClient = Client<HttpConnector, Empty<Bytes>>;

/// One pooled client for every log request to every agent.
fn client() -> &'static AgentClient {
    static CLIENT: OnceLock<AgentClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        Client::builder(TokioExecutor::new()).build(connector)
    })
}

/// The handler: reads the pod, picks the container, and relays the log from its node.
pub async fn log(
    state: &ApiState,
    target: &ResourcePath,
    params: &HashMap<String, String>,
) -> ApiResult<Response> {
    let name = target.require_name()?;
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let pod = state.read(target.kind, &target.key()?, name).await?.object;
    let container = pick_container(&pod, name, params.get("container").map(String::as_str))?;
    let query = forward_query(name, params)?;
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
            ))
        })?;
    let nodes = skiff_model::kinds::find("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("the nodes resource is not registered"))?;
    let node = state
        .read(nodes, &nodes.key(None, node_name), node_name)
        .await?
        .object;
    let address = crate::agents::address(&node).ok_or_else(|| {
        ApiError::service_unavailable(format!(
            "node \"{node_name}\" has no address and port for its agent in its status"
        ))
    })?;
    let uri = format!("http://{address}/containerLogs/{namespace}/{name}/{container}{query}");
    let uri = uri
        .parse()
        .map_err(|e| ApiError::bad_request(format!("cannot address the log at {uri}: {e}")))?;
    let unreachable = |cause: String| {
        ApiError::service_unavailable(format!(
            "the agent of node \"{node_name}\" at {address} cannot be reached: {cause}"
        ))
    };
    let upstream = tokio::time::timeout(RESPONSE_TIMEOUT, client().get(uri))
        .await
        .map_err(|_| unreachable(format!("no answer within {RESPONSE_TIMEOUT:?}")))?
        .map_err(|e| unreachable(causes(&e)))?;
    let mut response = Response::builder().status(upstream.status());
    if let Some(content_type) = upstream.headers().get(CONTENT_TYPE) {
        response = response.header(CONTENT_TYPE, content_type);
    }
    response
        .body(Body::new(upstream.into_body()))
        .map_err(ApiError::internal)
}

/// The container a log request is for: the `container` parameter if given (any of the
/// pod's containers, init and ephemeral ones included); else the only container; else the
/// one the default-container annotation names; else a 400 listing the choices.
pub fn pick_container(pod: &Value, pod_name: &str, asked: Option<&str>) -> ApiResult<String> {
    let names = |field: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name")?.as_str().map(String::from))
            .collect()
    };
    let containers = names("containers");
    let init = names("initContainers");
    let exists = |name: &str| {
        containers.iter().chain(&init).any(|c| c == name)
            || names("ephemeralContainers").iter().any(|c| c == name)
    };
    if let Some(asked) = asked.filter(|a| !a.is_empty()) {
        if exists(asked) {
            return Ok(asked.to_string());
        }
        return Err(ApiError::bad_request(format!(
            "container {asked} is not valid for pod {pod_name}"
        )));
    }
    if let [only] = containers.as_slice() {
        return Ok(only.clone());
    }
    let annotated = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
        .and_then(Value::as_str)
        .filter(|name| exists(name));
    if let Some(name) = annotated {
        return Ok(name.to_string());
    }
    if containers.is_empty() {
        return Err(ApiError::bad_request(format!(
            "no containers found for pod {pod_name}"
        )));
    }
    let mut message = format!(
        "a container name must be specified for pod {pod_name}, choose one of: [{}]",
        containers.join(" ")
    );
    if !init.is_empty() {
        let _ = write!(
            message,
            " or one of the init containers: [{}]",
            init.join(" ")
        );
    }
    Err(ApiError::bad_request(message))
}

/// Checks the log parameters as the apiserver does (a number that does not parse is a
/// 400; one out of range makes the `PodLogOptions` invalid, a 422) and returns those to
/// forward as a query string (`?...`, or empty).
pub fn forward_query(pod_name: &str, params: &HashMap<String, String>) -> ApiResult<String> {
    let mut causes = Vec::new();
    for (name, min) in [("tailLines", 0), ("sinceSeconds", 1), ("limitBytes", 1)] {
        let Some(value) = params.get(name) else {
            continue;
        };
        let number: i64 = value.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "{name}: invalid value {value:?}: must be an integer"
            ))
        })?;
        if number < min {
            let bound = if min == 0 {
                "must be greater than or equal to 0"
            } else {
                "must be greater than 0"
            };
            causes.push(skiff_model::field::FieldCause {
                kind: "FieldValueInvalid",
                field: name.to_string(),
                message: format!("Invalid value: {number}: {bound}"),
            });
        }
    }
    if params.contains_key("sinceSeconds") && params.contains_key("sinceTime") {
        causes.push(skiff_model::field::FieldCause {
            kind: "FieldValueForbidden",
            field: String::new(),
            message: "at most one of sinceTime or sinceSeconds may be specified".to_string(),
        });
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("PodLogOptions", pod_name, causes));
    }
    let mut query = String::new();
    for name in FORWARDED {
        if let Some(value) = params.get(name) {
            query.push(if query.is_empty() { '?' } else { '&' });
            query.push_str(name);
            query.push('=');
            percent_encode(value, &mut query);
        }
    }
    Ok(query)
}

/// An error and its sources, joined (a client error alone says little, e.g. `Connect`).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Appends `value` percent-encoded for a query string (unreserved characters kept).
fn percent_encode(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: &[&str], init: &[&str], default: Option<&str>) -> Value {
        let list = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>();
        let mut pod = json!({"metadata": {"name": "p"},
            "spec": {"containers": list(containers), "initContainers": list(init)}});
        if let Some(default) = default {
            pod["metadata"]["annotations"] = json!({DEFAULT_CONTAINER_ANNOTATION: default});
        }
        pod
    }

    #[test]
    fn picks_containers_like_the_apiserver() {
        let message = |r: ApiResult<String>| r.expect_err("an error").message;
        assert_eq!(
            pick_container(&pod(&["a"], &[], None), "p", None).ok(),
            Some("a".into())
        );
        assert_eq!(
            pick_container(&pod(&["a", "b"], &["i"], Some("b")), "p", None).ok(),
            Some("b".into())
        );
        assert_eq!(
            pick_container(&pod(&["a", "b"], &["i"], None), "p", Some("i")).ok(),
            Some("i".into())
        );
        assert_eq!(
            message(pick_container(&pod(&["a", "b"], &[], None), "p", None)),
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(
            message(pick_container(
                &pod(&["a", "b"], &["i", "j"], Some("zz")),
                "p",
                None
            )),
            "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i j]"
        );
        assert_eq!(
            message(pick_container(&pod(&["a"], &[], None), "p", Some("x"))),
            "container x is not valid for pod p"
        );
    }

    #[test]
    fn forwards_log_parameters_only_and_encoded() {
        let params: HashMap<String, String> = [
            ("container", "c"),
            ("follow", "true"),
            ("tailLines", "10"),
            ("sinceTime", "2024-01-01T00:00:00+02:00"),
            ("pretty", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            forward_query("p", &params).expect("valid"),
            "?follow=true&tailLines=10&sinceTime=2024-01-01T00%3A00%3A00%2B02%3A00"
        );
        let bad = |k: &str, v: &str| {
            let params = HashMap::from([(k.to_string(), v.to_string())]);
            forward_query("p", &params).expect_err("invalid").code
        };
        assert_eq!(bad("tailLines", "x"), 400);
        assert_eq!(bad("tailLines", "-1"), 422);
        assert_eq!(bad("limitBytes", "0"), 422);
    }
}
