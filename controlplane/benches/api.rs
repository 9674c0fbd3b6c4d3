//! HTTP benchmark of the API server: durable creates of small ConfigMaps over real
//! connections from 64 concurrent keep-alive clients, against `skiff server`'s stack (redb
//! store with group commit, watch cache, axum router) on a loopback socket. Prints
//! creates/s and p50/p99 latency for two setups, alternating rounds on fresh stores:
//!
//! - `secure`: what `skiff server` runs by default — HTTPS with the cluster CA, each
//!   request authenticated by a bearer token from a token file and authorized by RBAC
//!   (the user holds `edit` in the namespace through a RoleBinding, so every request walks
//!   the bindings; an admin in `system:masters` would skip RBAC);
//! - `insecure`: plain HTTP, no authentication or authorization (`--insecure-http`).
//!
//! Run with `cargo bench -p skiff-controlplane --bench api [-- --rounds N]`.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/machine.rs"]
mod support;
use support::machine;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_controlplane::apiserver::listener::TlsListener;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::authn::Authenticator;
use skiff_controlplane::authn::token_file::TokenFile;
use skiff_controlplane::certificates::{self, ServerCertificates};
// The setup writes as the API server itself (`system:masters`).
use skiff_controlplane::machinery::client::{API_SERVER, Client as ApiClient};
use skiff_controlplane::store::{Config, RedbStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 64;
const DURATION: Duration = Duration::from_secs(10);
const TOKEN: &str = "bench-token";

/// One round's figures.
struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

#[tokio::main]
async fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    println!("machine: {}", machine());
    let (mut secure, mut insecure) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        insecure.push(round(false).await);
        secure.push(round(true).await);
    }
    let mean =
        |figures: &[Figures]| figures.iter().map(|f| f.rate).sum::<f64>() / figures.len() as f64;
    println!(
        "secure / insecure creates/s: {:.2} (goal ≥ 0.8)",
        mean(&secure) / mean(&insecure)
    );
}

/// One round on a fresh store: `secure` or not.
async fn round(secure: bool) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("store.redb"), Config::default()).expect("store");
    let shutdown = CancellationToken::new();
    let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), shutdown.clone())
        .await
        .expect("cache");
    let mut state = ApiState::new(Arc::new(cache));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let path = "/api/v1/namespaces/default/configmaps";
    let figures = if secure {
        let tokens = TokenFile::parse(&format!("{TOKEN},bench,1001\n")).expect("tokens");
        let authenticator = Authenticator::new(Some(tokens), None);
        skiff_controlplane::bootstrap::secure(&mut state, authenticator, shutdown.clone())
            .await
            .expect("secured");
        grant_edit(&state).await;
        let certs = ServerCertificates::prepare(
            &dir.path().join("tls"),
            &certificates::serving_names(addr, &[]),
        )
        .expect("certificates");
        let ca = certs.authority.cert_pem().to_string();
        let tls = skiff_pki::tls::server_config(&certs.serving, Some(&ca)).expect("tls");
        let verifier = skiff_pki::tls::ClientVerifier::new(&ca).expect("verifier");
        let listener = TlsListener::new(listener, tls, Some(verifier)).expect("listener");
        tokio::spawn(apiserver::serve(listener, state, std::future::pending()));
        let mut config =
            Arc::unwrap_or_clone(skiff_pki::tls::client_config(&ca, None).expect("client tls"));
        // hyper-rustls sets ALPN itself (HTTP/1.1 here, as the plain round speaks).
        config.alpn_protocols.clear();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(CLIENTS)
            .build(connector);
        load(client, format!("https://{addr}{path}"), Some(TOKEN)).await
    } else {
        skiff_controlplane::bootstrap::ensure_namespaces(&state)
            .await
            .expect("namespaces");
        tokio::spawn(apiserver::serve(listener, state, std::future::pending()));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(CLIENTS)
            .build_http();
        load(client, format!("http://{addr}{path}"), None).await
    };
    println!(
        "{}: durable creates, {CLIENTS} clients: {:.0}/s; latency p50 {:.2?} p99 {:.2?}",
        if secure {
            "secure (HTTPS, token, RBAC)"
        } else {
            "insecure (HTTP, none)      "
        },
        figures.rate,
        figures.p50,
        figures.p99
    );
    shutdown.cancel();
    figures
}

/// `edit` in the namespace for the bench user.
async fn grant_edit(state: &ApiState) {
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("bench-edit".into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: "edit".into(),
        },
        subjects: Some(vec![Subject {
            kind: "User".into(),
            api_group: Some("rbac.authorization.k8s.io".into()),
            name: "bench".into(),
            namespace: None,
        }]),
    };
    ApiClient::new(state.clone(), API_SERVER)
        .create(&binding)
        .await
        .expect("binding");
    // The aggregation controller is not running here: `edit` gets its rules directly.
    let roles = skiff_controlplane::authz::policy::cluster_roles();
    let selectors = |name: &str| {
        roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
            .and_then(|r| r.aggregation_rule.as_ref())
            .and_then(|a| a.cluster_role_selectors.clone())
            .unwrap_or_default()
    };
    let arcs: Vec<_> = roles.iter().cloned().map(Arc::new).collect();
    let rules = skiff_controlplane::controllers::clusterrole_aggregation::aggregate(
        "edit",
        &selectors("edit"),
        &arcs,
    );
    ApiClient::new(state.clone(), API_SERVER)
        .update::<k8s_openapi::api::rbac::v1::ClusterRole>(None, "edit", |role| {
            role.rules = Some(rules.clone());
            true
        })
        .await
        .expect("edit's rules");
    // Let the authorizer's informers see the binding and the rules.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// 64 clients creating ConfigMaps for [`DURATION`].
async fn load<C>(
    client: Client<C, Full<Bytes>>,
    url: String,
    token: Option<&'static str>,
) -> Figures
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let deadline = Instant::now() + DURATION;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let body = format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{c}-{i}","labels":{{"bench":"yes"}}}},"data":{{"key":"value-{i}"}}}}"#
                    );
                    let mut request = hyper::Request::post(&url)
                        .header("content-type", "application/json");
                    if let Some(token) = token {
                        request = request.header("authorization", format!("Bearer {token}"));
                    }
                    let request = request.body(Full::new(Bytes::from(body))).expect("request");
                    let start = Instant::now();
                    let response = client.request(request).await.expect("response");
                    let status = response.status();
                    let body = response.into_body().collect().await.expect("body");
                    assert_eq!(status.as_u16(), 201, "{:?}", body.to_bytes());
                    latencies.push(start.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Figures {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
    }
}
