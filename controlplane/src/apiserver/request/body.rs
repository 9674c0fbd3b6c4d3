//! Request bodies: the size limit (3 MiB, as upstream: 413 beyond), the media types the
//! server reads (JSON, YAML, kubectl's protobuf — decoded by `codec::protobuf`, with kinds
//! it cannot read refused as 415 — and the patch types), and
//! decoding to JSON values with messages that say what is wrong; [`read_object`] reads a
//! body that must be one object.

use crate::apiserver::error::ApiError;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;

/// Largest request body accepted: upstream's 3 MiB.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What a body's media type says about how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`, or no `Content-Type` at all (kubectl's scale update sends none).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/merge-patch+json`.
    MergePatch,
    /// `application/json-patch+json`.
    JsonPatch,
    /// `application/strategic-merge-patch+json`.
    StrategicMergePatch,
    /// `application/apply-patch+yaml` (server-side apply).
    ApplyPatch,
    /// `application/vnd.kubernetes.protobuf`, which kubectl 1.32+ typed clients send.
    Protobuf,
}

/// The media type of a request.
pub fn media_type(headers: &HeaderMap) -> Result<MediaType, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(MediaType::Json);
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "*/*" => Ok(MediaType::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(MediaType::Yaml),
        "application/merge-patch+json" => Ok(MediaType::MergePatch),
        "application/json-patch+json" => Ok(MediaType::JsonPatch),
        "application/strategic-merge-patch+json" => Ok(MediaType::StrategicMergePatch),
        "application/apply-patch+yaml" => Ok(MediaType::ApplyPatch),
        crate::apiserver::codec::protobuf::MEDIA_TYPE => Ok(MediaType::Protobuf),
        _ => Err(ApiError::unsupported_media_type(text)),
    }
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`].
pub async fn read(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let cause = e.into_inner();
            if cause.is::<http_body_util::LengthLimitError>() {
                ApiError::too_large(format!(
                    "the request body is larger than the limit of {MAX_BODY_BYTES} bytes"
                ))
            } else {
                ApiError::bad_request(format!("cannot read the request body: {cause}"))
            }
        })
}

/// Decodes a JSON or YAML body (by its media type) to a value.
pub fn decode(bytes: &[u8], media: MediaType) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let value: Value = match media {
        MediaType::Protobuf => {
            crate::apiserver::codec::protobuf::decode(bytes).map_err(protobuf_error)?
        }
        MediaType::Yaml | MediaType::ApplyPatch => serde_yaml::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
        _ => serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))?,
    };
    Ok(value)
}

/// Unsupported kinds, fields and encodings are 415 (send JSON instead); damaged bodies 400.
fn protobuf_error(error: crate::apiserver::codec::protobuf::ProtobufError) -> ApiError {
    use crate::apiserver::codec::protobuf::ProtobufError as E;
    match error {
        E::UnsupportedKind { .. }
        | E::UnsupportedField { .. }
        | E::ContentEncoding(_)
        | E::ContentType(_) => ApiError::unsupported_media_type_because(error.to_string()),
        other => ApiError::bad_request(format!("error decoding protobuf: {other}")),
    }
}

/// Decodes a body that must be an object (not a patch list).
pub fn decode_object(bytes: &[u8], media: MediaType) -> Result<Value, ApiError> {
    let value = decode(bytes, media)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    Ok(value)
}

/// Reads a body that must be an object (JSON, YAML or protobuf), as creates, updates and
/// subresource writes send; other media types are 415.
pub async fn read_object(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let media = media_type(headers)?;
    if !matches!(
        media,
        MediaType::Json | MediaType::Yaml | MediaType::Protobuf
    ) {
        return Err(ApiError::unsupported_media_type(
            headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        ));
    }
    let bytes = read(body).await?;
    decode_object(&bytes, media)
}
