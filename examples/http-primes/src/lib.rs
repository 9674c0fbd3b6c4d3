//! `http-primes`: a `wasi:http/proxy` component whose every request costs CPU, the guest of
//! the HorizontalPodAutoscaler example (`examples/autoscale-cpu.yaml`).
//!
//! `GET /primes/N` counts the primes below N with a sieve of Eratosthenes and answers
//! `primes below N: COUNT`; any other path counts those below [`DEFAULT_LIMIT`]. N is
//! capped at [`MAX_LIMIT`] (the sieve takes one byte per number) and a bad N is a 400.

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(HttpPrimes);

/// N without one in the path: a few milliseconds of work per request.
const DEFAULT_LIMIT: usize = 2_000_000;

/// The largest N served, so one request stays within a small memory limit.
const MAX_LIMIT: usize = 20_000_000;

struct HttpPrimes;

impl wasi::exports::http::incoming_handler::Guest for HttpPrimes {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, text) = match path.strip_prefix("/primes/") {
            Some(n) => match n.parse::<usize>() {
                Ok(n) if n <= MAX_LIMIT => (200, answer(n)),
                _ => (400, format!("N must be a number up to {MAX_LIMIT}, not {n:?}\n")),
            },
            None => (200, answer(DEFAULT_LIMIT)),
        };
        respond(response_out, status, &text);
    }
}

fn answer(limit: usize) -> String {
    format!("primes below {limit}: {}\n", count_primes(limit))
}

/// The number of primes below `limit`.
fn count_primes(limit: usize) -> usize {
    if limit < 3 {
        return 0;
    }
    let mut composite = vec![false; limit];
    let mut count = 0;
    for n in 2..limit {
        if composite[n] {
            continue;
        }
        count += 1;
        let mut multiple = n * n;
        while multiple < limit {
            composite[multiple] = true;
            multiple += n;
        }
    }
    count
}

fn respond(out: ResponseOutparam, status: u16, text: &str) {
    let headers = Fields::from_list(&[
        ("content-type".to_string(), b"text/plain; charset=utf-8".to_vec()),
        ("content-length".to_string(), text.len().to_string().into_bytes()),
    ])
    .expect("static headers are valid");
    let response = OutgoingResponse::new(headers);
    response
        .set_status_code(status)
        .expect("the status codes used are valid");
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().expect("a new body has a stream");
    stream
        .blocking_write_and_flush(text.as_bytes())
        .expect("the host accepts the response body");
    drop(stream);
    OutgoingBody::finish(body, None).expect("the body finishes once");
}
