//! The module endpoints, `/skiff/v1/modules/sha256:<hex>`, over the server's
//! [`ModuleStore`]: `PUT` uploads a wasm module under its digest (201 when new, 200 when
//! already present; 400 when the body is not wasm or does not hash to the name, 413 over
//! the cap), `GET` downloads it and `HEAD` says whether it is there (404 when absent).
//! Without a module store every request is answered 503. Every error is a `Status`.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use crate::module_store::{Digest, Error as ModuleError, ModuleStore, Put};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// The route of one module, `{digest}` being `sha256:<hex>`.
pub const ROUTE: &str = "/skiff/v1/modules/{digest}";

/// The media type modules are served with.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";

/// `PUT`: stores the body under the digest it is named by.
pub async fn put(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let store = store(&state)?;
    let digest = Digest::parse(&name).map_err(refused)?;
    let limit = store.max_bytes();
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = announced.filter(|size| *size > limit) {
        return Err(refused(ModuleError::TooLarge { size, limit }));
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, cap).await.map_err(|e| {
        let cause = e.into_inner();
        if cause.is::<http_body_util::LengthLimitError>() {
            ApiError::too_large(format!(
                "the module is larger than the limit of {limit} bytes"
            ))
        } else {
            ApiError::bad_request(format!("cannot read the request body: {cause}"))
        }
    })?;
    let size = bytes.len();
    let stored = {
        let digest = digest.clone();
        tokio::task::spawn_blocking(move || store.put(&digest, &bytes))
            .await
            .map_err(ApiError::internal)?
            .map_err(refused)?
    };
    let status = match stored {
        Put::Created => {
            tracing::info!(module = %digest, size, "stored module");
            StatusCode::CREATED
        }
        Put::Present => StatusCode::OK,
    };
    Ok((
        status,
        axum::Json(json!({"digest": digest.to_string(), "size": size})),
    )
        .into_response())
}

/// `GET`: the module's bytes.
pub async fn get(State(state): State<ApiState>, Path(name): Path<String>) -> ApiResult<Response> {
    let store = store(&state)?;
    let digest = Digest::parse(&name).map_err(refused)?;
    let found = {
        let digest = digest.clone();
        tokio::task::spawn_blocking(move || store.get(&digest))
            .await
            .map_err(ApiError::internal)?
            .map_err(refused)?
    };
    let bytes = found.ok_or_else(|| not_found(&digest))?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(WASM_MEDIA_TYPE))],
        bytes,
    )
        .into_response())
}

/// `HEAD`: whether the module is stored, and its size.
pub async fn head(State(state): State<ApiState>, Path(name): Path<String>) -> ApiResult<Response> {
    let store = store(&state)?;
    let digest = Digest::parse(&name).map_err(refused)?;
    let size = {
        let digest = digest.clone();
        tokio::task::spawn_blocking(move || store.size(&digest))
            .await
            .map_err(ApiError::internal)?
            .map_err(refused)?
    };
    let size = size.ok_or_else(|| not_found(&digest))?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(WASM_MEDIA_TYPE)),
            (CONTENT_LENGTH, HeaderValue::from(size)),
        ],
        (),
    )
        .into_response())
}

/// Any other method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed("modules support GET, HEAD and PUT")
}

fn store(state: &ApiState) -> ApiResult<Arc<ModuleStore>> {
    state
        .modules
        .clone()
        .ok_or_else(|| ApiError::service_unavailable("this API server keeps no module store"))
}

fn not_found(digest: &Digest) -> ApiError {
    ApiError::not_found("modules", &digest.to_string()).with_details(
        "skiff",
        "modules",
        &digest.to_string(),
    )
}

/// The API error for a module store error: the user's mistakes are 400/413, the rest 500.
fn refused(error: ModuleError) -> ApiError {
    match error {
        ModuleError::InvalidDigest(_)
        | ModuleError::DigestMismatch { .. }
        | ModuleError::NotWasm => ApiError::bad_request(error.to_string()),
        ModuleError::TooLarge { .. } => ApiError::too_large(error.to_string()),
        ModuleError::Io { ref source, .. } => ApiError::internal(format!("{error}: {source}")),
    }
}
