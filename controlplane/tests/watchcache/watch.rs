//! Cache watches: replay then live with no gap or duplicate while writers run; the window's
//! compaction point; prefixes outside the root passed through; shutdown.

use crate::{BACKENDS, Backend, Fixture, WAIT, bounded, events_through, next_event};
use bytes::Bytes;
use skiff_controlplane::store::{self, Error, Event, EventKind, KeyValue, MemoryStore, Store};
use skiff_controlplane::watchcache;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WRITERS: u64 = 4;
const WRITES_PER_WRITER: u64 = 120;
const TOTAL: u64 = WRITERS * WRITES_PER_WRITER;

/// Each writer creates its keys, updates some and deletes some, so every write succeeds and
/// the store ends at revision [`TOTAL`]. Returns the revision of its last write.
async fn write(fixture: Arc<Fixture>, writer: u64) -> u64 {
    let cache = &fixture.cache;
    let mut keys: Vec<KeyValue> = Vec::new();
    let mut last = 0;
    for i in 0..WRITES_PER_WRITER {
        let value = Bytes::from(format!("{writer}-{i}"));
        match i % 4 {
            2 => {
                let n = (i as usize) % keys.len();
                let old = &keys[n];
                keys[n] = cache
                    .update(&old.key, value, old.mod_revision)
                    .await
                    .expect("update");
                last = keys[n].mod_revision;
            }
            3 => {
                let old = keys.remove(0);
                last = cache.delete(&old.key, None).await.expect("delete").revision;
            }
            _ => {
                let key = format!("/registry/t{writer}/{i:03}");
                let kv = cache.create(&key, value).await.expect("create");
                last = kv.mod_revision;
                keys.push(kv);
            }
        }
    }
    last
}

/// Applies watch events to a listing, as a client does.
fn apply(state: &mut BTreeMap<String, KeyValue>, events: &[Event]) {
    for event in events {
        match event.kind {
            EventKind::Put => state.insert(event.kv.key.clone(), event.kv.clone()),
            EventKind::Delete => state.remove(&event.kv.key),
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_then_watch_sees_every_revision_once_while_writers_run() {
    for backend in BACKENDS {
        bounded("gapless watches", gapless(backend)).await;
    }
}

async fn gapless(backend: Backend) {
    let fixture = Arc::new(Fixture::default(backend).await);
    let mut prefix_watch = fixture
        .cache
        .watch_from_cache("/registry/t1/", 0)
        .await
        .expect("prefix watch");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write(fixture.clone(), w)))
        .collect();

    // Watchers start at different moments during the writes, from a list's revision, from
    // an older one (replaying more), from now, or from a revision not reached yet.
    let mut watchers = Vec::new();
    for i in 0..16u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let fixture = fixture.clone();
        watchers.push(tokio::spawn(async move {
            let cache = &fixture.cache;
            let list = cache.list("/registry/").await.expect("list");
            let from = match i % 4 {
                0 => list.revision / 2,
                1 => list.revision,
                2 => 0,
                _ => (list.revision + 5).min(TOTAL),
            };
            let mut watch = cache
                .watch_from_cache("/registry/", from)
                .await
                .expect("watch");
            assert!(watch.is_cached());
            let start = watch.revision();
            assert!(from == 0 || start == from);
            let events = events_through(&mut watch, TOTAL).await;
            let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
            let expected: Vec<u64> = (start + 1..=TOTAL).collect();
            assert_eq!(
                revisions, expected,
                "watch {i} from {from} (start {start}): gap or duplicate"
            );
            if from > list.revision || from == 0 {
                return None;
            }
            let mut state: BTreeMap<_, _> = list
                .items
                .into_iter()
                .map(|kv| (kv.key.clone(), kv))
                .collect();
            let since_list: Vec<_> = events
                .into_iter()
                .filter(|e| e.revision > list.revision)
                .collect();
            apply(&mut state, &since_list);
            Some(state)
        }));
    }
    let mut last_writes = Vec::new();
    for writer in writers {
        last_writes.push(bounded("writer", writer).await.expect("writer"));
    }
    let fin = fixture.cache.list("/registry/").await.expect("final list");
    assert_eq!(fin.revision, TOTAL);
    assert_eq!(
        fin.items,
        fixture.inner.list("/registry/").await.expect("list").items
    );
    let fin: BTreeMap<_, _> = fin
        .items
        .into_iter()
        .map(|kv| (kv.key.clone(), kv))
        .collect();
    for watcher in watchers {
        if let Some(state) = bounded("watcher", watcher).await.expect("watcher") {
            assert_eq!(state, fin, "list + events must rebuild the final state");
        }
    }

    // A prefix watch sees exactly the events under its prefix, which rebuild its state.
    let t1: BTreeMap<_, _> = fin
        .into_iter()
        .filter(|(key, _)| key.starts_with("/registry/t1/"))
        .collect();
    let events = events_through(&mut prefix_watch, last_writes[1]).await;
    assert_eq!(events.len() as u64, WRITES_PER_WRITER);
    assert!(events.iter().all(|e| e.kv.key.starts_with("/registry/t1/")));
    assert!(events.windows(2).all(|w| w[0].revision < w[1].revision));
    let mut state = BTreeMap::new();
    apply(&mut state, &events);
    assert_eq!(state, t1);
}

#[tokio::test]
async fn watch_older_than_the_window_is_compacted() {
    let fixture = Fixture::new(
        Backend::Memory,
        store::Config::default(),
        watchcache::Config {
            window: 10,
            ..watchcache::Config::default()
        },
    )
    .await;
    let cache = &fixture.cache;
    for i in 0..30 {
        cache
            .create(&format!("/registry/k/{i:02}"), Bytes::new())
            .await
            .expect("create");
    }
    // Make sure the cache has applied everything (a read waits for it).
    assert_eq!(cache.revisions().await.expect("revisions").compacted, 20);
    // The ring holds revisions 21..=30: a watch may start after 20, not before.
    let refused = cache.watch_from_cache("/registry/", 19).await;
    assert!(
        matches!(
            refused,
            Err(Error::Compacted {
                requested: 19,
                compacted: 20
            })
        ),
        "{refused:?}"
    );
    let mut watch = cache
        .watch_from_cache("/registry/k/", 20)
        .await
        .expect("watch at the floor");
    let events = events_through(&mut watch, 30).await;
    assert_eq!(events.first().map(|e| e.revision), Some(21));
    assert_eq!(events.len(), 10);
    // From 0 is "from now", never compacted.
    let now = cache.watch_from_cache("/registry/", 0).await.expect("now");
    assert_eq!(now.revision(), 30);

    // A cache started over a store that already holds data can only replay from its start,
    // although the store itself still has the history.
    let later = Fixture::over(fixture.inner.clone(), watchcache::Config::default(), None).await;
    assert!(matches!(
        later.cache.watch_from_cache("/registry/", 29).await,
        Err(Error::Compacted {
            requested: 29,
            compacted: 30
        })
    ));
    let mut from_start = later
        .cache
        .watch_from_cache("/registry/", 30)
        .await
        .expect("watch from the start");
    later
        .cache
        .create("/registry/k/new", Bytes::new())
        .await
        .expect("create");
    assert_eq!(events_through(&mut from_start, 31).await.len(), 1);
}

#[tokio::test]
async fn prefixes_outside_the_root_are_passed_through() {
    for backend in BACKENDS {
        let fixture = Fixture::default(backend).await;
        let cache = &fixture.cache;
        let mut outside = cache.watch_from_cache("/other/", 0).await.expect("watch");
        assert!(!outside.is_cached());
        let mut inside = cache
            .watch_from_cache("/registry/", 0)
            .await
            .expect("watch");
        cache
            .create("/other/a", Bytes::from_static(b"x"))
            .await
            .expect("create");
        let b = cache
            .create("/registry/b", Bytes::from_static(b"y"))
            .await
            .expect("create");
        let event = next_event(&mut outside)
            .await
            .expect("an item")
            .expect("event");
        assert_eq!((event.key(), event.revision), ("/other/a", 1));
        // The cache's watch skips writes outside its root.
        let event = next_event(&mut inside)
            .await
            .expect("an item")
            .expect("event");
        assert_eq!(event.kv, b);
        assert_eq!(
            cache
                .get("/other/a")
                .await
                .expect("get")
                .map(|kv| kv.mod_revision),
            Some(1)
        );
        assert_eq!(cache.list("").await.expect("list").items.len(), 2);
        assert_eq!(cache.list("/registry/").await.expect("list").revision, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_cache_ends_its_watches_and_releases_the_store() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::default());
    inner
        .create("/registry/a", Bytes::new())
        .await
        .expect("create");
    let fixture = Fixture::over(inner.clone(), watchcache::Config::default(), None).await;
    let mut live = fixture
        .cache
        .watch_from_cache("/registry/", 0)
        .await
        .expect("watch");
    drop(fixture);
    let end = next_event(&mut live).await;
    assert!(matches!(end, Some(Err(Error::Closed))), "{end:?}");
    assert!(next_event(&mut live).await.is_none());
    // The feed task released the store before ending the watches.
    assert_eq!(Arc::strong_count(&inner), 1);

    // Cancelling the shutdown token stops a cache too; it then refuses reads.
    let fixture = Fixture::over(inner.clone(), watchcache::Config::default(), None).await;
    let mut live = fixture
        .cache
        .watch_from_cache("/registry/", 0)
        .await
        .expect("watch");
    fixture.shutdown.cancel();
    let end = next_event(&mut live).await;
    assert!(matches!(end, Some(Err(Error::Closed))), "{end:?}");
    assert!(matches!(
        tokio::time::timeout(WAIT, fixture.cache.get("/registry/a")).await,
        Ok(Err(Error::Closed))
    ));
    assert!(matches!(
        fixture.cache.watch_from_cache("/registry/", 0).await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn store_watch_is_served_by_the_cache() {
    let fixture = Fixture::new(
        Backend::Memory,
        store::Config::default(),
        watchcache::Config {
            window: 2,
            ..watchcache::Config::default()
        },
    )
    .await;
    let store: &dyn Store = &fixture.cache;
    for i in 0..5 {
        store
            .create(&format!("/registry/k/{i}"), Bytes::new())
            .await
            .expect("create");
    }
    assert_eq!(store.list("/registry/").await.expect("list").revision, 5);
    assert!(matches!(
        store.watch("/registry/", 2).await,
        Err(Error::Compacted {
            requested: 2,
            compacted: 3
        })
    ));
    let mut watch = store.watch("/registry/", 3).await.expect("watch");
    let a = watch.next().await.expect("item").expect("event");
    let b = watch.next().await.expect("item").expect("event");
    assert_eq!((a.revision, b.revision, watch.revision()), (4, 5, 5));
}
