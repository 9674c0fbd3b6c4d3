//! A `wasi:http/proxy` component for tests. The path picks the behaviour:
//!
//! - `/sleep/<ms>` — sleeps in the host, then answers `slept <ms>`; `/sleep/<ms>/<rest>`
//!   sleeps, then answers as for `/<rest>`;
//! - `/spin` — loops forever in wasm;
//! - `/burn/<ms>` — busy-loops in wasm for that many milliseconds of wall time, then
//!   answers `burned <ms>` (CPU load for autoscaling tests);
//! - `/trap` — traps before responding;
//! - `/env/<NAME>` — answers the value of an environment variable (404 if unset);
//! - `/status/<code>` — answers with that status code and the body `status <code>`;
//! - `/fetch/<url>` — makes an outgoing GET to `http://<url>` and answers
//!   `upstream <status> <body>` with the upstream's status and body, or
//!   `denied: <error>` with status 502 when the request fails;
//! - anything else — `200 ok <path>`, printing `served <path>` to stdout.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;

wasi::http::proxy::export!(HttpGuest);

struct HttpGuest;

fn respond(out: ResponseOutparam, status: u16, text: &str) {
    let response = OutgoingResponse::new(Fields::new());
    response.set_status_code(status).expect("valid status");
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
    OutgoingBody::finish(body, None).expect("finish once");
}

/// Makes a GET to `http://<url>` and returns the response's status and body.
fn fetch(url: &str) -> Result<(u16, String), String> {
    let (authority, path) = url.split_once('/').unwrap_or((url, ""));
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .map_err(|()| "scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "authority")?;
    request
        .set_path_with_query(Some(&format!("/{path}")))
        .map_err(|()| "path")?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response.consume().map_err(|()| "body taken twice")?;
    let stream = body.stream().map_err(|()| "body stream taken twice")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading the body: {}", e.to_debug_string()));
            }
        }
    }
    drop(stream);
    IncomingBody::finish(body);
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Keeps the CPU busy in wasm code until `wall` has passed, reading the clock only every
/// so often so that nearly all the time is spent in guest code.
fn burn(wall: std::time::Duration) {
    let start = std::time::Instant::now();
    let mut x: u64 = 0;
    while start.elapsed() < wall {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}

impl wasi::exports::http::incoming_handler::Guest for HttpGuest {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let mut path = request.path_with_query().unwrap_or_default();
        if let Some(rest) = path.strip_prefix("/sleep/")
            && let Some((ms, then)) = rest.split_once('/')
        {
            let ms: u64 = ms.parse().unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            path = format!("/{then}");
        }
        if let Some(ms) = path.strip_prefix("/sleep/") {
            let ms: u64 = ms.parse().unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            respond(out, 200, &format!("slept {ms}"));
        } else if path == "/spin" {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        } else if let Some(ms) = path.strip_prefix("/burn/") {
            let ms: u64 = ms.parse().unwrap_or(0);
            burn(std::time::Duration::from_millis(ms));
            respond(out, 200, &format!("burned {ms}"));
        } else if path == "/trap" {
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
        } else if let Some(code) = path.strip_prefix("/status/") {
            match code.parse::<u16>() {
                Ok(status @ 100..=999) => respond(out, status, &format!("status {status}")),
                _ => respond(out, 400, &format!("bad status code {code:?}")),
            }
        } else if let Some(name) = path.strip_prefix("/env/") {
            match std::env::var(name) {
                Ok(value) => respond(out, 200, &value),
                Err(_) => respond(out, 404, "unset"),
            }
        } else if let Some(url) = path.strip_prefix("/fetch/") {
            match fetch(url) {
                Ok((status, body)) => respond(out, 200, &format!("upstream {status} {body}")),
                Err(e) => respond(out, 502, &format!("denied: {e}")),
            }
        } else {
            println!("served {path}");
            respond(out, 200, &format!("ok {path}"));
        }
    }
}
