//! In-process tests of Services: the real API write path and router over a `MemoryStore`
//! behind the watch cache, with the Endpoints, EndpointSlice and ServiceLB controllers and
//! the garbage collector beside it (no scheduler, no agent). The tests play the kubelet:
//! they create pods already bound to a node and write their address and readiness, and
//! they write Node objects with their Ready condition and InternalIP.
//!
//! - `allocation`: cluster IPs and nodePorts allocated unique and in range (concurrently
//!   too), requested values checked with Kubernetes' wording, values kept across updates
//!   and applies that omit them, released when the type goes back to `ClusterIP`; port
//!   validation;
//! - `probes`: probe defaults; `exec` and `grpc` probes refused on pods and templates;
//! - `endpoints`: Endpoints and EndpointSlices follow readiness and termination, resolve
//!   named target ports, go with their Service, are served and printed as kubectl expects;
//! - `loadbalancer`: a `LoadBalancer` Service's ingress lists the Ready nodes.

mod allocation;
mod endpoints;
mod loadbalancer;
mod probes;
#[path = "../support/mod.rs"]
mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};
use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::apiserver::error::ApiError;
use skiff_controlplane::controllers::endpoints::EndpointsController;
use skiff_controlplane::controllers::endpointslice::EndpointSliceController;
use skiff_controlplane::controllers::gc::GarbageCollector;
use skiff_controlplane::controllers::servicelb::ServiceLb;
use skiff_controlplane::machinery::client::{Client, Propagation};
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::kind_of;
use skiff_model::labels::SERVICE_NAME_LABEL;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Every wait is bounded by this, so a broken controller fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(40);

/// The namespace the tests work in.
pub const NS: &str = "default";

/// The store, the write path, the router and the controllers.
pub struct Cluster {
    /// Writes as the test (and as the kubelet it plays).
    pub client: Client,
    /// The API state.
    pub state: ApiState,
    /// The HTTP API over the same state.
    pub router: Router,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    /// Starts the store, the cache, the router and the controllers.
    pub async fn start() -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let ctx = Context::new(state.clone(), Config::default(), &shutdown);
        let endpoints = EndpointsController::new(&ctx);
        let slices = EndpointSliceController::new(&ctx);
        let lb = ServiceLb::new(&ctx);
        let gc = GarbageCollector::new(&ctx);
        ctx.informers
            .start(&state, &shutdown)
            .await
            .expect("informers");
        tokio::spawn(endpoints.run(shutdown.clone()));
        tokio::spawn(slices.run(shutdown.clone()));
        tokio::spawn(lb.run(shutdown.clone()));
        tokio::spawn(gc.run(shutdown.clone()));
        Self {
            client: Client::new(state.clone(), "test"),
            router: skiff_controlplane::apiserver::router::router(state.clone()),
            state,
            shutdown,
        }
    }

    /// Sends one request to the API; returns the status and the JSON body.
    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        content_type: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type)
            .body(Body::from(serde_json::to_vec(body).expect("body")))
            .expect("request");
        self.send(request).await
    }

    /// Sends a GET, with `accept` if given.
    pub async fn get(&self, uri: &str, accept: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(Method::GET).uri(uri);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
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

    /// Creates a Service from its JSON form.
    pub async fn create_service(&self, service: Value) -> Result<Service, ApiError> {
        let service: Service = serde_json::from_value(service).expect("service");
        self.client.create(&service).await
    }

    /// The Service `name` as stored now.
    pub async fn service(&self, name: &str) -> Service {
        self.client
            .get::<Service>(Some(NS), name)
            .await
            .expect("service")
    }

    /// Creates a pod `name` labelled `app=<app>`, bound to `node`, with one container
    /// whose port 8080 is named `http`; it is Running at `ip`, Ready if `ready`.
    pub async fn pod(&self, name: &str, app: &str, node: &str, ip: &str, ready: bool) -> Pod {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": "./web.wasm",
                     "ports": [{"name": "http", "containerPort": 8080}]}]},
        }))
        .expect("pod");
        self.client.create(&pod).await.expect("create pod");
        let ip = ip.to_string();
        self.client
            .update_status::<Pod>(Some(NS), name, |p| {
                let status = p.status.get_or_insert_default();
                status.phase = Some("Running".into());
                status.pod_ip = Some(ip.clone());
                status.host_ip = Some(ip.clone());
                true
            })
            .await
            .expect("pod running");
        self.set_ready(name, ready).await
    }

    /// Sets the pod's Ready condition.
    pub async fn set_ready(&self, name: &str, ready: bool) -> Pod {
        self.client
            .update_status::<Pod>(Some(NS), name, |p| {
                let status = p.status.get_or_insert_default();
                status.conditions = Some(vec![k8s_openapi::api::core::v1::PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]);
                true
            })
            .await
            .expect("pod readiness")
    }

    /// Deletes the pod as a user does: bound to a node, it stays, terminating, until its
    /// agent confirms.
    pub async fn delete_pod(&self, name: &str) {
        self.client
            .delete::<Pod>(Some(NS), name, None, Propagation::Background)
            .await
            .expect("delete pod");
    }

    /// Creates a Node `name`, Ready or not, with `ip` as its InternalIP.
    pub async fn node(&self, name: &str, ip: &str, ready: bool) {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).expect("node");
        self.client.create(&node).await.expect("create node");
        self.set_node(name, ip, ready).await;
    }

    /// Sets the node's Ready condition and InternalIP.
    pub async fn set_node(&self, name: &str, ip: &str, ready: bool) {
        let status: k8s_openapi::api::core::v1::NodeStatus = serde_json::from_value(json!({
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        }))
        .expect("status");
        self.client
            .update_status::<Node>(None, name, |n| {
                n.status = Some(status.clone());
                true
            })
            .await
            .expect("node status");
    }

    /// The Endpoints of Service `name`, if any.
    pub async fn endpoints(&self, name: &str) -> Option<Endpoints> {
        support::found(self.client.get::<Endpoints>(Some(NS), name).await)
    }

    /// The EndpointSlices labelled as Service `name`'s, read from the store.
    pub async fn slices(&self, name: &str) -> Vec<EndpointSlice> {
        let prefix = kind_of::<EndpointSlice>().key_prefix(Some(NS));
        let list = self.state.store.list(&prefix).await.expect("list slices");
        list.items
            .iter()
            .filter_map(|kv| serde_json::from_slice::<EndpointSlice>(&kv.value).ok())
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(SERVICE_NAME_LABEL))
                    .map(String::as_str)
                    == Some(name)
            })
            .collect()
    }
}

/// A Service `name` selecting `app=<app>`, of `kind`, with one port 80 → `target`.
pub fn service(name: &str, app: &str, kind: &str, target: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS},
        "spec": {"type": kind, "selector": {"app": app},
                 "ports": [{"name": "web", "port": 80, "targetPort": target}]},
    })
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    support::poll(what, WAIT, Duration::from_millis(10), check).await
}

/// The causes of a 422 as `(field, message)` pairs.
pub fn causes(error: &ApiError) -> Vec<(String, String)> {
    error
        .details
        .as_ref()
        .and_then(|d| d.get("causes"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["field"].as_str().unwrap_or("").to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
