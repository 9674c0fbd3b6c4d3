//! `http-hello`: a `wasi:http/proxy` component. Answers every request with
//! `200 OK` and `Hello from Skiff! You asked for <method> <path>`.

use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(HttpHello);

struct HttpHello;

impl wasi::exports::http::incoming_handler::Guest for HttpHello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Other(other) => other,
        };
        let path = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let body_text = format!("Hello from Skiff! You asked for {method} {path}\n");

        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"text/plain; charset=utf-8".to_vec()),
            ("content-length".to_string(), body_text.len().to_string().into_bytes()),
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
