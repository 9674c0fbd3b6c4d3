//! Watches over the router: a client that goes away releases its watcher, even when no
//! event ever arrives to notice it by.

use axum::body::Body;
use axum::http::Request;
use skiff_controlplane::apiserver::{self, ApiState};
use skiff_controlplane::store::{Config, MemoryStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_watch_releases_its_watcher() {
    let token = tokio_util::sync::CancellationToken::new();
    let cache = Arc::new(
        CachedStore::start(
            Arc::new(MemoryStore::new(Config::default())),
            CacheConfig::default(),
            token.clone(),
        )
        .await
        .expect("cache"),
    );
    let state = ApiState::new(cache.clone());
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    let router = apiserver::router::router(state);
    let request =
        Request::get("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
            .body(Body::empty())
            .expect("request");
    let response = router.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    let wait_for = |want: usize| {
        let cache = cache.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(30), async {
                while cache.status().watchers != want {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("watchers never reached {want}"));
        }
    };
    wait_for(1).await;
    drop(response);
    // A write elsewhere makes the cache prune watchers whose receiver is gone; the watch
    // above only is gone if its task noticed the client leave without any event of its own.
    tokio::time::sleep(Duration::from_millis(50)).await;
    use skiff_controlplane::store::Store;
    cache
        .create(
            "/registry/core/configmaps/kube-system/elsewhere",
            bytes::Bytes::from_static(b"{}"),
        )
        .await
        .expect("write elsewhere");
    wait_for(0).await;
    token.cancel();
}
