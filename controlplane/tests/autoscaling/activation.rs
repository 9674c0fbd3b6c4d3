//! The `activations` endpoint: 201 with who scales the Service, the autoscaler woken, bad
//! bodies refused with a `Status`, verbs other than create refused, the group discovered.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use std::sync::Arc;
use tower::ServiceExt;

const PATH: &str = "/apis/autoscaling.skiff.dev/v1alpha1/namespaces/default/activations";

async fn router() -> (Router, ApiState) {
    let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
    (apiserver::router::router(state.clone()), state)
}

async fn send(router: &Router, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn activation(service: &str, held: u32) -> String {
    json!({"apiVersion": "autoscaling.skiff.dev/v1alpha1", "kind": "Activation",
           "spec": {"service": service, "held": held, "node": "n1"}})
    .to_string()
}

#[tokio::test]
async fn an_activation_answers_who_scales_the_service_and_wakes_the_autoscaler() {
    let (router, state) = router().await;
    let mut woken = state.demand.subscribe();
    let (code, body) = send(&router, Method::POST, PATH, &activation("web", 3)).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(body["status"]["targets"], json!([]), "nobody scales it yet");
    assert!(woken.try_recv().is_err());

    state
        .demand
        .publish("default", "Deployment/web", &["web".to_string()]);
    let (code, body) = send(&router, Method::POST, PATH, &activation("web", 3)).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(body["status"]["targets"], json!(["Deployment/web"]));
    assert_eq!(body["metadata"]["namespace"], "default");
    let demand = woken.try_recv().expect("the autoscaler is woken");
    assert_eq!((demand.service.as_str(), demand.held), ("web", 3));
}

#[tokio::test]
async fn bad_activations_are_refused_with_a_status() {
    let (router, _) = router().await;
    let (code, body) = send(&router, Method::POST, PATH, "{not json").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["kind"], "Status");
    let (code, _) = send(&router, Method::POST, PATH, r#"{"kind": "Pod"}"#).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, body) = send(&router, Method::POST, PATH, &activation("", 1)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"]["causes"][0]["field"], "spec.service");
    let mut other =
        serde_json::from_str::<Value>(&activation("web", 1)).expect("as the test set up");
    other["metadata"] = json!({"namespace": "elsewhere"});
    let (code, _) = send(&router, Method::POST, PATH, &other.to_string()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (code, body) = send(&router, method.clone(), PATH, "").await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(body["reason"], "MethodNotAllowed");
    }
    let (code, _) = send(&router, Method::GET, &format!("{PATH}/x"), "").await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn discovery_lists_activations_as_create_only() {
    let (router, _) = router().await;
    let (_, groups) = send(&router, Method::GET, "/apis", "").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .expect("as the test set up")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(names.contains(&"autoscaling.skiff.dev"), "{names:?}");
    let (code, list) = send(
        &router,
        Method::GET,
        "/apis/autoscaling.skiff.dev/v1alpha1",
        "",
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(list["resources"][0]["name"], "activations");
    assert_eq!(list["resources"][0]["verbs"], json!(["create"]));
    let (code, group) = send(&router, Method::GET, "/apis/autoscaling.skiff.dev", "").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(group["preferredVersion"]["version"], "v1alpha1");
}
