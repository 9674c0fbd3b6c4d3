//! Max-in-flight: a server whose write seats are all taken queues a write briefly, then
//! answers 429 with `Retry-After` and a `TooManyRequests` `Status`, writes nothing, and
//! serves reads and the next write once a seat is free.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::filters::inflight::InFlight;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn configmap(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"k": "v"}}))
    .expect("json")
}

fn post(body: Body) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/namespaces/default/configmaps")
        .header("content-type", "application/json")
        .body(body)
        .expect("request")
}

/// A router over a fresh in-memory store whose server works on at most `reads` reads and
/// `writes` writes at once.
async fn limited(reads: usize, writes: usize) -> (axum::Router, ApiState) {
    let mut state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
    state.inflight = Arc::new(InFlight::new(reads, writes));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    (apiserver::router::router(state.clone()), state)
}

#[tokio::test]
async fn writes_beyond_the_limit_wait_then_get_429_with_retry_after() {
    let (router, state) = limited(1, 1).await;

    // A client that sends its headers and then stalls holds the one write seat.
    let (stall, stalled_body) =
        futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let holder = tokio::spawn(
        router
            .clone()
            .oneshot(post(Body::from_stream(stalled_body))),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while state.inflight.current().1 != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled write never took its seat"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let response = router
        .clone()
        .oneshot(post(Body::from(configmap("refused"))))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().ok()),
        Some(Some("1"))
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let status: Value = serde_json::from_slice(&body).expect("a Status");
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 429);
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(
        status["message"],
        "Too many requests, please try again later."
    );
    assert_eq!(status["details"]["retryAfterSeconds"], 1);

    // Reads have seats of their own: the refused write is not there.
    let (code, _) = crate::send(
        &router,
        Method::GET,
        "/api/v1/namespaces/default/configmaps/refused",
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // The stalled client finishes its body: its write goes through and frees the seat.
    stall
        .unbounded_send(Ok(configmap("held")))
        .expect("the holder is waiting for its body");
    drop(stall);
    let held = holder.await.expect("holder").expect("infallible");
    assert_eq!(held.status(), StatusCode::CREATED);
    assert_eq!(state.inflight.current(), (0, 0));
    let (code, _) = crate::send(
        &router,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        configmap("next"),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writes_at_once_are_each_served_or_refused_never_lost() {
    let (router, state) = limited(4, 2).await;
    let codes: Vec<(usize, StatusCode)> = futures::stream::iter(0..200)
        .map(|i| {
            let router = router.clone();
            async move {
                let response = router
                    .oneshot(post(Body::from(configmap(&format!("cm-{i}")))))
                    .await
                    .expect("infallible");
                (i, response.status())
            }
        })
        .buffer_unordered(200)
        .collect()
        .await;
    for (i, code) in codes {
        let (found, _) = crate::send(
            &router,
            Method::GET,
            &format!("/api/v1/namespaces/default/configmaps/cm-{i}"),
            None,
            Vec::new(),
        )
        .await;
        match code {
            StatusCode::CREATED => assert_eq!(found, StatusCode::OK, "cm-{i} was created"),
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(found, StatusCode::NOT_FOUND, "cm-{i} was refused")
            }
            other => panic!("cm-{i}: unexpected {other}"),
        }
    }
    assert_eq!(state.inflight.current(), (0, 0));
}
