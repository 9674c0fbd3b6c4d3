//! The module endpoints, `/skiff/v1/modules/sha256:<hex>`: uploads are verified against
//! their name, idempotent, capped; downloads return the bytes; every refusal is a `Status`
//! with the right code; a server without a module store answers 503.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::module_store::{Digest, ModuleStore};
use skiff_controlplane::store::{Config, MemoryStore};
use std::sync::Arc;
use tower::ServiceExt;

const MODULE: &[u8] = b"\0asm\x01\0\0\0";

/// A router with a module store in a temporary directory capped at `max_bytes`.
fn router(max_bytes: u64) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let modules = ModuleStore::open(dir.path())
        .expect("module store")
        .with_max_bytes(max_bytes);
    let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())))
        .with_modules(Arc::new(modules));
    (apiserver::router::router(state), dir)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The body as a `Status`, asserting that it is one with this answer's code.
    fn status_body(&self) -> Value {
        let status: Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body))
        });
        assert_eq!(status["kind"], "Status", "{status}");
        assert_eq!(status["code"], self.status.as_u16(), "{status}");
        status
    }
}

async fn send(router: &Router, method: Method, uri: &str, body: &[u8]) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_vec()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn uri(digest: &Digest) -> String {
    format!("/skiff/v1/modules/{digest}")
}

#[tokio::test]
async fn upload_then_download_and_upload_again() {
    let (router, dir) = router(1024);
    let digest = Digest::of(MODULE);
    let path = uri(&digest);

    let absent = send(&router, Method::GET, &path, b"").await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    assert_eq!(absent.status_body()["reason"], "NotFound");
    let absent = send(&router, Method::HEAD, &path, b"").await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);

    let created = send(&router, Method::PUT, &path, MODULE).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let again = send(&router, Method::PUT, &path, MODULE).await;
    assert_eq!(again.status, StatusCode::OK);

    let got = send(&router, Method::GET, &path, b"").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, MODULE);
    assert_eq!(got.headers["content-type"], "application/wasm");
    let head = send(&router, Method::HEAD, &path, b"").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        MODULE.len().to_string().as_str()
    );
    assert!(dir.path().join("sha256").join(digest.hex()).is_file());
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_status() {
    let (router, dir) = router(64);
    let digest = Digest::of(MODULE);

    // A body that does not hash to its name.
    let other = Digest::of(b"\0asm\x01\0\0\0another");
    let mismatch = send(&router, Method::PUT, &uri(&other), MODULE).await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    let message = mismatch.status_body()["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("digest mismatch"), "{message}");
    assert!(message.contains(&digest.to_string()), "{message}");

    // Not wasm.
    let text = b"#!/bin/sh\necho hi\n";
    let not_wasm = send(&router, Method::PUT, &uri(&Digest::of(text)), text).await;
    assert_eq!(not_wasm.status, StatusCode::BAD_REQUEST);
    let message = not_wasm.status_body()["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("not a WebAssembly"), "{message}");

    // Over the cap.
    let mut big = MODULE.to_vec();
    big.resize(65, 0);
    let too_large = send(&router, Method::PUT, &uri(&Digest::of(&big)), &big).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    too_large.status_body();

    // A name that is no digest.
    for bad in ["sha256:abc", "md5:0123", "latest"] {
        let answer = send(
            &router,
            Method::PUT,
            &format!("/skiff/v1/modules/{bad}"),
            MODULE,
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        answer.status_body();
        let answer = send(
            &router,
            Method::GET,
            &format!("/skiff/v1/modules/{bad}"),
            b"",
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // Another method.
    let post = send(&router, Method::POST, &uri(&digest), MODULE).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    post.status_body();

    // Nothing was stored.
    let stored = std::fs::read_dir(dir.path().join("sha256"))
        .expect("blob dir")
        .count();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_server_without_a_module_store_says_so() {
    let (router, _state) = super::router().await;
    let path = uri(&Digest::of(MODULE));
    for method in [Method::GET, Method::PUT] {
        let answer = send(&router, method.clone(), &path, MODULE).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{method}");
        answer.status_body();
    }
    let head = send(&router, Method::HEAD, &path, b"").await;
    assert_eq!(head.status, StatusCode::SERVICE_UNAVAILABLE);
}
