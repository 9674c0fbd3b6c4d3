//! `Sources` against the real Skiff API server, in process on `127.0.0.1:0` over an
//! in-memory store: creates, updates and deletes of ConfigMaps and Secrets reach the
//! mirror and `changes()`.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use skiff_agent::sources::{SourceKind, SourceRef, Sources};
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

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

fn config_map(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("key".into(), value.into())])),
        ..ConfigMap::default()
    }
}

/// Waits for a change notification naming `kind default/name`.
async fn changed(changes: &mut broadcast::Receiver<SourceRef>, kind: SourceKind, name: &str) {
    let wanted = SourceRef {
        kind,
        namespace: "default".into(),
        name: name.into(),
    };
    tokio::time::timeout(WAIT, async {
        while changes.recv().await.expect("change feed open") != wanted {}
    })
    .await
    .unwrap_or_else(|_| panic!("no change for {wanted:?}"));
}

#[tokio::test]
async fn watches_mirror_creates_updates_and_deletes() {
    let shutdown = CancellationToken::new();
    let client = api_server(&shutdown).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let post = PostParams::default();
    config_maps
        .create(&post, &config_map("early", "1"))
        .await
        .expect("create");

    let sources = Sources::start(client, shutdown.clone());
    tokio::time::timeout(WAIT, sources.ready())
        .await
        .expect("listed");
    let mut changes = sources.changes();
    let early = sources
        .config_map("default", "early")
        .expect("listed object");
    assert_eq!(
        early.data.as_ref().and_then(|d| d.get("key")),
        Some(&"1".into())
    );

    let mut updated = config_map("early", "2");
    updated.metadata.resource_version = early.metadata.resource_version.clone();
    config_maps
        .replace("early", &post, &updated)
        .await
        .expect("replace");
    changed(&mut changes, SourceKind::ConfigMap, "early").await;
    let now = sources.config_map("default", "early").expect("still there");
    assert_eq!(
        now.data.as_ref().and_then(|d| d.get("key")),
        Some(&"2".into())
    );

    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("creds".into()),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([("token".into(), "t".into())])),
        ..Secret::default()
    };
    secrets.create(&post, &secret).await.expect("create secret");
    changed(&mut changes, SourceKind::Secret, "creds").await;
    assert!(sources.secret("default", "creds").is_some());

    config_maps
        .delete("early", &DeleteParams::default())
        .await
        .expect("delete");
    changed(&mut changes, SourceKind::ConfigMap, "early").await;
    assert!(sources.config_map("default", "early").is_none());
    shutdown.cancel();
}
