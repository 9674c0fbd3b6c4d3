//! The HTTP handler: a fresh instance per request, errors as status codes, the
//! concurrency bound and its queue, outbound deny-by-default, and `serve` on a socket.

use crate::{WAIT, load, runtime};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use skiff_runtime::{ContainerLog, HttpConfig, HttpHandler, Limits, Output, Refusal};
use skiff_test_programs as programs;
use std::time::Duration;

fn handler(config: HttpConfig) -> HttpHandler {
    let rt = runtime();
    let module = load(&rt, programs::P2_HTTP_GUEST);
    rt.http_handler(&module, config).expect("handler")
}

pub(crate) async fn get(handler: &HttpHandler, path: &str) -> (StatusCode, String) {
    let request = Request::get(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = tokio::time::timeout(WAIT, handler.handle(request))
        .await
        .expect("a response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_requests_with_fresh_instances() {
    let log = ContainerLog::in_memory();
    let h = handler(HttpConfig {
        env: vec![("COLOR".into(), "teal".into())],
        output: Output::Log(log.clone()),
        ..HttpConfig::default()
    });
    assert_eq!(
        get(&h, "/hello").await,
        (StatusCode::OK, "ok /hello".into())
    );
    assert_eq!(get(&h, "/env/COLOR").await, (StatusCode::OK, "teal".into()));
    assert_eq!(get(&h, "/env/HOME").await.0, StatusCode::NOT_FOUND);
    let lines: Vec<_> = log
        .lines()
        .expect("lines")
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(lines, vec![Bytes::from("served /hello")]);
    // Each instance ends (releasing its slot) once it has finished its response.
    tokio::time::timeout(WAIT, async {
        while h.in_flight() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("every instance ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_is_a_500() {
    let h = handler(HttpConfig::default());
    let (status, body) = get(&h, "/trap").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("unreachable"), "{body}");
    // The handler is unharmed.
    assert_eq!(get(&h, "/again").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_is_a_504() {
    let h = handler(HttpConfig {
        limits: Limits {
            deadline: Some(Duration::from_millis(200)),
            ..Limits::default()
        },
        ..HttpConfig::default()
    });
    let (status, body) = get(&h, "/spin").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body.contains("timed out"), "{body}");
    assert_eq!(
        get(&h, "/sleep/600000").await.0,
        StatusCode::GATEWAY_TIMEOUT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_concurrency_and_queue_is_a_503() {
    let h = handler(HttpConfig {
        max_concurrency: 1,
        max_queue: Some(0),
        ..HttpConfig::default()
    });
    let busy = {
        let h = h.clone();
        tokio::spawn(async move { get(&h, "/sleep/1000").await })
    };
    // Wait until the slow request holds the only slot.
    tokio::time::timeout(WAIT, async {
        while h.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow request starts");
    let (status, body) = get(&h, "/hello").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("too many requests"), "{body}");
    assert_eq!(
        busy.await.expect("join"),
        (StatusCode::OK, "slept 1000".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_is_decided_before_the_request_is_taken() {
    let h = handler(HttpConfig {
        max_concurrency: 1,
        max_queue: Some(1),
        ..HttpConfig::default()
    });
    assert!(h.has_room());
    let slot = h.admit().expect("a free slot");
    let queued = h.admit().expect("a queue place");
    assert_eq!(h.queued(), 1);
    assert!(!h.has_room(), "the slot and the queue are taken");
    assert_eq!(
        h.admit().err(),
        Some(Refusal::Full),
        "refused, request untouched"
    );
    // A claim given back unused makes room again.
    drop(queued);
    assert_eq!(h.queued(), 0);
    assert!(h.has_room());
    // The claimed slot serves the request it is given.
    let request = Request::get("http://localhost/hello")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = tokio::time::timeout(WAIT, slot.handle(request))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    h.abort();
    assert!(!h.has_room());
    assert_eq!(h.admit().err(), Some(Refusal::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_wait_for_a_slot() {
    let h = handler(HttpConfig {
        max_concurrency: 1,
        max_queue: Some(8),
        ..HttpConfig::default()
    });
    let requests: Vec<_> = (0..4)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move { get(&h, &format!("/sleep/{}", 20 + i)).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("join").0, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_abandoned_in_the_queue_gives_up_its_place() {
    let h = handler(HttpConfig {
        max_concurrency: 1,
        max_queue: Some(1),
        ..HttpConfig::default()
    });
    let busy = {
        let h = h.clone();
        tokio::spawn(async move { get(&h, "/sleep/300").await })
    };
    while h.in_flight() == 0 {
        tokio::task::yield_now().await;
    }
    // The client of a queued request goes away while it waits.
    let abandoned = {
        let h = h.clone();
        tokio::spawn(async move { get(&h, "/").await })
    };
    while h.queued() == 0 {
        tokio::task::yield_now().await;
    }
    abandoned.abort();
    let _ = abandoned.await;
    assert_eq!(h.queued(), 0, "the queue place is given back");
    assert_eq!(busy.await.expect("join").0, StatusCode::OK);
    h.idle().await;
    // The queue takes requests again.
    assert_eq!(get(&h, "/").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_are_denied_by_default() {
    // A real listener the guest would reach if it were allowed to.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let h = handler(HttpConfig::default());
    let (status, body) = get(&h, &format!("/fetch/{addr}/")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_on_a_socket_and_shuts_down() {
    let rt = runtime();
    let h = rt
        .http_handler(&load(&rt, programs::HTTP_HELLO), HttpConfig::default())
        .expect("handler");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(skiff_runtime::serve(
        listener,
        h,
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /skiff HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.ends_with("You asked for GET /skiff\n"),
        "{response}"
    );

    stop.send(()).expect("server running");
    tokio::time::timeout(WAIT, server)
        .await
        .expect("server stops")
        .expect("join")
        .expect("serve ok");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preopens_are_checked_when_the_handler_is_built() {
    let rt = runtime();
    let module = load(&rt, programs::P2_HTTP_GUEST);
    let dir = tempfile::tempdir().expect("tempdir");
    let preopen = |host: std::path::PathBuf| skiff_runtime::Preopen {
        host,
        guest: "/data".into(),
        read_only: true,
    };
    let missing = dir.path().join("missing");
    let refused = rt.http_handler(
        &module,
        HttpConfig {
            preopens: vec![preopen(missing.clone())],
            ..HttpConfig::default()
        },
    );
    match refused {
        Err(skiff_runtime::Error::Preopen { host, .. }) => assert_eq!(host, missing),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a missing directory was accepted"),
    }
    let h = rt
        .http_handler(
            &module,
            HttpConfig {
                preopens: vec![preopen(dir.path().to_path_buf())],
                ..HttpConfig::default()
            },
        )
        .expect("an existing directory is accepted");
    assert_eq!(get(&h, "/hello").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_running_requests_and_refuses_new_ones() {
    let h = handler(HttpConfig::default());
    let slow = {
        let h = h.clone();
        tokio::spawn(async move { get(&h, "/sleep/600000").await })
    };
    tokio::time::timeout(WAIT, async {
        while h.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow request starts");
    h.abort();
    let (status, body) = tokio::time::timeout(WAIT, slow)
        .await
        .expect("the running request ends")
        .expect("join");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("stopped"), "{body}");
    assert_eq!(h.in_flight(), 0);
    assert_eq!(get(&h, "/hello").await.0, StatusCode::SERVICE_UNAVAILABLE);
}
