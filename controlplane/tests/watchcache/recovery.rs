//! Recovery when the inner watch ends: provoked with an inner watch buffer of one event and a
//! burst of writes that never yields (a `MemoryStore` write completes without awaiting, so on
//! a single-threaded runtime the cache's feed task cannot run until the burst is over).
//!
//! If the store's history still reaches back to the cache's revision, the inner watch catches
//! up from it by itself and the cache's watchers notice nothing; if not, the cache relists and
//! closes them with `WatcherLagged`.

use crate::{Backend, Fixture, events_through, next_event};
use bytes::Bytes;
use skiff_controlplane::store::{self, Error, Store};
use skiff_controlplane::watchcache::{self, CachedStore};

const BURST: u64 = 50;

/// One write the cache has applied, then a burst of creates and deletes that overflows the
/// inner watch's buffer; returns the last revision.
async fn burst(cache: &CachedStore) -> u64 {
    cache
        .create("/registry/first", Bytes::new())
        .await
        .expect("create");
    assert_eq!(cache.list("/registry/").await.expect("list").revision, 1);
    let mut last = 0;
    for i in 0..BURST {
        let key = format!("/registry/burst/{i:02}");
        last = match i % 5 {
            4 => cache
                .delete(&format!("/registry/burst/{:02}", i - 1), None)
                .await
                .map(|d| d.revision),
            _ => cache
                .create(&key, Bytes::from(format!("{i}")))
                .await
                .map(|kv| kv.mod_revision),
        }
        .expect("write");
    }
    last
}

async fn assert_same_state(fixture: &Fixture) {
    let cached = fixture.cache.list("/registry/").await.expect("cache list");
    let inner = fixture.inner.list("/registry/").await.expect("inner list");
    assert_eq!(cached, inner);
}

#[tokio::test]
async fn a_lagged_inner_watch_catches_up_without_disturbing_cache_watchers() {
    let fixture = Fixture::new(
        Backend::Memory,
        store::Config {
            watch_buffer: 1,
            ..store::Config::default()
        },
        watchcache::Config::default(),
    )
    .await;
    let mut watch = fixture
        .cache
        .watch_from_cache("/registry/", 0)
        .await
        .expect("watch");
    let last = burst(&fixture.cache).await;
    // Reading through the cache waits until it has caught up again.
    assert_same_state(&fixture).await;
    // The inner watch overflowed its buffer of one many times over, yet never ended.
    let status = fixture.cache.status();
    assert_eq!(status.resumes, 0, "{status:?}");
    assert_eq!(status.relists, 0, "{status:?}");
    let events = events_through(&mut watch, last).await;
    let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, (1..=last).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_compacted_inner_history_forces_a_relist_that_closes_cache_watchers() {
    let fixture = Fixture::new(
        Backend::Memory,
        store::Config {
            watch_buffer: 1,
            history_window: 5,
            ..store::Config::default()
        },
        watchcache::Config::default(),
    )
    .await;
    let mut watch = fixture
        .cache
        .watch_from_cache("/registry/", 0)
        .await
        .expect("watch");
    let mut other = fixture
        .cache
        .watch_from_cache("/registry/elsewhere/", 0)
        .await
        .expect("watch");
    let last = burst(&fixture.cache).await;
    assert_same_state(&fixture).await;
    let status = fixture.cache.status();
    assert_eq!(status.relists, 1, "{status:?}");
    assert_eq!(status.revision, last);

    // The watchers saw revision 1 at most, then are told to relist.
    for watch in [&mut watch, &mut other] {
        let end = loop {
            match next_event(watch).await {
                Some(Ok(event)) => assert_eq!(event.revision, 1),
                other => break other,
            }
        };
        assert!(matches!(end, Some(Err(Error::WatcherLagged))), "{end:?}");
        assert!(next_event(watch).await.is_none());
    }
    // The cache's history starts at the relisting.
    assert!(matches!(
        fixture.cache.watch_from_cache("/registry/", 1).await,
        Err(Error::Compacted { requested: 1, compacted }) if compacted == last
    ));
    let mut fresh = fixture
        .cache
        .watch_from_cache("/registry/", last)
        .await
        .expect("watch from the relisting");
    let kv = fixture
        .cache
        .create("/registry/after", Bytes::new())
        .await
        .expect("create");
    let events = events_through(&mut fresh, kv.mod_revision).await;
    assert_eq!(events.len(), 1);
    assert_same_state(&fixture).await;
}
