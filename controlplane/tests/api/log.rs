//! `pods/{name}/log` relayed to the pod's node: a small HTTP server started here stands in
//! for the node's agent (the agent cannot be linked into control-plane tests). Checks the
//! forwarded path and query, that the body streams through unbuffered, the container
//! defaulting rules, and the 400/404/503 answers.

use crate::router;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::ApiState;
use skiff_model::kinds::find;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

/// The stand-in agent: records each request's path and query; answers
/// `/containerLogs/.../missing` with a 404 `Status`, anything else with `one\n`, then
/// `two\n` — when following, only once `release` is notified.
struct FakeAgent {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    release: Arc<Notify>,
}

impl FakeAgent {
    async fn start() -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        let (seen, gate) = (requests.clone(), release.clone());
        let app = Router::new().fallback(move |uri: Uri| {
            let (seen, gate) = (seen.clone(), gate.clone());
            async move { answer(uri, &seen, gate) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            requests,
            release,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn answer(uri: Uri, seen: &Mutex<Vec<String>>, gate: Arc<Notify>) -> Response {
    seen.lock().expect("lock").push(uri.to_string());
    if uri.path().ends_with("/missing") {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "container \"missing\" in pod \"web\" is not available",
            "reason": "NotFound", "code": 404});
        return (StatusCode::NOT_FOUND, axum::Json(status)).into_response();
    }
    let follow = uri.query().is_some_and(|q| q.contains("follow=true"));
    let chunks = gated_chunks(follow.then_some(gate));
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// `one\n`, then `two\n` (after the gate opens, if there is one).
fn gated_chunks(
    gate: Option<Arc<Notify>>,
) -> impl tokio_stream::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let _ = tx.send(Ok(bytes::Bytes::from_static(b"one\n"))).await;
        if let Some(gate) = gate {
            gate.notified().await;
        }
        let _ = tx.send(Ok(bytes::Bytes::from_static(b"two\n"))).await;
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

async fn create(state: &ApiState, plural: &str, namespace: Option<&str>, object: Value) {
    let kind = find("", "v1", plural).expect("kind");
    let name = object["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    state
        .create(kind, &kind.key(namespace, &name), &object)
        .await
        .expect("create");
}

async fn node(state: &ApiState, name: &str, addr: SocketAddr) {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {
            "addresses": [{"type": "Hostname", "address": "elsewhere.invalid"},
                          {"type": "InternalIP", "address": addr.ip().to_string()}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": addr.port()}}}});
    create(state, "nodes", None, node).await;
}

async fn pod(state: &ApiState, name: &str, node: Option<&str>, containers: &[&str], extra: Value) {
    let list: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "./app.wasm"}))
        .collect();
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": list}});
    if let Some(node) = node {
        pod["spec"]["nodeName"] = json!(node);
    }
    merge(&mut pod, extra);
    create(state, "pods", Some("default"), pod).await;
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                merge(into.entry(k).or_insert(Value::Null), v);
            }
        }
        (into, from) => *into = from,
    }
}

async fn get(router: &Router, uri: &str) -> Response {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    tokio::time::timeout(WAIT, router.clone().oneshot(request))
        .await
        .expect("answered in time")
        .expect("infallible")
}

/// The status and the whole body, and the body as JSON if it is.
async fn get_all(router: &Router, uri: &str) -> (StatusCode, String, Option<Value>) {
    let response = get(router, uri).await;
    let status = response.status();
    let body = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("the body ends")
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    (status, text, serde_json::from_slice(&body).ok())
}

const LOG: &str = "/api/v1/namespaces/default/pods";

#[tokio::test]
async fn forwards_path_and_log_parameters_and_streams_the_body_unbuffered() {
    let agent = FakeAgent::start().await;
    let (router, state) = router().await;
    node(&state, "n1", agent.addr).await;
    pod(&state, "web", Some("n1"), &["app"], json!({})).await;

    let response = get(
        &router,
        &format!(
            "{LOG}/web/log?container=app&follow=true&tailLines=10&timestamps=true\
             &sinceTime=2024-01-01T00%3A00%3A00Z&limitBytes=100&pretty=true"
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(
        agent.requests(),
        [
            "/containerLogs/default/web/app?follow=true&timestamps=true&tailLines=10\
          &sinceTime=2024-01-01T00%3A00%3A00Z&limitBytes=100"
        ]
    );
    let mut body = response.into_body();
    let mut next = async || {
        let frame = tokio::time::timeout(WAIT, body.frame())
            .await
            .expect("a frame in time (the body is not buffered)")?
            .expect("frame");
        Some(frame.into_data().expect("data"))
    };
    // The agent holds `two` back until `one` has arrived here: a buffering relay hangs.
    assert_eq!(next().await.as_deref(), Some(&b"one\n"[..]));
    agent.release.notify_one();
    assert_eq!(next().await.as_deref(), Some(&b"two\n"[..]));
    assert_eq!(next().await, None);
}

#[tokio::test]
async fn containers_default_like_kubernetes() {
    let agent = FakeAgent::start().await;
    let (router, state) = router().await;
    node(&state, "n1", agent.addr).await;
    pod(&state, "solo", Some("n1"), &["only"], json!({})).await;
    pod(
        &state,
        "annotated",
        Some("n1"),
        &["a", "b"],
        json!({"metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "b"}}}),
    )
    .await;
    pod(
        &state,
        "multi",
        Some("n1"),
        &["a", "b"],
        json!({"spec": {"initContainers": [{"name": "setup", "image": "./s.wasm"}]}}),
    )
    .await;

    let (status, body, _) = get_all(&router, &format!("{LOG}/solo/log")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "one\ntwo\n"));
    assert_eq!(
        get_all(&router, &format!("{LOG}/annotated/log")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get_all(&router, &format!("{LOG}/multi/log?container=setup"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        agent.requests(),
        [
            "/containerLogs/default/solo/only",
            "/containerLogs/default/annotated/b",
            "/containerLogs/default/multi/setup",
        ]
    );

    let refused = [
        (
            format!("{LOG}/multi/log"),
            "a container name must be specified for pod multi, choose one of: [a b] \
             or one of the init containers: [setup]",
        ),
        (
            format!("{LOG}/solo/log?container=nope"),
            "container nope is not valid for pod solo",
        ),
    ];
    for (uri, message) in refused {
        let (status, _, reply) = get_all(&router, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let reply = reply.expect("a Status body");
        assert_eq!(reply["kind"], "Status");
        assert_eq!(reply["message"], message, "{uri}");
    }
    assert_eq!(agent.requests().len(), 3, "refused requests reach no agent");
}

#[tokio::test]
async fn missing_unbound_unreachable_and_agent_errors_are_statuses() {
    let agent = FakeAgent::start().await;
    let (router, state) = router().await;
    node(&state, "n1", agent.addr).await;
    // A node whose agent's port has nothing listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    node(&state, "dead", closed).await;
    pod(&state, "web", Some("n1"), &["app", "missing"], json!({})).await;
    pod(&state, "pending", None, &["app"], json!({})).await;
    pod(&state, "orphan", Some("gone"), &["app"], json!({})).await;
    pod(&state, "stranded", Some("dead"), &["app"], json!({})).await;

    let cases = [
        (
            format!("{LOG}/ghost/log"),
            StatusCode::NOT_FOUND,
            r#"pods "ghost" not found"#.to_string(),
        ),
        (
            format!("{LOG}/pending/log"),
            StatusCode::BAD_REQUEST,
            r#"container "app" in pod "pending" is waiting to start: ContainerCreating"#
                .to_string(),
        ),
        (
            format!("{LOG}/orphan/log"),
            StatusCode::NOT_FOUND,
            r#"nodes "gone" not found"#.to_string(),
        ),
        (
            format!("{LOG}/web/log?container=app&tailLines=-1"),
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"#
                .to_string(),
        ),
        // The agent's own answer passes through.
        (
            format!("{LOG}/web/log?container=missing"),
            StatusCode::NOT_FOUND,
            r#"container "missing" in pod "web" is not available"#.to_string(),
        ),
    ];
    for (uri, code, message) in cases {
        let (status, body, reply) = get_all(&router, &uri).await;
        assert_eq!(status, code, "{uri}: {body}");
        let reply = reply.unwrap_or_else(|| panic!("{uri}: a Status body, got {body}"));
        assert_eq!(reply["kind"], "Status", "{uri}");
        assert_eq!(reply["message"], message.as_str(), "{uri}");
    }

    let (status, body, reply) = get_all(&router, &format!("{LOG}/stranded/log")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = reply.expect("a Status body")["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(
        message.contains("node \"dead\"") && message.contains(&closed.to_string()),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("refused"),
        "the cause: {message}"
    );
}
