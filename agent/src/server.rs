//! The agent's HTTP endpoint: the subset of the kubelet API the control plane calls.
//!
//! Routes: `GET /containerLogs/{namespace}/{pod}/{container}` ([`logs`]) and
//! `GET /healthz`. Errors are Kubernetes `Status` bodies ([`Status`]). [`serve`] runs the
//! router on a listener until shutdown; [`router`] lets tests (and later the data plane)
//! use or extend it.

pub mod logs;

use crate::logs::LogRegistry;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open requests may take to finish once shutdown begins. Follow streams end at
/// once; this bounds a reader too slow to take its last bytes.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The agent's routes over `logs`.
pub fn router(logs: LogRegistry) -> Router {
    Router::new()
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(logs::container_logs),
        )
        .route("/healthz", get(healthz))
        .with_state(logs)
}

/// Serves the agent's endpoints on `listener` until `shutdown` is cancelled; then stops
/// accepting, ends follow streams, and gives open requests [`DRAIN_TIMEOUT`] to finish.
pub async fn serve(
    listener: TcpListener,
    logs: LogRegistry,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let followers = logs.clone();
    let stop = shutdown.clone();
    let server = axum::serve(listener, router(logs)).with_graceful_shutdown(async move {
        stop.cancelled().await;
        followers.stop_following();
    });
    tokio::select! {
        result = server => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {
            tracing::warn!("agent requests still open after the drain timeout; closing them");
            Ok(())
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

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
        let body = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        (self.code, axum::Json(body)).into_response()
    }
}
