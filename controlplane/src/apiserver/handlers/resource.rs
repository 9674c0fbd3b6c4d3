//! Dispatch of every request the router does not match by path: per-group-version
//! discovery and OpenAPI documents, and resource requests by verb — list, watch, get,
//! create, update, patch, delete, deletecollection, and the `status`, `scale`, `binding`,
//! `log` and `token` subresources; the create-only `activations` ([`activation`]) and access and
//! identity reviews ([`review`]); and the metrics APIs' paths, which go to [`metrics`].

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::delete::{self, DeleteOptions};
use crate::apiserver::handlers::write::{self, Written};
use crate::apiserver::handlers::{
    activation, binding, discovery, log, metrics, openapi, patch, read, review, scale, token, watch,
};
use crate::apiserver::request::body::{self, MediaType};
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::{Query, url_pairs};
use crate::apiserver::state::ApiState;
use crate::authn::UserInfo;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The fallback handler.
pub async fn handle(
    State(state): State<ApiState>,
    user: Option<Extension<Arc<UserInfo>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let user = user.map_or_else(|| Arc::new(UserInfo::anonymous()), |Extension(u)| u);
    match dispatch(&state, &user, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(error) => {
            if error.code.is_server_error() {
                tracing::error!(%method, %uri, error = %error.message, "request failed");
            } else {
                tracing::debug!(%method, %uri, code = %error.code, error = %error.message, "request refused");
            }
            error.into_response()
        }
    }
}

async fn dispatch(
    state: &ApiState,
    user: &Arc<UserInfo>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let path = uri.path();
    if let Some(namespace) = activation::route(method, path) {
        return activation::handle(state, &namespace?, headers, body).await;
    }
    if let Some(asked) = review::route(method, path) {
        return review::handle(&state.authorizer, user, asked?, headers, body).await;
    }
    let params: HashMap<String, String> = uri.query().map(url_pairs).unwrap_or_default();
    let accept = headers
        .get(ACCEPT)
        .and_then(|a| a.to_str().ok())
        .map(String::from);
    let accept = accept.as_deref();
    if let Some(response) = metrics::dispatch(state, method, path, &params, accept).await {
        return response;
    }
    if let Some(response) = non_resource(method, path) {
        return response;
    }
    let Some(target) = ResourcePath::parse(path)? else {
        return Err(ApiError::no_route(path));
    };
    let mut query = Query::parse(target.kind, &params)?;
    query.user = Some(user.clone());
    let sub = target.subresource.as_deref();
    if sub == Some("status") && body::media_type(headers).ok() == Some(MediaType::Protobuf) {
        // The protobuf decoder keeps only the parts of status a create may carry.
        return Err(ApiError::unsupported_media_type_because(
            "status updates must be sent as JSON (Content-Type: application/json)",
        ));
    }

    match (method.clone(), target.name.is_some(), sub) {
        (Method::GET, false, None) if query.watch => {
            watch::watch(state, target, query, accept.map(String::from)).await
        }
        (Method::GET, false, None) => read::list(state, &target, &query, accept).await,
        (Method::GET, true, None) if query.watch => {
            watch::watch(state, target, query, accept.map(String::from)).await
        }
        (Method::GET, true, None | Some("status")) => {
            Ok(read::get(state, &target, accept).await?.into_response())
        }
        (Method::GET, true, Some("scale")) => {
            let stored = state
                .read(target.kind, &target.key()?, target.require_name()?)
                .await?;
            Ok(Json(scale::scale_of(&stored.object)).into_response())
        }
        (Method::GET, true, Some("log")) => log::log(state, &target, &params).await,
        (Method::POST, false, None) => {
            let object = body::read_object(headers, body).await?;
            Ok(write::create(state, &target, &query, object)
                .await?
                .into_response())
        }
        (Method::POST, true, Some("token")) => token::token(state, &target, headers, body).await,
        (Method::POST, true, Some("binding")) => {
            let binding = body::read_object(headers, body).await?;
            let done = write::modify(state, &target, &query, |pod| {
                binding::bind(&target, pod, &binding)
            })
            .await?;
            let mut response = Written {
                status: StatusCode::CREATED,
                ..done
            }
            .into_response();
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        }
        (Method::PUT, true, None | Some("status")) => {
            let object = body::read_object(headers, body).await?;
            Ok(
                write::modify(state, &target, &query, |_| Ok(object.clone()))
                    .await?
                    .into_response(),
            )
        }
        (Method::PUT, true, Some("scale")) => {
            let desired = body::read_object(headers, body).await?;
            let done = write::modify(state, &without_sub(&target), &query, |current| {
                scale::apply_scale(current, &desired)
            })
            .await?;
            Ok(Json(scale::scale_of(&done.object)).into_response())
        }
        (Method::PATCH, true, sub @ (None | Some("status") | Some("scale"))) => {
            let media = body::media_type(headers)?;
            let bytes = body::read(body).await?;
            let patch_body = body::decode(&bytes, media)?;
            if media == MediaType::ApplyPatch {
                return patch::server_side_apply(state, &target, &query, patch_body).await;
            }
            if sub == Some("scale") {
                let done = write::modify(state, &without_sub(&target), &query, |current| {
                    let patched = patch::apply(&scale::scale_of(current), &patch_body, media)?;
                    scale::apply_scale(current, &patched)
                })
                .await?;
                return Ok(Json(scale::scale_of(&done.object)).into_response());
            }
            Ok(write::modify(state, &target, &query, |current| {
                let mut current = current.clone();
                // A patch applies to the latest object: its resourceVersion is only a
                // precondition if the patch itself sets one.
                if let Some(meta) = current.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                }
                patch::apply(&current, &patch_body, media)
            })
            .await?
            .into_response())
        }
        (Method::DELETE, true, None) => {
            let options = delete_options(headers, body, params.get("gracePeriodSeconds")).await?;
            let object = delete::delete(state, &target, &query, &options).await?;
            Ok(Json(object).into_response())
        }
        (Method::DELETE, false, None) => {
            let options = delete_options(headers, body, params.get("gracePeriodSeconds")).await?;
            Ok(
                Json(delete::delete_collection(state, &target, &query, &options).await?)
                    .into_response(),
            )
        }
        (method, _, _) => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {path}"
        ))),
    }
}

fn without_sub(target: &ResourcePath) -> ResourcePath {
    ResourcePath {
        kind: target.kind,
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        subresource: None,
    }
}

async fn delete_options(
    headers: &HeaderMap,
    body: Body,
    grace: Option<&String>,
) -> ApiResult<DeleteOptions> {
    let bytes = body::read(body).await?;
    let options = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body::decode_object(&bytes, body::media_type(headers)?)?)
    };
    DeleteOptions::parse(options.as_ref(), grace.map(String::as_str))
}

/// Discovery documents and OpenAPI documents addressed under a group-version.
fn non_resource(method: &Method, path: &str) -> Option<ApiResult<Response>> {
    let trimmed = path.trim_matches('/');
    if let Some(doc) = trimmed.strip_prefix("openapi/v3/") {
        return Some(match openapi::v3_document(doc) {
            Some(document) => Ok(Json(document).into_response()),
            None => Err(ApiError::no_route(path)),
        });
    }
    let (group, version) = match trimmed.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        ["apis", group] => {
            return Some(match discovery::api_group(group) {
                Some(doc) => Ok(Json(doc).into_response()),
                None => Err(ApiError::no_route(path)),
            });
        }
        _ => return None,
    };
    if method != Method::GET {
        return Some(Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {path}"
        ))));
    }
    Some(match discovery::resource_list(group, version) {
        Some(list) => Ok(Json(list).into_response()),
        None => Err(ApiError::no_route(path)),
    })
}
