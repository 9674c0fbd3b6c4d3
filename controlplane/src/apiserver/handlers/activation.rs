//! `Activation` (`autoscaling.skiff.dev/v1alpha1`): an agent holding requests for a
//! Service with no ready endpoint asks the control plane to scale it from zero. Create
//! only and never stored, like TokenReview: [`handle`] hands the demand to the
//! [`DemandHub`](crate::metrics::DemandHub), which wakes the request-driven autoscaler at
//! once, and answers `201` with who scales the Service (nobody: the agent answers 503).
//! [`group`] and [`resource_list`] describe the group to discovery.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::body;
use crate::apiserver::state::ApiState;
use crate::metrics::demand::Demand;
use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use skiff_model::activation::{self, Activation, ActivationStatus};

/// If `path` is under a namespace's activations, the namespace to create one in, or the
/// refusal of `method` (only POST to the collection is served); `None` for other paths.
pub fn route(method: &Method, path: &str) -> Option<ApiResult<String>> {
    let prefix = format!("/apis/{}/namespaces/", activation::API_VERSION);
    let rest = path.strip_prefix(&prefix)?;
    let mut parts = rest.split('/');
    let namespace = parts.next().filter(|n| !n.is_empty())?;
    if parts.next() != Some(activation::PLURAL) {
        return None;
    }
    if parts.next().is_some() || method != Method::POST {
        return Some(Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {path}: activations can only be created"
        ))));
    }
    Some(Ok(namespace.to_string()))
}

/// `POST /apis/autoscaling.skiff.dev/v1alpha1/namespaces/{namespace}/activations`.
pub async fn handle(
    state: &ApiState,
    namespace: &str,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let object = body::read_object(headers, body).await?;
    let mut asked: Activation = serde_json::from_value(object)
        .map_err(|e| ApiError::bad_request(format!("the body is not an Activation: {e}")))?;
    if asked.kind != activation::KIND || asked.api_version != activation::API_VERSION {
        return Err(ApiError::bad_request(format!(
            "the body must be a {} of {}, not {:?} of {:?}",
            activation::KIND,
            activation::API_VERSION,
            asked.kind,
            asked.api_version
        )));
    }
    if let Some(theirs) = asked.metadata.namespace.as_deref()
        && !theirs.is_empty()
        && theirs != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if asked.spec.service.is_empty() {
        return Err(ApiError::invalid(
            "Activation.autoscaling.skiff.dev",
            "",
            vec![skiff_model::field::FieldCause {
                kind: "FieldValueRequired",
                field: "spec.service".into(),
                message: "Required value".into(),
            }],
        ));
    }
    let targets = state.demand.activate(Demand {
        namespace: namespace.to_string(),
        service: asked.spec.service.clone(),
        held: asked.spec.held,
    });
    asked.metadata.namespace = Some(namespace.to_string());
    asked.status = Some(ActivationStatus { targets });
    Ok((StatusCode::CREATED, Json(asked)).into_response())
}

/// The group's entry in `/apis`.
pub fn group() -> Value {
    let gv = json!({"groupVersion": activation::API_VERSION, "version": activation::VERSION});
    json!({"name": activation::GROUP, "versions": [gv], "preferredVersion": gv})
}

/// `GET /apis/autoscaling.skiff.dev/v1alpha1`.
pub fn resource_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": activation::API_VERSION,
        "resources": [{
            "name": activation::PLURAL,
            "singularName": "activation",
            "namespaced": true,
            "kind": activation::KIND,
            "verbs": ["create"],
        }],
    })
}
