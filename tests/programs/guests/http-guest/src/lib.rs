//! A `wasi:http/proxy` component for tests. The path picks the behaviour:
//!
//! - `/sleep/<ms>` — sleeps in the host, then answers `slept <ms>`;
//! - `/spin` — loops forever in wasm;
//! - `/trap` — traps before responding;
//! - `/env/<NAME>` — answers the value of an environment variable (404 if unset);
//! - `/fetch/<url>` — makes an outgoing GET to `http://<url>` and answers its status,
//!   or `denied: <error>` with status 502;
//! - anything else — `200 ok <path>`, printing `served <path>` to stdout.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam,
    Scheme,
};

wasi::http::proxy::export!(HttpGuest);

struct HttpGuest;

fn respond(out: ResponseOutparam, status: u16, text: &str) {
    let response = OutgoingResponse::new(Fields::new());
    response.set_status_code(status).expect("valid status");
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().expect("a new body has a stream");
    stream
        .blocking_write_and_flush(text.as_bytes())
        .expect("host accepts the body");
    drop(stream);
    OutgoingBody::finish(body, None).expect("finish once");
}

fn fetch(url: &str) -> Result<u16, String> {
    let (authority, path) = url.split_once('/').unwrap_or((url, ""));
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| "scheme")?;
    request.set_authority(Some(authority)).map_err(|()| "authority")?;
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
    Ok(response.status())
}

impl wasi::exports::http::incoming_handler::Guest for HttpGuest {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        if let Some(ms) = path.strip_prefix("/sleep/") {
            let ms: u64 = ms.parse().unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            respond(out, 200, &format!("slept {ms}"));
        } else if path == "/spin" {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        } else if path == "/trap" {
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
        } else if let Some(name) = path.strip_prefix("/env/") {
            match std::env::var(name) {
                Ok(value) => respond(out, 200, &value),
                Err(_) => respond(out, 404, "unset"),
            }
        } else if let Some(url) = path.strip_prefix("/fetch/") {
            match fetch(url) {
                Ok(status) => respond(out, 200, &format!("upstream {status}")),
                Err(e) => respond(out, 502, &format!("denied: {e}")),
            }
        } else {
            println!("served {path}");
            respond(out, 200, &format!("ok {path}"));
        }
    }
}
