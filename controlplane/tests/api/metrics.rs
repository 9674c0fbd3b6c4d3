//! `metrics.k8s.io/v1beta1` and `custom.metrics.k8s.io/v1beta2` through the router, with
//! the collector fed reports directly (no agent): discovery, the JSON shapes
//! metrics-server and the custom metrics adapters answer with, selectors, and the
//! not-found and bad-request `Status`es.

use crate::router;
use axum::Router;
use axum::body::Body;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::ApiState;
use skiff_model::kinds::find;
use skiff_model::stats::{ContainerReport, NodeReport, PodReport, RequestCounters};
use tower::ServiceExt;

const MS: u64 = 1_000_000;
const BASE: u64 = 1_700_000_000_000;

/// `kubectl top`'s Accept header: protobuf first.
const TOP_ACCEPT: &str = "application/vnd.kubernetes.protobuf, application/json";

async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    request(router, Method::GET, uri).await
}

async fn request(router: &Router, method: Method, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(ACCEPT, TOP_ACCEPT)
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{uri}: content type {content_type:?}"
    );
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).expect("a JSON body");
    (status, body)
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

async fn pod(state: &ApiState, namespace: &str, name: &str, app: &str) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "./app.wasm"}]}});
    create(state, "pods", Some(namespace), pod).await;
}

fn pod_report(namespace: &str, name: &str, i: u64, requests: bool) -> PodReport {
    PodReport {
        namespace: namespace.into(),
        name: name.into(),
        containers: vec![ContainerReport {
            name: "app".into(),
            cpu_nanos: 250 * MS * i,
            memory_bytes: 65536,
        }],
        requests: requests.then_some(RequestCounters {
            total: 10 * i,
            busy_nanos: 1000 * MS * i,
            in_flight: 1,
        }),
    }
}

/// Nodes n1 (reporting) and n2 (not); pods web-1 (serving 20 requests/s at half a core),
/// kube-system/db-1 (half a core, no HTTP) and idle (never reported).
async fn cluster() -> (Router, ApiState) {
    let (router, state) = router().await;
    for (name, zone) in [("n1", "a"), ("n2", "b")] {
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"zone": zone}}});
        create(&state, "nodes", None, node).await;
    }
    pod(&state, "default", "web-1", "web").await;
    pod(&state, "default", "idle", "web").await;
    pod(&state, "kube-system", "db-1", "db").await;
    for i in 0..=4u64 {
        state.metrics.ingest(
            NodeReport {
                node: "n1".into(),
                timestamp_millis: BASE + 500 * i,
                full: i == 0,
                cpu_nanos: 400 * MS * i,
                memory_bytes: 1 << 20,
                pods: vec![
                    pod_report("default", "web-1", i, true),
                    pod_report("kube-system", "db-1", i, false),
                ],
                held: Vec::new(),
            },
            i == 0,
        );
    }
    (router, state)
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let meta = &i["metadata"];
            match meta["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", meta["name"].as_str().unwrap_or_default()),
                None => meta["name"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

fn assert_status(got: &(StatusCode, Value), code: u16, reason: &str, message: &str) {
    assert_eq!(got.0.as_u16(), code, "{}", got.1);
    assert_eq!(got.1["kind"], "Status", "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert_eq!(got.1["reason"], reason, "{}", got.1);
    assert_eq!(got.1["message"], message, "{}", got.1);
}

#[tokio::test]
async fn discovery_lists_both_groups() {
    let (router, _) = router().await;
    let (status, groups) = get(&router, "/apis").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&str> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["preferredVersion"]["groupVersion"].as_str())
        .collect();
    assert!(listed.contains(&"metrics.k8s.io/v1beta1"), "{listed:?}");
    assert!(
        listed.contains(&"custom.metrics.k8s.io/v1beta2"),
        "{listed:?}"
    );
    let (status, group) = get(&router, "/apis/metrics.k8s.io").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(group["kind"], "APIGroup");
    assert_eq!(group["preferredVersion"]["version"], "v1beta1");
    let (status, list) = get(&router, "/apis/metrics.k8s.io/v1beta1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["groupVersion"], "metrics.k8s.io/v1beta1");
    assert_eq!(
        list["resources"],
        json!([
            {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics",
             "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics",
             "verbs": ["get", "list"]},
        ])
    );
    let (status, list) = get(&router, "/apis/custom.metrics.k8s.io/v1beta2").await;
    assert_eq!(status, StatusCode::OK);
    let resources: Vec<&str> = list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        resources,
        ["pods/requests_per_second", "pods/requests_in_flight"]
    );
    assert_eq!(list["resources"][0]["kind"], "MetricValueList");
    let missing = get(&router, "/apis/metrics.k8s.io/v1").await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn node_metrics_as_metrics_server_writes_them() {
    let (router, _) = cluster().await;
    let (status, list) = get(&router, "/apis/metrics.k8s.io/v1beta1/nodes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["kind"], "NodeMetricsList");
    assert_eq!(list["apiVersion"], "metrics.k8s.io/v1beta1");
    assert_eq!(names(&list), ["n1"], "n2 has no figures");
    let item = &list["items"][0];
    assert_eq!(item["metadata"]["labels"], json!({"zone": "a"}));
    assert!(item["metadata"]["creationTimestamp"].is_string());
    assert_eq!(item["timestamp"], "2023-11-14T22:13:22Z");
    assert_eq!(item["window"], "2s");
    assert_eq!(item["usage"], json!({"cpu": "800m", "memory": "1Mi"}));
    let (_, none) = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db",
    )
    .await;
    assert_eq!(names(&none), Vec::<String>::new());
    let (status, one) = get(&router, "/apis/metrics.k8s.io/v1beta1/nodes/n1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["kind"], "NodeMetrics");
    assert_eq!(one["usage"]["cpu"], "800m");
    assert_status(
        &get(&router, "/apis/metrics.k8s.io/v1beta1/nodes/n2").await,
        404,
        "NotFound",
        "nodemetrics.metrics.k8s.io \"n2\" not found",
    );
    assert_status(
        &get(&router, "/apis/metrics.k8s.io/v1beta1/nodes/n3").await,
        404,
        "NotFound",
        "node \"n3\" not found",
    );
}

#[tokio::test]
async fn pod_metrics_as_metrics_server_writes_them() {
    let (router, _) = cluster().await;
    let (status, all) = get(&router, "/apis/metrics.k8s.io/v1beta1/pods").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["kind"], "PodMetricsList");
    assert_eq!(all["metadata"], json!({}));
    assert_eq!(names(&all), ["default/web-1", "kube-system/db-1"]);
    let web = &all["items"][0];
    assert_eq!(web["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(web["window"], "2s");
    assert_eq!(
        web["containers"],
        json!([{"name": "app", "usage": {"cpu": "500m", "memory": "64Ki"}}])
    );
    let (_, default) = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
    )
    .await;
    assert_eq!(names(&default), ["default/web-1"]);
    let (_, db) = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Ddb",
    )
    .await;
    assert_eq!(names(&db), ["kube-system/db-1"]);
    let (_, web) = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(web,db)&fieldSelector=metadata.namespace%3Ddefault",
    )
    .await;
    assert_eq!(names(&web), ["default/web-1"]);
    let (status, one) = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["kind"], "PodMetrics");
    assert_eq!(one["apiVersion"], "metrics.k8s.io/v1beta1");
    assert_eq!(one["metadata"]["namespace"], "default");
    assert_eq!(one["containers"][0]["usage"]["cpu"], "500m");
    assert_status(
        &get(
            &router,
            "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/idle",
        )
        .await,
        404,
        "NotFound",
        "podmetrics.metrics.k8s.io \"default/idle\" not found",
    );
    assert_status(
        &get(
            &router,
            "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope",
        )
        .await,
        404,
        "NotFound",
        "pods \"nope\" not found",
    );
}

#[tokio::test]
async fn bad_selectors_and_verbs_are_statuses() {
    let (router, _) = cluster().await;
    assert_status(
        &get(
            &router,
            "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dn1",
        )
        .await,
        400,
        "BadRequest",
        "\"spec.nodeName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
    );
    let bad = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(",
    )
    .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
    assert_eq!(bad.1["kind"], "Status");
    let bad = get(
        &router,
        "/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=a%3D%3D%3D",
    )
    .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
    let post = request(&router, Method::POST, "/apis/metrics.k8s.io/v1beta1/pods").await;
    assert_eq!(post.0, StatusCode::METHOD_NOT_ALLOWED, "{}", post.1);
    assert_eq!(post.1["kind"], "Status");
    let watch = get(&router, "/apis/metrics.k8s.io/v1beta1/pods?watch=true").await;
    assert_eq!(watch.0, StatusCode::METHOD_NOT_ALLOWED, "{}", watch.1);
    let unknown = get(&router, "/apis/metrics.k8s.io/v1beta1/services").await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
}

#[tokio::test]
async fn custom_metrics_for_pods() {
    let (router, _) = cluster().await;
    let base = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods";
    let (status, list) = get(&router, &format!("{base}/*/requests_per_second")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["kind"], "MetricValueList");
    assert_eq!(list["apiVersion"], "custom.metrics.k8s.io/v1beta2");
    assert_eq!(
        list["items"],
        json!([{
            "describedObject": {"kind": "Pod", "namespace": "default", "name": "web-1",
                "apiVersion": "v1"},
            "metric": {"name": "requests_per_second"},
            "timestamp": "2023-11-14T22:13:22Z",
            "windowSeconds": 2,
            "value": "20",
        }])
    );
    let (_, selected) = get(
        &router,
        &format!("{base}/*/requests_in_flight?labelSelector=app%3Dweb"),
    )
    .await;
    assert_eq!(selected["items"][0]["value"], "2");
    let (_, none) = get(
        &router,
        &format!("{base}/*/requests_in_flight?labelSelector=app%3Dother"),
    )
    .await;
    assert_eq!(none["items"], json!([]));
    let (status, one) = get(&router, &format!("{base}/web-1/requests_in_flight")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["items"][0]["describedObject"]["name"], "web-1");
    assert_status(
        &get(&router, &format!("{base}/*/queue_depth")).await,
        404,
        "NotFound",
        "the server could not find the metric queue_depth for pods",
    );
    assert_status(
        &get(&router, &format!("{base}/idle/requests_per_second")).await,
        404,
        "NotFound",
        "the server could not find the metric requests_per_second for pods idle",
    );
    assert_status(
        &get(
            &router,
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/kube-system/pods/db-1/requests_per_second",
        )
        .await,
        404,
        "NotFound",
        "the server could not find the metric requests_per_second for pods db-1",
    );
    assert_status(
        &get(
            &router,
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/services/*/requests_per_second",
        )
        .await,
        404,
        "NotFound",
        "the server could not find the metric requests_per_second for services",
    );
    let bad = get(
        &router,
        &format!("{base}/*/requests_per_second?labelSelector=%3D"),
    )
    .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
}

#[tokio::test]
async fn kubectl_get_podmetrics_gets_a_table() {
    let (router, _) = cluster().await;
    let request = Request::builder()
        .uri("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
        .header(
            ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
        )
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let table: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Name", "cpu", "memory", "Window"]);
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["web-1", "500m", "64Ki", "2s"])
    );
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        table["rows"][0]["object"]["metadata"]["namespace"],
        "default"
    );
}
