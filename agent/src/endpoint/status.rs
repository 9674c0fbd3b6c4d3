//! [`Status`]: an error answer of the node's endpoint, a Kubernetes `Status` body with its
//! HTTP code (400 for a wrong parameter, 404 for what does not exist, 500 with its cause
//! logged).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer: a Kubernetes `Status` body with its HTTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The HTTP code.
    pub code: StatusCode,
    /// The `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// What went wrong, for the user.
    pub message: String,
}

impl Status {
    /// 400: a request parameter is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message: message.into(),
        }
    }

    /// 404: what the request names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::NOT_FOUND,
            reason: "NotFound",
            message: message.into(),
        }
    }

    /// 500: the agent failed; the cause is logged here.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut detail = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            detail = format!("{detail}: {inner}");
            source = inner.source();
        }
        tracing::error!(error = %detail, "agent request failed");
        Self {
            code: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "InternalError",
            message: format!("Internal error occurred: {detail}"),
        }
    }
}

impl IntoResponse for Status {
    fn into_response(self) -> Response {
        let body = skiff_model::status::failure(self.code.as_u16(), self.reason, &self.message);
        (self.code, axum::Json(body)).into_response()
    }
}
