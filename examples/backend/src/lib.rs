//! `backend`: the inner service of the two-service example (`frontend-backend.yaml`). A
//! `wasi:http/proxy` component answering every request with `200 OK` and the JSON
//! `{"greeting":"hello","from":"<POD_NAME>"}`, where `POD_NAME` comes from the pod's
//! environment (the downward API), so a caller sees which replica served it.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(Backend);

struct Backend;

/// The name reported when the pod gives no `POD_NAME`, as under `wasmtime serve`.
const UNKNOWN_POD: &str = "unknown";

impl wasi::exports::http::incoming_handler::Guest for Backend {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let pod = std::env::var("POD_NAME").unwrap_or_else(|_| UNKNOWN_POD.to_string());
        let body_text = format!(
            "{{\"greeting\":\"hello\",\"from\":\"{}\"}}\n",
            json_escape(&pod)
        );

        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"application/json".to_vec()),
            (
                "content-length".to_string(),
                body_text.len().to_string().into_bytes(),
            ),
        ])
        .expect("static headers are valid");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("a new response has a body");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("a new body has a stream");
        stream
            .blocking_write_and_flush(body_text.as_bytes())
            .expect("the host accepts the response body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("the body finishes once");
    }
}

/// Escapes `text` for use inside a JSON string.
fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
