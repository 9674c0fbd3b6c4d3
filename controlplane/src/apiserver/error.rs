//! [`ApiError`]: every error the API server returns, rendered as a Kubernetes `Status`
//! body with the matching HTTP code. 4xx errors carry what the user needs to act; 5xx
//! errors are logged with their cause and say little.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use skiff_model::field::FieldCause;
use skiff_model::meta::MetadataError;

/// An API error: a `Status` reason, its code, a message and optional details.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: StatusCode,
    /// The `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `Status.details`, when there is an object to name.
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// Attaches `details` naming the object (`kind` is the plural resource, as upstream);
    /// empty parts are left out, as Kubernetes leaves them out.
    pub fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        let mut details = serde_json::Map::new();
        for (key, value) in [("name", name), ("group", group), ("kind", kind)] {
            if !value.is_empty() {
                details.insert(key.to_string(), json!(value));
            }
        }
        self.details = Some(Value::Object(details));
        self
    }

    /// 404: `<resource> "<name>" not found`.
    pub fn not_found(qualified_resource: &str, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{qualified_resource} \"{name}\" not found"),
        )
    }

    /// 404 for a path the server does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409: `<resource> "<name>" already exists`.
    pub fn already_exists(qualified_resource: &str, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{qualified_resource} \"{name}\" already exists"),
        )
    }

    /// A change that changed nothing: in-process writers (the controllers) use it to stop
    /// a read-modify-write without writing. Never sent to a client.
    pub(crate) fn unchanged() -> Self {
        Self::new(StatusCode::NOT_MODIFIED, "Unchanged", "nothing to change")
    }

    /// 409: the object changed since the client read it.
    pub fn conflict(qualified_resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Operation cannot be fulfilled on {qualified_resource} \"{name}\": {why}"),
        )
    }

    /// 409 for server-side apply conflicts, one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: String, causes: Vec<FieldCause>) -> Self {
        let mut error = Self::new(StatusCode::CONFLICT, "Conflict", message);
        error.details = Some(json!({
            "causes": causes.iter().map(|c| json!({
                "reason": c.kind, "field": c.field, "message": c.message,
            })).collect::<Vec<_>>(),
        }));
        error
    }

    /// 422 with one cause per invalid field.
    pub fn invalid(kind: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {}", summary.join(", ")),
        );
        error.details = Some(json!({
            "name": name,
            "kind": kind,
            "causes": causes.iter().map(|c| json!({
                "reason": c.kind, "field": c.field, "message": c.message,
            })).collect::<Vec<_>>(),
        }));
        error
    }

    /// 422 for a request that is well-formed but cannot be applied.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 401, worded as kube-apiserver words it: nothing about why (that is logged).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 405.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", message)
    }

    /// 406.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "NotAcceptable", message)
    }

    /// 410: a resourceVersion older than the history kept.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "Expired", message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            message,
        )
    }

    /// 415.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
        )
    }

    /// 415 with a specific reason.
    pub fn unsupported_media_type_because(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            message,
        )
    }

    /// 500. The cause is logged here; the client sees only that something failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("Internal error occurred: {cause}"),
        )
    }

    /// 503.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        )
    }

    /// 429: the server is at its limit of requests in flight; `retry_after` seconds go in
    /// `details.retryAfterSeconds` (the `Retry-After` header is the caller's to add).
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests, please try again later.",
        );
        error.details = Some(json!({"retryAfterSeconds": retry_after}));
        error
    }

    /// 504.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "Timeout", message)
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut status =
            skiff_model::status::failure(self.code.as_u16(), self.reason, &self.message);
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code, axum::Json(self.status())).into_response()
    }
}

/// Metadata the server cannot set is the request's fault: 400, with what is wrong.
impl From<MetadataError> for ApiError {
    fn from(error: MetadataError) -> Self {
        Self::bad_request(error.to_string())
    }
}

/// Result alias for API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_errors_are_bad_requests() {
        let error = ApiError::from(MetadataError::NamespaceMismatch);
        assert_eq!(error.code, StatusCode::BAD_REQUEST);
        assert_eq!(
            error.message,
            "the namespace of the provided object does not match the namespace sent on the request"
        );
    }
}
