//! What the in-process test suites of the scheduler and the controllers share: an API
//! server's state over a memory store and the watch cache, and polling with a deadline.
//! Each suite includes it with `#[path = "../support/mod.rs"] mod support;`.
#![allow(dead_code)]

use skiff_controlplane::apiserver::ApiState;
use skiff_controlplane::apiserver::error::ApiError;
use skiff_controlplane::store::{Config as StoreConfig, MemoryStore};
use skiff_controlplane::watchcache::{CachedStore, Config as CacheConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// An API server's state: a memory store behind the watch cache (until `shutdown`), with
/// the system namespaces.
pub async fn api_state(shutdown: &CancellationToken) -> ApiState {
    let store = MemoryStore::new(StoreConfig::default());
    let cache = CachedStore::start(Arc::new(store), CacheConfig::default(), shutdown.clone())
        .await
        .expect("cache");
    let state = ApiState::new(Arc::new(cache));
    skiff_controlplane::bootstrap::ensure_namespaces(&state)
        .await
        .expect("namespaces");
    state
}

/// Polls `check` every `every` until it returns `Some`, failing after `wait`.
pub async fn poll<T, F, Fut>(what: &str, wait: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < wait, "timed out waiting for {what}");
        tokio::time::sleep(every).await;
    }
}

/// `Some(object)`, `None` for NotFound; panics on other errors.
pub fn found<K>(result: Result<K, ApiError>) -> Option<K> {
    match result {
        Ok(object) => Some(object),
        Err(e) if e.reason == "NotFound" => None,
        Err(e) => panic!("unexpected API error: {}", e.message),
    }
}
