//! `frontend`: the outer service of the two-service example (`frontend-backend.yaml`). A
//! `wasi:http/proxy` component that, on every request, makes an outgoing `wasi:http`
//! request to `http://backend/` — the `backend` Service, by name: the agent routes it to
//! a ready backend pod on any node — and answers `200 OK` with
//! `frontend got: <backend's body>`. When the call fails (no such Service, no ready
//! endpoint, refused) it answers `502 Bad Gateway` with the error.
//!
//! The target can be changed with the `BACKEND_URL` environment variable
//! (default `http://backend/`): `http://backend.other-namespace/` reaches another
//! namespace's Service.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;

wasi::http::proxy::export!(Frontend);

struct Frontend;

/// The Service called when `BACKEND_URL` is unset: `backend` in the pod's own namespace.
const DEFAULT_BACKEND_URL: &str = "http://backend/";

/// How much of the backend's body is read at a time.
const READ_CHUNK: u64 = 64 * 1024;

impl wasi::exports::http::incoming_handler::Guest for Frontend {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let url = std::env::var("BACKEND_URL").unwrap_or_else(|_| DEFAULT_BACKEND_URL.to_string());
        match call(&url) {
            Ok((200..=299, body)) => respond(response_out, 200, &format!("frontend got: {body}")),
            Ok((status, body)) => respond(
                response_out,
                502,
                &format!("frontend: backend {url} answered {status}: {body}"),
            ),
            Err(error) => respond(
                response_out,
                502,
                &format!("frontend: calling {url} failed: {error}\n"),
            ),
        }
    }
}

/// Sends `GET url` (an `http://host[:port]/path` URL) and returns the response's status
/// and body.
fn call(url: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .map_err(|()| "invalid scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| format!("invalid authority {authority:?}"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| format!("invalid path {path:?}"))?;

    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("the host gave no response")?
        .map_err(|()| "the response was taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| "the body was taken twice")?;
    let stream = body
        .stream()
        .map_err(|()| "the body stream was taken twice")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading the body failed: {}", e.to_debug_string()));
            }
        }
    }
    drop(stream);
    IncomingBody::finish(body);
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Answers `status` with a plain-text `text`.
fn respond(out: ResponseOutparam, status: u16, text: &str) {
    let headers = Fields::from_list(&[
        (
            "content-type".to_string(),
            b"text/plain; charset=utf-8".to_vec(),
        ),
        (
            "content-length".to_string(),
            text.len().to_string().into_bytes(),
        ),
    ])
    .expect("static headers are valid");
    let response = OutgoingResponse::new(headers);
    response
        .set_status_code(status)
        .expect("the statuses used here are valid");
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().expect("a new body has a stream");
    // A blocking write takes at most 4096 bytes at a time.
    for chunk in text.as_bytes().chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .expect("the host accepts the response body");
    }
    drop(stream);
    OutgoingBody::finish(body, None).expect("the body finishes once");
}
