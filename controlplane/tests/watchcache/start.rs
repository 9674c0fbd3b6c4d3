//! Starting a cache while writers run, on an empty store: the initial listing and the
//! inner watch must leave no gap (a watch "after revision 0" would mean "from now").

use crate::{Fixture, bounded};
use bytes::Bytes;
use skiff_controlplane::store::{MemoryStore, Store};
use skiff_controlplane::watchcache;
use std::sync::Arc;

const RUNS: usize = 40;
const WRITES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_started_during_writes_misses_nothing() {
    for run in 0..RUNS {
        let inner: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let go = Arc::new(tokio::sync::Barrier::new(2));
        let writer = {
            let inner = inner.clone();
            let go = go.clone();
            tokio::spawn(async move {
                go.wait().await;
                for i in 0..WRITES {
                    let key = format!("/registry/k/{i:02}");
                    inner.create(&key, Bytes::new()).await.expect("create");
                    tokio::task::yield_now().await;
                }
            })
        };
        // Start at different points of the writes, including before the first.
        go.wait().await;
        for _ in 0..run % 4 {
            tokio::task::yield_now().await;
        }
        let fixture = Fixture::over(inner.clone(), watchcache::Config::default(), None).await;
        bounded("writer", writer).await.expect("writer");
        // A write through the cache makes the next read wait until the cache has it, and so
        // every write before it.
        let last = fixture
            .cache
            .create("/registry/last", Bytes::new())
            .await
            .expect("create");
        let cached = fixture.cache.list("/registry/").await.expect("list");
        assert_eq!(cached.revision, last.mod_revision, "run {run}");
        assert_eq!(
            cached.items,
            inner.list("/registry/").await.expect("list").items,
            "run {run}"
        );
    }
}
