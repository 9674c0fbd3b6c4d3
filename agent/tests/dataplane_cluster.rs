//! The data plane following a real Skiff API server (in process, on `127.0.0.1:0`, over an
//! in-memory store, no controllers): Services, EndpointSlices and Nodes written through
//! the API reach its routing table, its node-port listeners open and close with them,
//! and readiness changes in a slice change where requests go.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_agent::AgentConfig;
use skiff_agent::dataplane::DataPlane;
use skiff_agent::dataplane::local::PodKey;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_runtime::{HttpConfig, Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(20);

/// Serves the API until `shutdown`; returns a client for it.
async fn api_server(shutdown: &CancellationToken) -> kube::Client {
    let state = ApiState::new(Arc::new(MemoryStore::new(Config::default())));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(apiserver::serve(
        listener,
        state,
        shutdown.clone().cancelled_owned(),
    ));
    let config = kube::Config::new(url.parse().expect("url"));
    kube::Client::try_from(config).expect("client")
}

async fn get(addr: SocketAddr, path: &str) -> (StatusCode, String) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let uri = format!("http://{addr}{path}").parse().expect("uri");
    let response = tokio::time::timeout(WAIT, client.get(uri))
        .await
        .expect("answered in time")
        .expect("an answer");
    let status = response.status();
    let body = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("the body ends")
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Polls `get` until it answers `status` (the table follows the API asynchronously).
async fn eventually(addr: SocketAddr, path: &str, status: StatusCode) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            let (got, body) = get(addr, path).await;
            if got == status {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{path} never answered {status}"))
}

fn slice(ready: bool) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {
            "name": "web-abcde",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{
            "addresses": ["127.77.9.1"],
            "conditions": {"ready": ready, "serving": ready, "terminating": false},
            "nodeName": "a",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "u1"},
        }],
    }))
    .expect("slice")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routing_table_follows_the_api() {
    let shutdown = CancellationToken::new();
    let client = api_server(&shutdown).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let listen: SocketAddr = "127.77.9.1:10250".parse().expect("address");
    let config = AgentConfig::new("a", listen, dir.path());

    let post = PostParams::default();
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("node");
    nodes.create(&post, &node).await.expect("create the node");
    let status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.77.9.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
    }});
    nodes
        .patch_status("a", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("node status");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30085}]},
    }))
    .expect("service");
    services
        .create(&post, &service)
        .await
        .expect("create the service");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    slices
        .create(&post, &slice(true))
        .await
        .expect("create the slice");

    let dataplane = DataPlane::start(client.clone(), &config, shutdown.clone());
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let module = rt
        .load_file(programs::P2_HTTP_GUEST)
        .expect("load the HTTP guest");
    let handler = rt
        .http_handler(&module, HttpConfig::default())
        .expect("handler");
    let pod = PodKey {
        namespace: "default".into(),
        name: "web-1".into(),
    };
    let _web = dataplane.local.register(pod, "u1", "app", &[8080], handler);

    let addr: SocketAddr = "127.77.9.1:30085".parse().expect("address");
    let mut listening = dataplane.listening();
    tokio::time::timeout(WAIT, listening.wait_for(|open| open.contains(&addr)))
        .await
        .expect("the node port opens in time")
        .expect("the data plane runs");
    assert_eq!(eventually(addr, "/hi", StatusCode::OK).await, "ok /hi");

    // Not ready any more: no endpoint.
    let mut unready = slice(false);
    unready.metadata.resource_version = slices
        .get("web-abcde")
        .await
        .expect("slice")
        .metadata
        .resource_version;
    slices
        .replace("web-abcde", &post, &unready)
        .await
        .expect("replace the slice");
    let body = eventually(addr, "/hi", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body, "no ready endpoints for service default/web\n");

    // The Service gone, its node port closes.
    services
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete the service");
    tokio::time::timeout(WAIT, listening.wait_for(|open| !open.contains(&addr)))
        .await
        .expect("the node port closes in time")
        .expect("the data plane runs");
    shutdown.cancel();
}
